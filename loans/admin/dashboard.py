"""The back-office home page: the panels of every installed app, then the admin's app list.

Panels are gathered like `loans.roles.declared_grants` gathers roles: each installed app's
`dashboard` module (if it has one) exposes `panels(request) -> list[loans.panels.Panel]`,
returning only the panels the user's permissions allow; code outside an app's `dashboard`
module adds a provider with `loans.panels.register_panels`. Work the user can act on comes
first, then what they oversee, then the figures (see loans.panels).

A provider that fails is logged and left out: the home page never fails because one panel did.
"""

import logging
from importlib import import_module

from django.apps import apps
from django.contrib import admin
from django.utils.module_loading import module_has_submodule

from .. import panels as panel_kit

log = logging.getLogger(__name__)


def providers() -> list:
    found = []
    for app_config in apps.get_app_configs():
        if module_has_submodule(app_config.module, "dashboard"):
            module = import_module(f"{app_config.name}.dashboard")
            if callable(getattr(module, "panels", None)):
                found.append(module.panels)
    return found + panel_kit.registered_providers()


def gather_panels(request) -> list[panel_kit.Panel]:
    panels: list[panel_kit.Panel] = []
    for provider in providers():
        try:
            panels.extend(provider(request))
        except Exception:  # noqa: BLE001 - one broken panel must not take the home page down
            log.exception("dashboard panels from %s failed", provider.__module__)
    # Permission is checked again here, so a provider that forgets cannot show a panel.
    panels = [p for p in panels if p.visible_to(request.user)]
    rank = {section: i for i, section in enumerate(panel_kit.SECTIONS)}
    panels.sort(key=lambda p: (rank.get(p.section, len(rank)), p.order, str(p.title)))
    return panels


def index(request, extra_context=None):
    """The admin index (templates/admin/index.html) with the user's panels above the app list."""
    panels = gather_panels(request)
    context = {
        "dashboard_sections": [
            (section, [p for p in panels if p.section == section]) for section in panel_kit.SECTIONS
        ],
        "dashboard_panels": panels,
        **(extra_context or {}),
    }
    return admin.site.index(request, context)
