"""The supervisor figures page: per collector and per bucket, for one month, each figure with
its definition (selectors.FIGURE_DEFINITIONS)."""

import re
from datetime import date

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext

from loans.admin.common import bad_request

from .. import selectors
from .common import nul_in

FIGURES_TEMPLATE = "admin/collections/figures.html"
_MONTH = re.compile(r"(20[0-9]{2})-(0[1-9]|1[0-2])")


def may_see_figures(user) -> bool:
    return user.has_perm(selectors.SUPERVISE_CASE) or user.has_perm(
        "collections.view_contactattempt"
    )


def _shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def figures_view(modeladmin):
    def view(request):
        if not may_see_figures(request.user):
            raise PermissionDenied
        if nul_in(request):
            return bad_request()
        this_month = timezone.localdate().replace(day=1)
        asked = request.GET.get("month", "")
        if asked:
            match = _MONTH.fullmatch(asked)
            if not match:
                return bad_request()
            month = date(int(match[1]), int(match[2]), 1)
        else:
            month = this_month
        month = min(month, this_month)
        figures = selectors.supervisor_figures(month=month)
        previous, following = _shift(month, -1), _shift(month, 1)
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": gettext("Supervisor figures, %(month)s") % {"month": f"{month:%Y-%m}"},
            "opts": modeladmin.model._meta,
            "figures": figures,
            "definitions": selectors.FIGURE_DEFINITIONS,
            "previous_month": f"{previous:%Y-%m}",
            "next_month": f"{following:%Y-%m}" if following <= this_month else "",
            "sections": [
                (gettext("Per collector"), figures.by_collector),
                (gettext("Per bucket"), figures.by_bucket),
            ],
        }
        return TemplateResponse(request, FIGURES_TEMPLATE, context)

    return view
