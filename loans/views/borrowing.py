from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from .. import selectors
from ..after_response import after_response
from ..forms import add_errors
from ..models import (
    BankCard,
    Contract,
    CreditLine,
    Loan,
    LoanApplication,
    LoanProduct,
    LoanTransaction,
)
from ..models.payments import CardBinding
from ..models.products import METHOD_LABELS
from ..reasons import reason_message
from ..services import lending, payments
from .onboarding import prices, session_borrower

# The banks a card can be bound from: the stored name is the Chinese one the gateway uses.
BANKS = [
    ("中国工商银行", "中国工商银行 ICBC"),
    ("中国建设银行", "中国建设银行 China Construction Bank"),
    ("中国农业银行", "中国农业银行 Agricultural Bank of China"),
    ("中国银行", "中国银行 Bank of China"),
    ("交通银行", "交通银行 Bank of Communications"),
    ("中国邮政储蓄银行", "中国邮政储蓄银行 Postal Savings Bank of China"),
    ("招商银行", "招商银行 China Merchants Bank"),
    ("中信银行", "中信银行 China CITIC Bank"),
    ("浦发银行", "浦发银行 SPD Bank"),
    ("兴业银行", "兴业银行 Industrial Bank"),
    ("中国民生银行", "中国民生银行 China Minsheng Bank"),
    ("中国光大银行", "中国光大银行 China Everbright Bank"),
    ("平安银行", "平安银行 Ping An Bank"),
    ("华夏银行", "华夏银行 Hua Xia Bank"),
    ("广发银行", "广发银行 China Guangfa Bank"),
    ("微众银行", "微众银行 WeBank"),
]


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
        return _sign_and_borrow(request, contract)
    application = contract.application
    context = {
        "contract": contract,
        # The body is our own template's output, stored when the contract was made (never
        # borrower input), and must be shown exactly as signed.
        "body": mark_safe(contract.body),  # noqa: S308
        "application": application,
        "card": payments.default_card(borrower=application.borrower),
        "bind_url": _with_next(reverse("portal:bind_card"), request.path),
        **prices(),
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
        return redirect(_with_next(reverse("portal:bind_card"), request.path))
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


@require_POST
def cancel_draw(request, pk: int):
    """The borrower walks away from a draw not yet paid out; its reservation is released. A
    second click (or tab) finds it already cancelled and changes nothing."""
    borrower = session_borrower(request)
    if borrower is None:
        return redirect("portal:login")
    application = get_object_or_404(LoanApplication, pk=pk, borrower=borrower)
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
        "figures": selectors.repayment_figures(loan=loan, on=today),
        "repayments": loan.repayments.order_by("-id"),
        **prices(),
    }
    return render(request, "portal/loan.html", context)


# --- Bank cards (绑卡) -----------------------------------------------------------------------


class BindCardForm(forms.Form):
    card_number = forms.CharField(
        label=gettext_lazy("Card number"),
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "cc-number"}),
    )
    bank_name = forms.ChoiceField(label=gettext_lazy("Bank"), choices=BANKS)
    make_default = forms.BooleanField(
        label=gettext_lazy("Use it for loans and repayments (default card)"),
        required=False,
        initial=True,
    )


class CardCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("6-digit code"),
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


def _next_url(request) -> str:
    """Where to go once the card is bound (the contract waiting to be signed): only a path on
    this site, never another one."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe and target.startswith("/") else ""


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def bank_cards(request):
    borrower = session_borrower(request)
    if borrower is None:
        return redirect("portal:login")
    cards = BankCard.objects.filter(borrower=borrower, unbound_at__isnull=True).order_by(
        "-is_default", "-bound_at", "-id"
    )
    context = {"cards": cards, **prices()}
    return render(request, "portal/cards.html", context)


@after_response
@sensitive_post_parameters("card_number")
def bind_card(request):
    """Step 1: the card. Only one in the borrower's own name; the code is texted after the
    page has been answered. The number is posted, never put in a URL."""
    borrower = session_borrower(request)
    if borrower is None:
        return redirect("portal:login")
    form = BindCardForm(request.POST if request.method == "POST" else None)
    next_url = _next_url(request)
    if request.method == "POST" and form.is_valid():
        try:
            binding = payments.start_card_binding(
                borrower=borrower,
                bank_name=form.cleaned_data["bank_name"],
                card_number=form.cleaned_data["card_number"],
                make_default=form.cleaned_data["make_default"],
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            return redirect(_with_next(reverse("portal:card_code", args=[binding.pk]), next_url))
    context = {"form": form, "holder": borrower.masked_name, "next": next_url, **prices()}
    return render(request, "portal/card_bind.html", context)


@after_response
@sensitive_post_parameters("code")
def card_code(request, pk: int):
    """Step 2: the code texted to the borrower's mobile proves the card; or a new code."""
    borrower = session_borrower(request)
    if borrower is None:
        return redirect("portal:login")
    binding = get_object_or_404(CardBinding, pk=pk, borrower=borrower)
    next_url = _next_url(request)
    if binding.card_id is not None:
        return redirect(next_url or "portal:bank_cards")
    form = CardCodeForm(request.POST if "verify" in request.POST else None)
    if request.method == "POST" and "resend" in request.POST:
        try:
            fresh = payments.resend_card_code(
                binding=binding, ip_address=request.META.get("REMOTE_ADDR")
            )
        except ValidationError as exc:
            messages.warning(request, " ".join(exc.messages))
        else:
            messages.info(request, _("A new code is on its way to your mobile."))
            return redirect(_with_next(reverse("portal:card_code", args=[fresh.pk]), next_url))
    elif form.is_valid():
        try:
            card = payments.confirm_card_binding(binding=binding, code=form.cleaned_data["code"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request, _("Your card %(card)s is bound and verified.") % {"card": card.masked}
            )
            return redirect(next_url or "portal:bank_cards")
    context = {
        "binding": binding,
        "form": form,
        "masked_mobile": borrower.masked_mobile,
        "next": next_url,
        **prices(),
    }
    return render(request, "portal/card_code.html", context)


@require_POST
def make_default_card(request, pk: int):
    borrower = session_borrower(request)
    if borrower is None:
        return redirect("portal:login")
    card = get_object_or_404(BankCard, pk=pk, borrower=borrower, unbound_at__isnull=True)
    try:
        payments.set_default_card(card=card)
    except ValidationError as exc:
        messages.warning(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(card)s is now your default card.") % {"card": card.masked})
    return redirect("portal:bank_cards")
