"""Small pieces shared by the back-office admin pages."""

import re
import unicodedata
from datetime import date
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR, SEARCH_VAR, ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import kyc
from ..models import Borrower
from ..models.borrowers import id_number_index, mobile_index
from ..selectors import search_borrowers
from .auditing import AuditedAdminMixin
from .exports import CsvExportMixin
from .paging import EstimatedCountPaginator, with_fast_dates

# A search by ID number or mobile travels in the URL as this parameter: the term's blind
# index (a keyed hash), never the term itself (DESIGN §7).
PERSON_INDEX_VAR = "bi"
# 15 to 18 characters: an old 15-digit number, or a new one with a digit or two left off.
_ID_NUMBER_SHAPE = re.compile(r"[0-9]{14,17}[0-9X]")
_MOBILE_SHAPE = re.compile(r"(?:0?86)?1[0-9]{10}")


def person_search_index(term: str) -> str | None:
    """The blind index of a search term shaped like a resident ID number or a mainland mobile,
    or None for any other term. Near misses (a wrong check digit, a digit left off, an
    unallocated mobile range) count too: they are still most of someone's number."""
    text = unicodedata.normalize("NFKC", term or "")
    compact = "".join(text.split()).upper()
    if _ID_NUMBER_SHAPE.fullmatch(compact):
        return id_number_index(compact)
    try:
        return mobile_index(kyc.normalize_mobile(text))
    except kyc.KycError:
        pass
    digits = re.sub(r"[\s()+\-]", "", text)
    if _MOBILE_SHAPE.fullmatch(digits):
        return mobile_index(digits[-11:])
    return None


def search_by_borrower(queryset, term: str, *, borrower_path: str):
    """Exact ID number or mobile through the blind index; nothing is decrypted."""
    borrowers = search_borrowers(queryset=Borrower.objects.all(), term=term)
    return queryset.filter(**{f"{borrower_path}__in": borrowers})


def filter_by_borrower_index(queryset, index: str, *, borrower_path: str):
    """Rows whose borrower has this blind index as ID number or as mobile."""
    matches = Q(id_number_index=index) | Q(mobile_index=index)
    if not borrower_path:
        return queryset.filter(matches)
    return queryset.filter(**{f"{borrower_path}__in": Borrower.objects.filter(matches)})


def has_nul(data) -> bool:
    """Whether a QueryDict holds a NUL character: PostgreSQL refuses it in any text value."""
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())


def bad_request():
    return HttpResponseBadRequest(_("This address holds a value that cannot be used here."))


