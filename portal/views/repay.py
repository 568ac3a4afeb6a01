"""还款 (repaying): the loans to pay, one loan's repay form ("pay this bill", "pay an amount",
"settle today"), and the payment's result once the gateway's signed answer has been posted."""

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from loans import selectors
from loans.models import DebitAttempt, Loan
from loans.services import cards, payments

from .. import selectors as portal_selectors
from ..decorators import borrower_required
from ..forms import add_errors
from ..forms.repay import RepayForm
from .cards import with_next
from .loans import own_loan


@borrower_required
def repay(request):
    today = timezone.localdate()
    summaries = portal_selectors.borrower_loans(
        borrower=request.borrower, on=today, active_only=True
    )
    context = {"summaries": summaries, "card": cards.default_card(borrower=request.borrower)}
    return render(request, "portal/repay.html", context)


@borrower_required
def repay_loan(request, pk: int):
    loan, _instalments, summary = own_loan(request, pk)
    today = timezone.localdate()
    card = cards.default_card(borrower=request.borrower)
    bind_url = with_next(reverse("portal:bind_card"), request.path)
    posted = request.method == "POST"
    if posted:
        done = payments.submitted_portal_payment(loan=loan, token=request.POST.get("token"))
        if done is not None:  # the same form again: no second charge, the first one's result
            return redirect("portal:payment", pk=done.pk)
    form = None
    if loan.status == Loan.Status.ACTIVE:
        form = RepayForm(request.POST if posted else None, figures=summary.figures)
        if posted and form.is_valid():
            try:
                attempt = payments.request_portal_payment(
                    loan=loan,
                    amount=form.cleaned_data["to_pay"],
                    token=form.cleaned_data["token"],
                    on=today,
                )
            except payments.NoPaymentCard as exc:
                messages.warning(request, " ".join(exc.messages))
                return redirect(bind_url)
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                return redirect("portal:payment", pk=attempt.pk)
    context = {
        "loan": loan,
        "summary": summary,
        "figures": summary.figures,
        "form": form,
        "card": card,
        "bind_url": bind_url,
        # The form's one-time token, new each time it is shown: a page shown again after a
        # refusal charged nothing, and posting the same page twice charges once.
        "token": secrets.token_hex(16),
    }
    return render(request, "portal/repay_loan.html", context)


@borrower_required
def payment_result(request, pk: int):
    attempt = get_object_or_404(
        DebitAttempt.objects.select_related("loan", "bank_card", "repayment"),
        pk=pk,
        loan__borrower=request.borrower,
        slot=DebitAttempt.Slot.PORTAL,
    )
    loan = attempt.loan
    rows = None
    if attempt.status == DebitAttempt.Status.SUCCEEDED:
        rows = selectors.instalment_rows(
            loan=loan,
            instalments=list(loan.instalments.order_by("number")),
            on=timezone.localdate(),
        )
    repayment = attempt.repayment
    context = {
        "attempt": attempt,
        "loan": loan,
        "repayment": repayment,
        # The principal of the instalments due or billed; the rest was repaid early.
        "billed_principal": repayment.principal - repayment.prepaid_principal
        if repayment
        else None,
        "rows": rows,
        "processing": attempt.status == DebitAttempt.Status.REQUESTED,
    }
    return render(request, "portal/payment.html", context)
