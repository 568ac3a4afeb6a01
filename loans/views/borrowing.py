from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import selectors
from ..forms import add_errors
from ..models import Contract, CreditLine, Loan, LoanProduct
from ..models.products import METHOD_LABELS
from ..reasons import reason_message
from ..services import lending
from .onboarding import prices, session_borrower


class BorrowForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount (yuan)"), min_value=1, max_digits=9, decimal_places=0
    )
    term = forms.TypedChoiceField(label=gettext_lazy("Months"), coerce=int)
    method = forms.ChoiceField(label=gettext_lazy("Repayment method"), choices=METHOD_LABELS)

    def __init__(self, *args, product: LoanProduct, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].choices = [(t, str(t)) for t in product.terms]
        self.fields["method"].choices = product.method_choices


def _product() -> LoanProduct | None:
    return LoanProduct.objects.filter(is_active=True).order_by("id").first()


def borrow(request):
    borrower = session_borrower(request)
    if borrower is None:
        return redirect("portal:login")
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
                daily_rate=min(line.daily_rate, product.max_daily_rate),
                drawdown=timezone.localdate(),
                **args,
            )
        except (ValidationError, ValueError, InvalidOperation) as exc:
            add_errors(form, exc)
    context = {"form": form, "line": line, "schedule": schedule, "product": product, **prices()}
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
        reasons = [reason_message(c) for c in application.decision_note.split(", ") if c]
        messages.warning(request, " ".join([_("We cannot lend to you now."), *reasons]))
    return redirect("portal:my_credit")


def _own_contract(request, number: str) -> Contract:
    borrower = session_borrower(request)
    if borrower is None:
        raise Http404
    return get_object_or_404(
        Contract.objects.select_related("application"),
        number=number,
        application__borrower=borrower,
    )


def contract_detail(request, number: str):
    contract = _own_contract(request, number)
    if request.method == "POST" and contract.status == Contract.Status.AWAITING_SIGNATURE:
        if request.POST.get("agree") != "yes":
            messages.warning(request, _("Please confirm that you have read and agree."))
            return redirect("portal:contract", number=number)
        lending.sign_contract(
            contract=contract,
            ip_address=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        try:
            loan = lending.disburse_loan(application=contract.application)
        except ValidationError:
            messages.info(request, _("Signed. The money will be paid out shortly."))
            return redirect("portal:my_credit")
        messages.success(request, _("Signed. The money is on its way to your bank card."))
        return redirect("portal:loan", pk=loan.pk)
    # The body is our own template's output, stored when the contract was made (never
    # borrower input), and must be shown exactly as signed.
    context = {"contract": contract, "body": mark_safe(contract.body), **prices()}  # noqa: S308
    return render(request, "portal/contract.html", context)


def contract_download(request, number: str):
    contract = _own_contract(request, number)
    response = HttpResponse(contract.body.encode(), content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contract-{contract.number}.html"'
    return response


def loan_detail(request, pk: int):
    borrower = session_borrower(request)
    if borrower is None:
        return redirect("portal:login")
    loan = get_object_or_404(Loan, pk=pk, borrower=borrower)
    today = timezone.localdate()
    context = {
        "loan": loan,
        "instalments": loan.instalments.order_by("number"),
        "due_now": selectors.amount_due(loan=loan, on=today),
        "payoff": selectors.payoff_amount(loan=loan, on=today),
        "repayments": loan.repayments.order_by("-id"),
        **prices(),
    }
    return render(request, "portal/loan.html", context)
