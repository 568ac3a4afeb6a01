"""What notifications does when `loans` says something happened. Every handler runs after
the change committed and queues (and, in daytime or when immediate, sends) one message."""

from django.dispatch import receiver
from django.utils import translation

from loans import signals
from loans.models import Channel, LoanApplication
from loans.models.lending import CANCEL_REASON_MESSAGES, CancelReason
from loans.services.repayments import unrecovered_amount

from . import services
from .texts import card_words

DECIDED_TEMPLATES = {
    LoanApplication.Status.APPROVED: "application_approved",
    LoanApplication.Status.PENDING_REVIEW: "application_review",
    LoanApplication.Status.REJECTED: "application_rejected",
}


@receiver(signals.login_code_requested)
def on_login_code_requested(sender, borrower, code, request_id, **kwargs):
    services.send_login_code(borrower=borrower, code=code, request_id=request_id)


@receiver(signals.registration_code_requested)
def on_registration_code_requested(sender, mobile, code, request_id, **kwargs):
    services.send_registration_code(mobile=mobile, code=code, request_id=request_id)


@receiver(signals.card_verification_code_requested)
def on_card_verification_code_requested(
    sender, borrower, code, request_id, bank_name, last4, **kwargs
):
    services.send_card_verification_code(
        borrower=borrower, code=code, request_id=request_id, bank_name=bank_name, last4=last4
    )


@receiver(signals.application_cancelled)
def on_application_cancelled(sender, application, reasons, **kwargs):
    language = services.sms_language(application.borrower)
    with translation.override(language):  # the reasons in the borrower's language
        said = ("; " if language == "en" else "；").join(
            str(CANCEL_REASON_MESSAGES.get(code, code)).rstrip("。.") for code in reasons
        )
    services.queue_from_template(
        borrower=application.borrower,
        template_code="application_cancelled",
        context={"amount": f"{application.amount:.2f}", "reasons": said},
        dedupe_key=f"application:{application.pk}:cancelled",
        immediate=list(reasons) == [CancelReason.BORROWER_REQUEST],  # they just did it
    )


@receiver(signals.refund_paid)
def on_refund_paid(sender, refund, **kwargs):
    borrower = refund.loan.borrower
    services.queue_from_template(
        borrower=borrower,
        template_code="refund_paid",
        context={
            "amount": f"{refund.amount:.2f}",
            "card": card_words(refund.bank_card, services.sms_language(borrower)),
        },
        dedupe_key=f"refund:{refund.pk}:paid",
    )


@receiver(signals.application_decided)
def on_application_decided(sender, application, **kwargs):
    template = DECIDED_TEMPLATES.get(application.status)
    if template:
        services.queue_from_template(
            borrower=application.borrower,
            template_code=template,
            context={"amount": f"{application.amount:.2f}"},
            dedupe_key=f"application:{application.pk}:{application.status}",
        )


@receiver(signals.contract_signed)
def on_contract_signed(sender, contract, **kwargs):
    application = contract.application
    services.queue_from_template(
        borrower=application.borrower,
        template_code="contract_signed",
        context={
            "contract_number": contract.number,
            "amount": f"{application.amount:.2f}",
            "apr": f"{application.apr_percent:.2f}",
        },
        dedupe_key=f"contract-signed:{contract.pk}",
        immediate=True,  # the borrower has just signed
    )


@receiver(signals.loan_disbursed)
def on_loan_disbursed(sender, loan, bank_card=None, **kwargs):
    first = loan.instalments.order_by("number").first()
    services.queue_from_template(
        borrower=loan.borrower,
        template_code="loan_disbursed",
        context={
            "amount": f"{loan.principal:.2f}",
            "card": card_words(bank_card, services.sms_language(loan.borrower)),
            "first_due_date": first.due_date.isoformat(),
            "first_payment": f"{first.principal_due + first.interest_due:.2f}",
        },
        dedupe_key=f"disbursed:{loan.pk}",
    )


@receiver(signals.repayment_posted)
def on_repayment_posted(sender, repayment, **kwargs):
    if repayment.settled_loan:
        return  # the settlement message says it all
    loan = repayment.loan
    if repayment.recovery:  # a written-off loan: no principal schedule, only what is owed
        services.queue_from_template(
            borrower=loan.borrower,
            template_code="recovery_received",
            context={
                "amount": f"{repayment.amount:.2f}",
                "value_date": repayment.value_date.isoformat(),
                "owed": f"{unrecovered_amount(loan=loan):.2f}",
            },
            dedupe_key=f"repayment:{repayment.pk}",
            immediate=repayment.channel != Channel.AUTO_DEBIT,
        )
        return
    services.queue_from_template(
        borrower=loan.borrower,
        template_code="repayment_received",
        context={
            "amount": f"{repayment.amount:.2f}",
            "value_date": repayment.value_date.isoformat(),
            "settled": False,
            "remaining": f"{loan.outstanding_principal:.2f}",
        },
        dedupe_key=f"repayment:{repayment.pk}",
        # A payment the borrower just made is confirmed at once; an automatic debit at
        # 06:00 is not something they did, so it waits for the morning.
        immediate=repayment.channel != Channel.AUTO_DEBIT,
    )


@receiver(signals.loan_settled)
def on_loan_settled(sender, loan, **kwargs):
    services.queue_from_template(
        borrower=loan.borrower,
        template_code="loan_settled",
        context={"principal": f"{loan.principal:.2f}", "settled_on": loan.settled_on.isoformat()},
        dedupe_key=f"settled:{loan.pk}",
        immediate=True,
    )
