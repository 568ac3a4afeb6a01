"""Borrowing from the line: the draw and its repayment plan, the contract to read, sign and
download, and cancelling a draw not yet paid out."""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loans.models import Contract, CreditLine, Loan, LoanApplication, LoanProduct, LoanTransaction
from loans.reasons import reason_message
from loans.services import cards, lending

from ..decorators import borrower_required
from ..forms import BorrowForm, add_errors
from .cards import with_next


def _product() -> LoanProduct | None:
    return LoanProduct.objects.filter(is_active=True).order_by("id").first()


@borrower_required
def borrow(request):
    borrower = request.borrower
    line = CreditLine.objects.filter(borrower=borrower).first()
    product = _product()
    if line is None or line.status != CreditLine.Status.ACTIVE or product is None:
        messages.info(request, _("Borrowing is not available on your account right now."))
        return redirect("portal:my_credit")
    form = BorrowForm(request.POST or None, product=product)
    schedule = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        args = {"amount": Decimal(data["amount"]), "term": data["term"], "method": data["method"]}
        try:
            if "confirm" in request.POST:
                return _apply(request, borrower, product, args)
            lending.check_draw(borrower=borrower, product=product, **args)
            schedule = lending.quote(
                daily_rate=lending.draw_daily_rate(line=line, product=product),
                drawdown=timezone.localdate(),
                **args,
            )
        except (ValidationError, ValueError, InvalidOperation) as exc:
            add_errors(form, exc)
    context = {"form": form, "line": line, "schedule": schedule, "product": product}
    return render(request, "portal/borrow.html", context)


def _apply(request, borrower, product, args):
    application = lending.apply_for_loan(borrower=borrower, product=product, **args)
    if application.status == application.Status.APPROVED:
        return redirect("portal:contract", number=application.contract.number)
    if application.status == application.Status.PENDING_REVIEW:
        messages.info(
            request, _("Your application is being reviewed. We will text you the result.")
        )
    else:
        reasons = [reason_message(code) for code in refusal_codes(application)]
        messages.warning(request, " ".join([_("We cannot lend to you now."), *reasons]))
    return redirect("portal:my_credit")


def refusal_codes(application: LoanApplication) -> list[str]:
    """The reason codes of a refused draw."""
    return list(application.reason_codes)


def _own_contract(request, number: str) -> Contract:
    return get_object_or_404(
        Contract.objects.select_related("application"),
        number=number,
        application__borrower=request.borrower,
    )


@borrower_required(redirect_to=None)
def contract_detail(request, number: str):
    contract = _own_contract(request, number)
    if request.method == "POST" and contract.status == Contract.Status.AWAITING_SIGNATURE:
        if request.POST.get("agree") != "yes":
            messages.warning(request, _("Please confirm that you have read and agree."))
            return redirect("portal:contract", number=number)
        return _sign_and_borrow(request, contract)
    application = contract.application
    context = {
        "contract": contract,
        # The body is our own template's output, stored when the contract was made (never
        # borrower input), and must be shown exactly as signed.
        "body": mark_safe(contract.body),  # noqa: S308
        "application": application,
        "card": cards.default_card(borrower=application.borrower),
        "bind_url": with_next(reverse("portal:bind_card"), request.path),
        "loan": Loan.objects.filter(contract=contract).first(),
    }
    return render(request, "portal/contract.html", context)


def _sign_and_borrow(request, contract: Contract):
    try:
        loan = lending.sign_and_disburse(
            contract=contract,
            ip_address=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except lending.DrawRefused:
        # Cancelled: the contract page now says why.
        return redirect("portal:contract", number=contract.number)
    except lending.NoPayoutCard as exc:
        messages.warning(request, " ".join(exc.messages))
        return redirect(with_next(reverse("portal:bind_card"), request.path))
    except ValidationError as exc:
        # Most likely signed a moment ago in another tab, or by a double click.
        loan = Loan.objects.filter(application_id=contract.application_id).first()
        if loan is not None:
            return redirect("portal:loan", pk=loan.pk)
        messages.info(request, " ".join(exc.messages))
        return redirect("portal:contract", number=contract.number)
    paid_to = (
        loan.transactions.select_related("bank_card")
        .get(kind=LoanTransaction.Kind.DISBURSEMENT)
        .bank_card
    )
    messages.success(
        request,
        _("Signed. ¥%(amount)s has been paid to your card %(card)s.")
        % {"amount": loan.principal, "card": paid_to.masked},
    )
    return redirect("portal:loan", pk=loan.pk)


@borrower_required(redirect_to=None)
def contract_download(request, number: str):
    contract = _own_contract(request, number)
    response = HttpResponse(contract.body.encode(), content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contract-{contract.number}.html"'
    return response


@require_POST
@borrower_required
def cancel_draw(request, pk: int):
    """The borrower walks away from a draw not yet paid out; its reservation is released. A
    second click (or tab) finds it already cancelled and changes nothing."""
    application = get_object_or_404(LoanApplication, pk=pk, borrower=request.borrower)
    try:
        lending.cancel_application(application=application)
    except ValidationError:
        application.refresh_from_db(fields=["status"])
        if application.status == LoanApplication.Status.CANCELLED:
            messages.info(request, _("This draw is already cancelled."))
        else:
            messages.warning(request, _("This draw can no longer be cancelled."))
    else:
        messages.success(
            request,
            _("Draw of ¥%(amount)s cancelled: the amount is available to borrow again.")
            % {"amount": application.amount},
        )
    return redirect("portal:my_credit")
