"""The back office's front page. A collector's is their work queue; everyone else gets the
dashboard (loans.admin.dashboard: the panels their permissions allow, then the app list)."""

from django.shortcuts import redirect

from loans.admin.dashboard import index

from .. import selectors


def admin_home(request, extra_context=None):
    user = request.user
    if user.has_perm(selectors.WORK_CASE) and not selectors.sees_every_case(user):
        return redirect("admin:collections_collectioncase_changelist")
    return index(request, extra_context)
