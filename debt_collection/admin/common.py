"""Pieces shared by the collections desk pages: calling a service and reporting its refusal,
list filters with a default (the queues), masked borrower columns, scoping to a collector's
own cases."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loans.admin.common import EstimatedCountPaginator, add_form_errors, has_nul

from .. import selectors


def refusal(exc: Exception) -> str:
    """What a service said when it refused: its ValidationError messages, or the
    PermissionDenied reason (maker-checker)."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or gettext("You may not do this.")


def run_service(request, call, *, form=None):
    """(True, result) when the service did it; (False, None) when it refused, with the
    refusal shown as a message (and on the form, beside the fields it names)."""
    try:
        return True, call()
    except ValidationError as exc:
        if form is not None:
            add_form_errors(form, exc)
        messages.error(request, refusal(exc))
    except PermissionDenied as exc:
        messages.error(request, refusal(exc))
    return False, None


def apply_each(modeladmin, request, objects, apply_one) -> int:
    """`apply_one(obj)` for each selected row; each refusal reported by the row's name."""
    done = 0
    for obj in objects:
        try:
            apply_one(obj)
            done += 1
        except (ValidationError, PermissionDenied) as exc:
            modeladmin.message_user(request, f"{obj}: {refusal(exc)}", messages.ERROR)
    if done:
        modeladmin.message_user(
            request, gettext("%(count)d done.") % {"count": done}, messages.SUCCESS
        )
    return done


def action_form_page(modeladmin, request, *, form, title, objects, notes=()):
    """The page an action shows to ask for its input (a collector, a note, a resolution)."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "objects": objects,
        "action": request.POST.get("action"),
        "opts": modeladmin.model._meta,
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "notes": notes,
    }
    return TemplateResponse(request, "admin/loans/action_form.html", context)


def form_page(modeladmin, request, *, form, title, intro=""):
    """A page with one form that a service acts on (record a restriction, a complaint)."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "form": form,
        "opts": modeladmin.model._meta,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/collections/form_page.html", context)


def ask_then_apply(
    modeladmin, request, queryset, *, form_class, title, apply_one, form_kwargs=None
):
    """An action that asks for input first, then applies `apply_one(obj, cleaned_data)` to each
    selected row (refusals, ValidationError or PermissionDenied, reported by row)."""
    form_kwargs = form_kwargs or {}
    posted = "apply" in request.POST
    form = form_class(request.POST if posted else None, **form_kwargs)
    if posted and form.is_valid():
        apply_each(
            modeladmin, request, list(queryset), lambda obj: apply_one(obj, form.cleaned_data)
        )
        return None
    return action_form_page(modeladmin, request, form=form, title=title, objects=queryset)


class PageFirstPaginator(EstimatedCountPaginator):
    """Picks the page's rows on the listed table alone (sorted and cut there), then joins
    only those: a list of 50,000 open cases sorts 50,000 narrow rows and joins 50, instead of
    joining 50,000 to borrowers, loans and collectors before sorting."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.select_related(None).values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in self.object_list.order_by().filter(pk__in=ids)}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


class DefaultChoiceFilter(admin.SimpleListFilter):
    """A list filter that starts on a chosen value (a queue: open cases, waiting visits) and
    offers "All" explicitly. `filters` maps each value to its Q."""

    ALL = "all"
    default = ""
    filters: dict = {}
    labels: dict = {}

    def lookups(self, request, model_admin):
        return [*self.labels.items(), (self.ALL, _("All"))]

    def value(self):
        value = super().value()
        return self.default if value is None else value

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.ALL:
            return queryset
        return queryset.filter(self.filters.get(value, self.filters[self.default]))


class MaskedBorrowerMixin:
    """A borrower column that shows the masked name, never the name or the mobile."""

    borrower_field = "borrower"

    @admin.display(description=_("borrower"))
    def borrower_masked(self, obj):
        borrower = getattr(obj, self.borrower_field)
        return borrower.masked_name if borrower is not None else "—"


class OwnCasesMixin:
    """Rows about cases (visits, plans, promises): a collector sees those of their own cases
    only, through `case_path`."""

    case_path = "case"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if selectors.sees_every_case(request.user):
            return queryset
        return queryset.filter(**{f"{self.case_path}__assigned_to__user": request.user})


def nul_in(request) -> bool:
    """A NUL character posted (one in the address never gets here: config.middleware)."""
    return request.method == "POST" and has_nul(request.POST)
