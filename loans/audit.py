"""The audit trail's one writer: who did what, to which record, what changed, from where.

Services call `record_event` inside the transaction of the change they make, so the event and
the change commit or vanish together. The request's IP address reaches it through a context
variable that `config.middleware.AuditContextMiddleware` sets for each request, so no service
signature has to carry it. Model edits made in the admin are recorded by
`loans.admin.common.AuditedAdminMixin` with the before and after of each changed field.

Personal data never enters the trail in the clear: encrypted fields are recorded as
"changed" only, and callers pass masked values.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField
from .models import AuditEvent

# What each action code means, for the trail's list and filter. A new code needs a line here,
# not a migration.
ACTIONS = {
    "pii.reveal": _("Personal data revealed"),
    "pii.export": _("Personal data exported"),
    "assessment.override": _("Credit decision overridden"),
    "application.decide": _("Application decided"),
    "payment.post": _("Payment posted"),
    "payment.reverse": _("Payment reversed"),
    "refund.request": _("Refund requested"),
    "refund.approve": _("Refund approved"),
    "refund.reject": _("Refund rejected"),
    "writeoff.propose": _("Write-off proposed"),
    "writeoff.approve": _("Write-off approved"),
    "writeoff.reject": _("Write-off rejected"),
    "hardship.propose": _("Hardship plan proposed"),
    "hardship.decide": _("Hardship plan decided"),
    "waiver.grant": _("Waiver granted"),
    "approval.propose": _("Proposal made"),
    "approval.approve": _("Proposal approved"),
    "approval.reject": _("Proposal rejected"),
    "queue.claim": _("Work item claimed"),
    "queue.release": _("Work item released"),
    "job.run": _("Job run by hand"),
    "export.csv": _("List exported"),
    "object.add": _("Record added"),
    "object.change": _("Record changed"),
    "object.delete": _("Record deleted"),
    "role.change": _("Staff roles changed"),
    "credit_line.freeze": _("Credit line frozen or unfrozen"),
    "case.reassign": _("Collection cases reassigned"),
    "visit.decide": _("Home visit decided"),
    "complaint.resolve": _("Complaint answered"),
    "restriction.lift": _("Contact restriction lifted"),
}

# Set by AuditContextMiddleware for the length of one request.
_request_ip: ContextVar[str | None] = ContextVar("audit_request_ip", default=None)

CHANGED = "(changed)"  # what an encrypted field's before/after reads


@contextmanager
def request_context(*, ip_address: str | None):
    token = _request_ip.set(ip_address or None)
    try:
        yield
    finally:
        _request_ip.reset(token)


def current_ip() -> str | None:
    return _request_ip.get()


def record_event(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Write one event. Call it inside the change's own transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(
        actor=actor if getattr(actor, "pk", None) else None,
        ip_address=current_ip(),
        action=action,
        summary=str(summary)[:300],
        before=_jsonable(before),
        after=_jsonable(after),
    )
    if target is not None:
        event.content_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
        event.object_id = str(target.pk)[:64]
        event.object_repr = str(target)[:200]
    event.save()
    return event


def snapshot(instance: models.Model) -> dict:
    """The instance's own column values, JSON-ready; encrypted fields read "(changed)" only
    when they differ, so they are kept as a keyed marker rather than their value."""
    values = {}
    for field in instance._meta.concrete_fields:
        if getattr(field, "auto_now", False):  # "updated at" changes on every save
            continue
        value = getattr(instance, field.attname)
        if isinstance(field, EncryptedTextField):
            value = _fingerprint(value)
        values[field.name] = value
    return values


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """The fields whose values differ, as (before, after) dicts; encrypted ones as markers."""
    changed = [name for name in after if before.get(name) != after.get(name)]
    old, new = {}, {}
    for name in changed:
        old[name], new[name] = before.get(name), after.get(name)
        if _is_fingerprint(old[name]) or _is_fingerprint(new[name]):
            old[name], new[name] = None, CHANGED
    return old, new


_FINGERPRINT = "fp:"


def _fingerprint(value) -> str | None:
    # A comparison marker only, never stored for an unchanged field and replaced by CHANGED
    # before anything is written: the trail never holds a hash an attacker could test guesses on.
    if value in (None, ""):
        return value
    return _FINGERPRINT + str(hash(str(value)))


def _is_fingerprint(value) -> bool:
    return isinstance(value, str) and value.startswith(_FINGERPRINT)


def _jsonable(values: dict | None) -> dict | None:
    if values is None:
        return None
    return {str(key): _plain(value) for key, value in values.items()}


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
