"""What we hold about the borrower's dealings with us, shown to the borrower: every SMS we
sent them, every collection contact (and the ones the guard stopped), their rights and the
written-only opt-out, and the consents they gave, with the text of the version agreed to."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from debt_collection.selectors import borrower as borrower_selectors
from debt_collection.services import contacts as contact_services
from loans.consents import consent_text
from notifications.models import SmsMessage, SmsStatus

from ..decorators import borrower_required

MESSAGES_PER_PAGE = 30
CONTACTS_PER_PAGE = 50
# Each status as the borrower reads it.
SMS_STATUS_WORDS = {
    SmsStatus.QUEUED: gettext_lazy("Waiting to be sent"),
    SmsStatus.SENDING: gettext_lazy("Being sent"),
    SmsStatus.SENT: gettext_lazy("Sent"),
    SmsStatus.DELIVERED: gettext_lazy("Delivered to your phone"),
    SmsStatus.FAILED: gettext_lazy("Could not be delivered"),
}


def _page(request, rows, per_page: int):
    """A page of `rows` from ?page=: a number that is not one is page 1, one past the end the
    last page (never an error)."""
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


@borrower_required
def sms_messages(request):
    """Every SMS to the borrower, newest first, as stored: a login or card code stays masked."""
    rows = SmsMessage.objects.filter(borrower=request.borrower).order_by("-created_at", "-pk")
    page = _page(request, rows, MESSAGES_PER_PAGE)
    context = {
        "page": page,
        "rows": [(m, SMS_STATUS_WORDS.get(m.status, m.status)) for m in page],
    }
    return render(request, "portal/messages.html", context)


@borrower_required
def collection_record(request):
    borrower = request.borrower
    page = _page(request, borrower_selectors.contact_attempts(borrower=borrower), CONTACTS_PER_PAGE)
    restrictions = borrower_selectors.contact_restrictions(borrower=borrower)
    context = {
        "page": page,
        "rows": borrower_selectors.contact_rows(page),
        "restrictions": restrictions,
        "written_only_since": borrower_selectors.written_only_since(restrictions),
        **borrower_selectors.contact_limits(),
    }
    return render(request, "portal/collection_record.html", context)


@require_POST
@borrower_required
def written_only(request):
    """One tap: written contact only, from now on. A second tap changes nothing."""
    restriction, made = contact_services.request_written_only(borrower=request.borrower)
    if made:
        messages.success(
            request,
            _("Done: from now on we contact you about collection in writing only."),
        )
    else:
        messages.info(
            request,
            _("Written contact only is already on, since %(date)s.")
            % {"date": timezone.localdate(restriction.since).isoformat()},
        )
    return redirect("portal:collection_record")


@borrower_required
def consents(request):
    rows = request.borrower.consents.order_by("-consented_at", "-pk")
    context = {"rows": [(c, consent_text(c.kind, c.text_version)) for c in rows]}
    return render(request, "portal/consents.html", context)