class BackOfficeChangeList(ChangeList):
    """Carries the blind-index search in its links (paging, sorting, filters) like `q`, without
    taking it for a field lookup."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return with_fast_dates(queryset) if self.date_hierarchy else queryset

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        lookup_params.pop(PERSON_INDEX_VAR, None)
        return lookup_params

    @property
    def person_search_clear_url(self) -> str:
        return self.get_query_string({PERSON_INDEX_VAR: None})


@admin.display(description=_("bucket"), ordering="bucket")
def short_bucket(obj):
    """A bucket as its code ("M2") with the days it covers on hover: wide lists fit 1400 px."""
    return format_html('<span title="{}">{}</span>', obj.get_bucket_display(), obj.bucket)


def format_percent(rate: Decimal | None) -> str:
    return f"{rate * 100:.4f}%" if rate is not None else "—"


class BackOfficeAdmin(AuditedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return BackOfficeChangeList

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_search"
        return [
            path("search/", self.admin_site.admin_view(self.search_view), name=name)
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        if self.hostile_query(request):
            return bad_request()
        if person_search_index(request.GET.get(SEARCH_VAR, "")):
            # An ID number or mobile typed into a URL by hand or kept in a bookmark: move it
            # out of the address bar (the search box itself posts, see search_view).
            return self._search_redirect(request.GET, request.GET[SEARCH_VAR])
        return super().changelist_view(request, extra_context)

    def search_view(self, request):
        """The changelist's search box posts here (templates/admin/search_form.html), and is
        sent on to the list: an ID number or mobile as its blind index, anything else as `q`."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if has_nul(request.POST):
            return bad_request()
        params = request.POST.copy()
        params.pop("csrfmiddlewaretoken", None)
        return self._search_redirect(params, request.POST.get(SEARCH_VAR, ""))

    def _search_redirect(self, params, term: str):
        params = params.copy()
        for name in (SEARCH_VAR, PERSON_INDEX_VAR, PAGE_VAR, ERROR_FLAG):
            params.pop(name, None)
        term = term.strip()
        index = person_search_index(term)
        if index:
            params[PERSON_INDEX_VAR] = index
        elif term:
            params[SEARCH_VAR] = term
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist",
            current_app=self.admin_site.name,
        )
        return HttpResponseRedirect(f"{url}?{params.urlencode()}" if params else url)

    def get_search_results(self, request, queryset, search_term):
        index = request.GET.get(PERSON_INDEX_VAR)
        if index:
            queryset = self.filter_by_person_index(queryset, index)
        if not search_term.strip():
            return queryset, False
        return self.search_by_term(request, queryset, search_term)

    def filter_by_person_index(self, queryset, index: str):
        """A search by ID number or mobile (as its blind index). Lists that hold no person find
        nothing rather than everything."""
        return queryset.none()

    def search_by_term(self, request, queryset, search_term):
        """Any other search: Django's own over `search_fields`, unless a list says otherwise."""
        return super().get_search_results(request, queryset, search_term)

    def hostile_query(self, request) -> bool:
        """Input Django's changelist would turn into a 500 instead of a 400: NUL characters
        posted (PostgreSQL refuses them; in the address, config.middleware refuses them), a
        date-hierarchy date out of range, a selected row that is no primary key."""
        if request.method == "POST" and has_nul(request.POST):
            return True
        if not all(self._date_parts_valid(request.GET, f) for f in _date_part_fields(request.GET)):
            return True
        if request.method == "POST" and request.POST.get("select_across") != "1":
            try:
                for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
                    pk = self.opts.pk.to_python(value)
                    if isinstance(pk, int) and not -(2**63) <= pk < 2**63:
                        return True  # beyond any key, and SQLite cannot even compare it
            except ValidationError:
                return True
        return False

    def _date_parts_valid(self, params, field: str) -> bool:
        """`<field>__year` / `__month` / `__day` (the date drill-down's, or typed by hand on any
        date column) make a real date before year 9999."""
        year, month, day = (params.get(f"{field}__{part}") for part in ("year", "month", "day"))
        if year is None:
            return month is None and day is None or _digits(month, day)
        try:
            # Django also builds the day, month or year after this one: year 9999 has none.
            start = date(int(year), int(month or 1), int(day or 1))
        except (ValueError, OverflowError):
            return False
        return start.year < date.max.year


_DATE_PART = re.compile(r"^(?P<field>\w+?)__(?:year|month|day)$")


def _date_part_fields(params) -> set[str]:
    return {m["field"] for key in params if (m := _DATE_PART.match(key))}


def _digits(*values) -> bool:
    return all(v is None or (v.isdigit() and v.isascii() and len(v) <= 2) for v in values)


class BorrowerSearchMixin:
    """Admin search by the borrower's exact ID number or mobile (`borrower_path` leads from
    the listed model to its borrower)."""

    borrower_path = "borrower"
    search_fields = ["pk"]  # shows the search box; the lookup itself is below
    search_help_text = _("Exact resident ID number or mobile of the borrower.")

    def filter_by_person_index(self, queryset, index: str):
        return filter_by_borrower_index(queryset, index, borrower_path=self.borrower_path)

    def search_by_term(self, request, queryset, search_term):
        return search_by_borrower(queryset, search_term, borrower_path=self.borrower_path), False


class ReadOnlyAdmin(BackOfficeAdmin):
    """Logs and history: viewable, never added to, edited or deleted through the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=200, widget=forms.TextInput(attrs={"size": 60})
    )


def add_form_errors(form, exc: ValidationError) -> None:
    """A service's refusal shown on the form: beside the fields it names, else at the top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def action_with_form(
    modeladmin,
    request,
    queryset,
    *,
    form_class,
    title,
    apply_one,
    notes=(),
):
    """An admin action that first asks for input (a reason, an amount), then applies
    `apply_one(obj, cleaned_data)` to each selected row, reporting each refusal by name. On
    one row, a refusal is shown on the form instead, which keeps what was typed. `notes` are
    lines shown above the form (e.g. what the loan owes)."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        objects = list(queryset)
        done = 0
        for obj in objects:
            try:
                apply_one(obj, form.cleaned_data)
                done += 1
            except ValidationError as exc:
                if len(objects) == 1:
                    add_form_errors(form, exc)
                    break
                modeladmin.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR)
        if done or not form.errors:
            if done:
                modeladmin.message_user(
                    request, _("%(count)d done.") % {"count": done}, messages.SUCCESS
                )
            return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "objects": queryset,
        "action": request.POST.get("action"),
        "opts": modeladmin.model._meta,
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "notes": notes,
    }
    return TemplateResponse(request, "admin/loans/action_form.html", context)
