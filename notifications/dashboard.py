"""The SMS panel of the back-office home (gathered by loans.admin.dashboard): today's messages
by what became of them, in one grouped count over the indexed creation time."""

from django.db.models import Count
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from loans import charts
from loans.panels import FIGURES, Figure, Panel, changelist, count, start_of_day

from .models import SmsMessage, SmsStatus

VIEW_SMS = "notifications.view_smsmessage"
# Colours by outcome: waiting (blue, sky), sent (orange), delivered (green), failed (vermillion).
STATUS_COLOURS = {
    SmsStatus.QUEUED: "#0072B2",
    SmsStatus.SENDING: "#56B4E9",
    SmsStatus.SENT: "#E69F00",
    SmsStatus.DELIVERED: "#009E73",
    SmsStatus.FAILED: "#D55E00",
}


def panels(request) -> list[Panel]:
    if not request.user.has_perm(VIEW_SMS):
        return []
    return [_sms_today()]


def _sms_today() -> Panel:
    today = timezone.localdate()
    by_status = dict(
        SmsMessage.objects.filter(created_at__gte=start_of_day(today))
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    statuses = list(SmsStatus)
    # Sent counts everything that reached the provider: sent, then delivered or not.
    sent = by_status.get(SmsStatus.SENT, 0) + by_status.get(SmsStatus.DELIVERED, 0)
    day = (
        f"created_at__day={today.day}&created_at__month={today.month}&created_at__year={today.year}"
    )
    figures = [
        Figure(_("Queued today"), count(sum(by_status.values())), link=changelist(SmsMessage, day)),
        Figure(_("Sent"), count(sent)),
        Figure(_("Delivered"), count(by_status.get(SmsStatus.DELIVERED, 0))),
        Figure(
            _("Failed"),
            count(by_status.get(SmsStatus.FAILED, 0)),
            link=changelist(SmsMessage, f"{day}&status__exact={SmsStatus.FAILED}"),
            alert=bool(by_status.get(SmsStatus.FAILED)),
        ),
        Figure(
            _("Still waiting to be sent"),
            count(by_status.get(SmsStatus.QUEUED, 0) + by_status.get(SmsStatus.SENDING, 0)),
        ),
    ]
    values = [by_status.get(s, 0) for s in statuses]
    chart = charts.bar_chart(
        [str(s.label) for s in statuses],
        values,
        title=str(_("Today's SMS by status")),
        value_labels=[f"{v:,}" for v in values],
        colours=[STATUS_COLOURS[s] for s in statuses],
        empty=str(_("No SMS today")),
    )
    return Panel(
        key="sms-today",
        title=_("SMS today"),
        permission=VIEW_SMS,
        figures=figures,
        chart=mark_safe(chart),  # noqa: S308 - charts escapes every label
        note=_("Messages created today (Beijing time), by what became of them so far."),
        link=changelist(SmsMessage),
        link_label=_("Open the SMS outbox"),
        section=FIGURES,
        order=50,
    )
