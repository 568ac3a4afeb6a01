"""CSV export of any back-office list (`CsvExportMixin`, a base of `BackOfficeAdmin`).

Every list page offers "Export CSV": the same URL with `_export=csv`, so the export holds
exactly the rows of the list as filtered, searched and sorted, all of them rather than one
page, with the list's columns and headers, values as the list shows them (borrower names,
mobiles and ID numbers masked). The rows are streamed: the query runs as an iterator
(`chunk_size`, a server-side cursor on PostgreSQL) and the file goes out a chunk at a time,
so a million rows are never in memory. Joins come from the list's own `list_select_related`.

A user who may reveal personal data (loans.reveal_pii) may instead ask for the export with
full details (`_export=csv_full`): a page asks why, then the masked columns are decrypted.
Every export is on the audit trail ("export.csv", with the list and its filters); one with
full details also as "pii.export". Filters travel as they do on the list: a search by ID
number or mobile is only ever its blind index (see BackOfficeAdmin), never the number.
"""

import html
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal

from django import forms
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import label_for_field, lookup_field
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models, transaction
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..audit import record_event
from ..exports import Number, csv_chunks
from ..fields import EncryptedTextField
from ..models import Borrower

EXPORT_VAR = "_export"
MASKED = "csv"
FULL = "csv_full"
REVEAL_PERMISSION = "loans.reveal_pii"
# Rows fetched per round trip; on PostgreSQL the size of each fetch from the server cursor.
CHUNK_SIZE = 2000
# Parameters of the list page that are no filter.
NOT_FILTERS = (EXPORT_VAR, PAGE_VAR, ERROR_FLAG, "csrfmiddlewaretoken")
# The blind index of a searched ID number or mobile (loans.admin.common.PERSON_INDEX_VAR):
# the audit trail says what kind of search it was, not the hash.
PERSON_INDEX_VAR = "bi"


class ExportReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=200, widget=forms.TextInput(attrs={"size": 60})
    )


def _no_results(self, request):
    """An export reads the queryset itself: no page of results, no COUNT(*)."""


def _yes_no(value) -> str:
    if value is None:
        return ""
    return gettext("yes") if value else gettext("no")


