"""The SMS a borrower was sent, for their timeline (loans/timeline.py describes the
contract). Texts as the outbox keeps them: a login or card-binding code is stored masked."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loans.timeline import Entry, admin_link, newest

from .models import SmsMessage

KINDS = {"sms": gettext_lazy("SMS")}
VIEW_SMS = "notifications.view_smsmessage"


def kinds(*, user) -> dict[str, str]:
    return dict(KINDS) if user.has_perm(VIEW_SMS) else {}


def entries(borrower, *, user, kinds) -> list[Entry]:
    if "sms" not in kinds or not user.has_perm(VIEW_SMS):
        return []

    def each(sms):
        yield Entry(
            at=sms.created_at,
            kind="sms",
            title=_("SMS %(template)s (%(status)s)")
            % {"template": sms.template, "status": sms.get_status_display()},
            detail=sms.text,
            link=admin_link("notifications_smsmessage_change", sms.pk),
        )

    return newest(
        SmsMessage.objects.filter(borrower=borrower).order_by("-created_at", "-id"),
        kind="sms",
        link=admin_link(
            "notifications_smsmessage_changelist", query=f"borrower__id__exact={borrower.pk}"
        ),
        each=each,
    )
