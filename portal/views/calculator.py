"""贷款计算器 (the loan calculator), open to everyone: amount, term and method in, the APR, the
interest and every instalment out. `/quote/` gives the same figures as JSON for the live quote
on /borrow/ and /calculator/ (static/portal/quote.js); without JavaScript the pages' own forms
show them.

The price is the active product's highest daily rate (the band's highest when no product is
offered), or, for a signed-in borrower with an active credit line, the rate their draw would
get (`lending.draw_daily_rate`), so the live quote on /borrow/ says what borrowing would cost.
The schedule is the pure one the contract uses (`lending.quote`); the APR includes the
product's upfront fee, as on the contract.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from loans import schedules
from loans.models import CreditLine, LoanProduct
from loans.services import lending

from ..forms.account import CalculatorForm
from ..session import session_borrower

EXAMPLE_AMOUNT = Decimal("10000")  # the worked example of DESIGN §4
EXAMPLE_TERM = 10


@dataclass(frozen=True)
class Pricing:
    product: LoanProduct  # the active product, or an unsaved one with the defaults
    daily_rate: Decimal
    personal: bool  # the signed-in borrower's own rate


def _pricing(request) -> Pricing:
    product = LoanProduct.objects.filter(is_active=True).order_by("id").first()
    # No product offered: the model's defaults are the standard terms, methods, draw limits
    # and the band's highest daily rate.
    product = product or LoanProduct()
    borrower = session_borrower(request)
    line = None
    if borrower is not None:
        line = CreditLine.objects.filter(
            borrower=borrower,
            status=CreditLine.Status.ACTIVE,
            expires_on__gte=timezone.localdate(),
        ).first()
    if line is not None:
        return Pricing(product, lending.draw_daily_rate(line=line, product=product), True)
    return Pricing(product, product.max_daily_rate, False)


def yuan(amount: Decimal) -> str:
    """An amount as the portal's other pages show it after the ¥: to the fen (1084.34)."""
    return f"{amount:.2f}"


def rate_percent(daily_rate: Decimal) -> str:
    """A daily rate in percent, as many decimals as it has, at least two: 0.05, 0.035."""
    percent = (daily_rate * 100).quantize(Decimal("0.0001")).normalize()
    return f"{percent:.2f}" if percent.as_tuple().exponent >= -2 else f"{percent:f}"


def quote_figures(form: CalculatorForm, pricing: Pricing) -> dict | None:
    """The quote for a valid form, as plain strings (the page and the JSON show the same);
    None, with the reason on the form, when the schedule cannot be built."""
    data = form.cleaned_data
    amount, product = data["amount"], pricing.product
    try:
        schedule = lending.quote(
            amount=amount,
            term=data["term"],
            daily_rate=pricing.daily_rate,
            method=data["method"],
            drawdown=timezone.localdate(),
        )
    except ValueError as exc:
        form.add_error(None, str(exc))
        return None
    fee = product.upfront_fee(amount)
    apr = schedules.apr_percent(
        principal_received=amount,
        payments=[i.payment for i in schedule.instalments],
        fees_upfront=fee,
    )
    first = schedule.instalments[0]
    text = {
        "apr": _("APR %(apr)s%%") % {"apr": f"{apr:.2f}"},
        "daily_rate": _("Daily rate %(rate)s%%") % {"rate": rate_percent(pricing.daily_rate)},
        "totals": _("Total interest ¥%(interest)s · total to repay ¥%(total)s")
        % {"interest": yuan(schedule.total_interest), "total": yuan(schedule.total_payment)},
        "first_payment": _("First payment ¥%(amount)s on %(date)s")
        % {"amount": yuan(first.payment), "date": first.due_date.isoformat()},
        "fee": _("Upfront fee ¥%(fee)s, included in the APR") % {"fee": yuan(fee)} if fee else "",
        "basis": _("At the daily rate of your credit line.")
        if pricing.personal
        else _("At our highest daily rate: the rate of your own credit line may be lower."),
    }
    return {
        "apr": f"{apr:.2f}",  # percent a year
        "daily_rate": rate_percent(pricing.daily_rate),  # percent a day
        "amount": f"{amount:.2f}",
        "term": data["term"],
        "method": data["method"],
        "fee": f"{fee:.2f}",
        "total_interest": f"{schedule.total_interest:.2f}",
        "total": f"{schedule.total_payment:.2f}",
        "first_payment": f"{first.payment:.2f}",
        "instalments": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "principal": f"{i.principal:.2f}",
                "interest": f"{i.interest:.2f}",
                "payment": f"{i.payment:.2f}",
            }
            for i in schedule.instalments
        ],
        # The table as shown: number, due date, principal, interest, payment.
        "rows": [
            [
                str(i.number),
                i.due_date.isoformat(),
                f"¥{yuan(i.principal)}",
                f"¥{yuan(i.interest)}",
                f"¥{yuan(i.payment)}",
            ]
            for i in schedule.instalments
        ],
        "text": text,
    }


def _example(product: LoanProduct) -> dict:
    """What the calculator shows before anything is typed: ¥10,000 over 10 months, or the
    nearest the product offers."""
    step = product.amount_step or Decimal("1")
    amount = min(max(EXAMPLE_AMOUNT, product.min_amount), product.max_amount)
    amount = max((amount // step) * step, product.min_amount)
    term = EXAMPLE_TERM if EXAMPLE_TERM in product.terms else product.terms[0]
    methods = list(product.methods)
    method = (
        schedules.RepaymentMethod.EQUAL_INSTALMENT.value
        if schedules.RepaymentMethod.EQUAL_INSTALMENT.value in methods
        else methods[0]
    )
    shown = f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}"
    return {"amount": shown, "term": str(term), "method": method}


@require_safe
def calculator(request):
    pricing = _pricing(request)
    data = request.GET if request.GET else _example(pricing.product)
    form = CalculatorForm(data, product=pricing.product)
    quote = quote_figures(form, pricing) if form.is_valid() else None
    context = {"form": form, "quote": quote, "pricing": pricing}
    return render(request, "portal/calculator.html", context)


@require_safe
def quote(request):
    """JSON: {apr, daily_rate, total_interest, total, instalments: [...], ...}, or
    {errors: {field: [message, ...]}} with status 400. Amounts are strings in yuan to the fen;
    `apr` and `daily_rate` are percents; `text` and `rows` are what the pages display."""
    pricing = _pricing(request)
    form = CalculatorForm(request.GET, product=pricing.product)
    figures = quote_figures(form, pricing) if form.is_valid() else None
    if figures is None:
        errors = {field: [str(m) for m in messages] for field, messages in form.errors.items()}
        return JsonResponse({"errors": errors}, status=400)
    return JsonResponse(figures)