def plain(value) -> str:
    """A value as text for a spreadsheet: Beijing time, money as a plain decimal, HTML (links
    in a column) reduced to its text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, Decimal):
        return Number(format(value, "f"))
    if isinstance(value, int | float):
        return Number(str(value))
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if "<" in text or "&" in text:
        text = html.unescape(strip_tags(text))
    return text


def _borrower_in_full(borrower) -> str:
    return f"{borrower.name} {borrower.mobile}" if borrower is not None else ""


class CsvExportMixin:
    """See the module docstring. A list may name extra full-detail columns in
    `export_full_values` ({column: obj -> text}); columns whose display function says
    `exportable = False` (a link, say) are left out."""

    export_full_values: dict[str, Callable] = {}

    def changelist_view(self, request, extra_context=None):
        mode = request.GET.get(EXPORT_VAR)
        if mode is not None:
            return self.export_view(request, mode)
        extra_context = {**(extra_context or {}), **self.export_links(request)}
        return super().changelist_view(request, extra_context)

    # --- Links on the list ---------------------------------------------------------------

    def export_links(self, request) -> dict:
        params = request.GET.copy()
        for name in NOT_FILTERS:
            params.pop(name, None)
        links = {}
        for key, mode in (("export_csv_url", MASKED), ("export_full_url", FULL)):
            if mode == FULL and not self.may_export_full(request):
                continue
            params[EXPORT_VAR] = mode
            links[key] = f"?{params.urlencode()}"
        return links

    def may_export_full(self, request) -> bool:
        if not request.user.has_perm(REVEAL_PERMISSION):
            return False
        return bool(self.full_value_getters(self.export_columns(request)))

    # --- The export ----------------------------------------------------------------------

    def export_view(self, request, mode: str):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if mode not in (MASKED, FULL):
            return HttpResponseBadRequest(gettext("Unknown export: use the list's own link."))
        full = mode == FULL
        if full and not self.may_export_full(request):
            raise PermissionDenied
        params = request.GET.copy()
        for name in NOT_FILTERS:
            params.pop(name, None)
        reason = ""
        if full:
            form = ExportReasonForm(request.POST if request.method == "POST" else None)
            if not form.is_valid():
                return self._full_export_page(request, form)
            reason = form.cleaned_data["reason"]
        request.GET = params  # the ChangeList reads its filters from here
        try:
            changelist = self.export_changelist(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest(
                gettext("These filters cannot be used; open the list again and export from it.")
            )
        columns = self.export_columns(request)
        header = [plain(label_for_field(name, self.model, model_admin=self)) for name in columns]
        getters = self.full_value_getters(columns) if full else {}
        self._record_export(request, params, columns, full=full, reason=reason)
        rows = self._export_rows(changelist.queryset, columns, getters)
        response = StreamingHttpResponse(
            _in_language(translation.get_language(), csv_chunks(header, rows)),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        name = f"{self.opts.app_label}-{self.opts.model_name}-{stamp}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        response["X-Accel-Buffering"] = "no"  # a proxy passes chunks on instead of buffering
        return response

    def export_changelist(self, request):
        """The list's ChangeList (filters, search, ordering, select_related), without the
        page of results it would otherwise fetch and count."""
        base = self.get_changelist(request)
        changelist_class = type(f"Export{base.__name__}", (base,), {"get_results": _no_results})
        list_display = self.get_list_display(request)
        return changelist_class(
            request,
            self.model,
            list_display,
            self.get_list_display_links(request, list_display),
            self.get_list_filter(request),
            self.date_hierarchy,
            self.get_search_fields(request),
            self.get_list_select_related(request),
            self.list_per_page,
            self.list_max_show_all,
            self.list_editable,
            self,
            self.get_sortable_by(request),
            self.search_help_text,
        )

    def export_columns(self, request) -> list[str]:
        columns = []
        for name in self.get_list_display(request):
            if name == "action_checkbox":
                continue
            attr = name if callable(name) else getattr(self, name, None)
            if getattr(attr, "exportable", True):
                columns.append(name)
        return columns

    def full_value_getters(self, columns) -> dict[str, Callable]:
        """The unmasked value of each column that shows personal data masked."""
        getters = {}
        for name in columns:
            if not isinstance(name, str):
                continue
            if name in self.export_full_values:
                getters[name] = self.export_full_values[name]
                continue
            field = _model_field(self.model, name.removeprefix("masked_"))
            if name.startswith("masked_") and isinstance(field, EncryptedTextField):
                getters[name] = _attribute(field.name)
                continue
            if name == "borrower_masked":
                path = getattr(self, "borrower_field", "borrower")
                getters[name] = lambda obj, path=path: _borrower_name(getattr(obj, path))
                continue
            field = _model_field(self.model, name)
            if field is not None and field.is_relation and field.related_model is Borrower:
                getters[name] = lambda obj, name=name: _borrower_in_full(getattr(obj, name))
        return getters

    def export_cell(self, name, obj) -> str:
        try:
            field, attr, value = lookup_field(name, obj, self)
        except ObjectDoesNotExist:
            return ""
        if field is None or field.auto_created:
            if getattr(attr, "boolean", False):
                return _yes_no(value)
            return plain(value)
        if value is None:
            return ""
        if isinstance(field, models.BooleanField):
            return _yes_no(value)
        if field.flatchoices:
            return plain(dict(field.flatchoices).get(value, value))
        if field.is_relation:
            return str(value)
        return plain(value)

    def _export_rows(self, queryset, columns, getters) -> Iterator[list[str]]:
        for obj in queryset.iterator(chunk_size=CHUNK_SIZE):
            yield [
                getters[name](obj) if name in getters else self.export_cell(name, obj)
                for name in columns
            ]

    def _record_export(self, request, params, columns, *, full: bool, reason: str) -> None:
        filters = {
            key: "(ID number or mobile)" if key == PERSON_INDEX_VAR else ",".join(values)
            for key, values in params.lists()
        }
        described = ", ".join(f"{k}={v}" for k, v in filters.items()) or gettext("no filter")
        label = f"{self.opts.app_label}.{self.opts.model_name}"
        details = {"list": label, "filters": filters, "columns": [str(c) for c in columns]}
        summary = f"{self.opts.verbose_name_plural}: {described}"
        with transaction.atomic():
            record_event(
                actor=request.user,
                action="export.csv",
                summary=summary[:300],
                after={**details, "full_details": full},
            )
            if full:
                record_event(
                    actor=request.user,
                    action="pii.export",
                    summary=f"{reason} · {summary}"[:300],
                    after={**details, "reason": reason},
                )

    def _full_export_page(self, request, form):
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export with full details"),
            "opts": self.opts,
            "form": form,
            "action_url": request.get_full_path(),
        }
        return TemplateResponse(request, "admin/loans/export_full.html", context)


def _model_field(model, name):
    try:
        return model._meta.get_field(name)
    except Exception:  # FieldDoesNotExist, or a name that is no field at all
        return None


def _attribute(name: str) -> Callable:
    return lambda obj: getattr(obj, name) or ""


def _borrower_name(borrower) -> str:
    return borrower.name if borrower is not None else ""


def _in_language(language: str | None, chunks: Iterator[str]) -> Iterator[str]:
    """Streamed after the view returned: labels (choices, yes/no) in the request's language."""
    with translation.override(language):
        yield from chunks
