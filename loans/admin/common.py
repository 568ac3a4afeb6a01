"""Small pieces shared by the back-office admin pages."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from ..models import Borrower
from ..selectors import search_borrowers


def search_by_borrower(queryset, term: str, *, borrower_path: str):
    """Exact ID number or mobile through the blind index; nothing is decrypted."""
    borrowers = search_borrowers(queryset=Borrower.objects.all(), term=term)
    return queryset.filter(**{f"{borrower_path}__in": borrowers})


class BorrowerSearchMixin:
    """Admin search by the borrower's exact ID number or mobile (`borrower_path` leads from
    the listed model to its borrower)."""

    borrower_path = "borrower"
    search_fields = ["pk"]  # shows the search box; the lookup itself is below
    search_help_text = _("Exact resident ID number or mobile of the borrower.")

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return search_by_borrower(queryset, search_term, borrower_path=self.borrower_path), False


def format_percent(rate: Decimal | None) -> str:
    return f"{rate * 100:.4f}%" if rate is not None else "—"


class EstimatedCountPaginator(Paginator):
    """An unfiltered list of a big table shows PostgreSQL's row estimate instead of COUNT(*),
    which scans the whole table; filtered lists count exactly."""

    EXACT_BELOW = 100_000

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [query.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= self.EXACT_BELOW:
                return int(row[0])
        return super().count


class BackOfficeAdmin(admin.ModelAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50


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


def action_with_form(modeladmin, request, queryset, *, form_class, title, apply_one):
    """An admin action that first asks for input (a reason, an amount), then applies
    `apply_one(obj, cleaned_data)` to each selected row, reporting each refusal by name."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        done = 0
        for obj in queryset:
            try:
                apply_one(obj, form.cleaned_data)
                done += 1
            except ValidationError as exc:
                modeladmin.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR)
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
    }
    return TemplateResponse(request, "admin/loans/action_form.html", context)
