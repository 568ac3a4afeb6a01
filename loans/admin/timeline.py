"""The borrower timeline page, /admin/loans/borrower/<id>/timeline/: everything on record about
one borrower, newest first, filtered by kind. Each installed app contributes its entries
through its own `timeline` module (the contract is in loans/timeline.py), found the way
`loans.roles.declared_grants` finds `roles` modules, so loans never imports a higher app.

Each source shows only what the viewer may see, personal data masked (no reveal happens here,
so nothing is logged); a viewer an app refuses this borrower (a collector without one of
their cases) gets a 404. Each kind is one bounded query: the page costs the same for a
borrower with ten rows as for one with ten thousand."""

from importlib import import_module

from django.apps import apps
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.module_loading import module_has_submodule
from django.utils.translation import gettext_lazy as _

from ..models import Borrower
from ..timeline import Entry

KIND_VAR = "kind"


def timeline_modules() -> list:
    """Every installed app's `timeline` module, in INSTALLED_APPS order."""
    modules = []
    for app_config in apps.get_app_configs():
        if module_has_submodule(app_config.module, "timeline"):
            modules.append(import_module(f"{app_config.name}.timeline"))
    return modules


def visible_kinds(*, user, modules) -> dict[str, str]:
    found: dict[str, str] = {}
    for module in modules:
        found.update(module.kinds(user=user))
    return found


def may_see(borrower, *, user, modules) -> bool:
    return all(
        module.allows(borrower, user=user) for module in modules if hasattr(module, "allows")
    )


def borrower_timeline(
    borrower: Borrower, *, user, kinds: set[str] | None = None
) -> tuple[list[Entry], list[Entry], dict[str, str]]:
    """(entries newest first, "more" notes, the kinds the user may filter by). `kinds` picks
    some of them; None means all. Raises Http404 when an app refuses this viewer."""
    modules = timeline_modules()
    if not may_see(borrower, user=user, modules=modules):
        raise Http404
    available = visible_kinds(user=user, modules=modules)
    chosen = set(available) if not kinds else set(available) & kinds
    found: list[Entry] = []
    for module in modules:
        own = module.kinds(user=user)
        wanted = [kind for kind in own if kind in chosen]
        if wanted:
            found.extend(module.entries(borrower, user=user, kinds=wanted))
    notes = [e for e in found if e.more]
    shown = sorted((e for e in found if not e.more), key=lambda e: e.at, reverse=True)
    return shown, notes, available


class BorrowerTimelineMixin:
    """For BorrowerAdmin: the timeline page, a link to it in the list and on the change page
    (templates/admin/loans/borrower/change_form.html)."""

    def get_urls(self):
        return [
            path(
                "<int:pk>/timeline/",
                self.admin_site.admin_view(self.timeline_view),
                name="loans_borrower_timeline",
            )
        ] + super().get_urls()

    def get_list_display(self, request):
        return [*super().get_list_display(request), "timeline_link"]

    @admin.display(description=_("timeline"))
    def timeline_link(self, obj):
        url = reverse("admin:loans_borrower_timeline", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Timeline"))

    timeline_link.exportable = False  # a link, nothing to export

    def timeline_view(self, request, pk: int):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        borrower = get_object_or_404(Borrower, pk=pk)
        requested = {k for k in request.GET.getlist(KIND_VAR) if k and "\x00" not in k}
        entries, notes, available = borrower_timeline(
            borrower, user=request.user, kinds=requested or None
        )
        chosen = [k for k in available if k in requested]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Timeline of %(borrower)s") % {"borrower": borrower},
            "opts": self.opts,
            "original": borrower,
            "entries": entries,
            "notes": notes,
            "kinds": available,
            "chosen": chosen,
            "kind_var": KIND_VAR,
        }
        return TemplateResponse(request, "admin/loans/borrower/timeline.html", context)
