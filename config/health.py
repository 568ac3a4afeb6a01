"""GET /healthz for load balancers: 200 while the database answers, 503 when it does not.

Plain function view on purpose: no session, no login, no template, one `SELECT 1`. It is
exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT), because the probe talks plain HTTP to
the machine behind the TLS proxy, and it is never cached, so a dead database shows at once.
"""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        log.warning("health check: database unavailable: %s", exc)
        return JsonResponse({"status": "unavailable", "database": False}, status=503)
    return JsonResponse({"status": "ok", "database": True})
