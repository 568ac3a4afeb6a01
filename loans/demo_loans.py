"""Demo loans in every state, dated relative to today so `make run` always looks alive."""

from datetime import date, timedelta
from decimal import Decimal

from .models import Borrower, CreditLine, LoanProduct
from .models.borrowers import id_number_index
from .services import lending, repayments

PRODUCTS = [
    {
        "code": "weilidai",
        "name": "微粒贷 Weilidai",
        "methods": ["equal_installment", "equal_principal"],
        "terms": [5, 10, 20],
    },
    {
        "code": "weilidai-short",
        "name": "微粒贷 短期 Short term",
        "methods": ["equal_installment", "equal_principal", "interest_first"],
        "terms": [5, 10],
        "auto_approve_max_amount": Decimal("20000"),
    },
]


def create_products() -> dict[str, LoanProduct]:
    products = {}
    for spec in PRODUCTS:
        product = LoanProduct.objects.filter(code=spec["code"]).first()
        if product is None:
            product = LoanProduct(**spec)
            product.full_clean()
            product.save()
        products[spec["code"]] = product
    return products


def _borrower(id_number: str) -> Borrower | None:
    return Borrower.objects.filter(id_number_index=id_number_index(id_number)).first()


def _loan(borrower, product, amount, term, method, drawn: date):
    application = lending.apply_for_loan(
        borrower=borrower,
        product=product,
        amount=Decimal(amount),
        term=term,
        method=method,
        as_of=drawn,
    )
    lending.sign_contract(
        contract=application.contract, ip_address="127.0.0.1", user_agent="demo data"
    )
    return lending.disburse_loan(application=application, on=drawn)


def _pay_on_due_dates(loan, *, upto: date, count: int | None = None, channel="auto_debit"):
    for inst in list(loan.instalments.order_by("number"))[:count]:
        if inst.due_date > upto:
            break
        repayments.post_repayment(
            loan=loan,
            amount=inst.principal_due + inst.interest_due,
            channel=channel,
            external_id=f"DEMO-{loan.pk}-{inst.number}",
            value_date=inst.due_date,
        )


def create_loans(*, today: date, admin, id_numbers: dict[str, str]) -> int:
    """A current loan paid on time, one settled early, one with a partial prepayment then
    overdue, one never paid, a bounced payment reversed, and applications waiting for review,
    for a signature, cancelled and rejected."""
    products = create_products()
    standard, short = products["weilidai"], products["weilidai-short"]
    made = 0
    zhang = _borrower(id_numbers["张伟"])
    if zhang and not zhang.loans.exists():
        current = _loan(zhang, standard, "20000", 10, "equal_installment", today - timedelta(200))
        _pay_on_due_dates(current, upto=today)
        bounced = repayments.post_repayment(
            loan=current,
            amount=Decimal("500"),
            channel="bank_card",
            external_id=f"DEMO-{current.pk}-bounced",
            value_date=today,
        )
        repayments.reverse_repayment(repayment=bounced, reason="银行退票 Card payment bounced")
        early = _loan(zhang, short, "5000", 5, "equal_principal", today - timedelta(120))
        _pay_on_due_dates(early, upto=today, count=1, channel="wechat_pay")
        payoff_day = early.instalments.get(number=1).due_date + timedelta(10)
        repayments.post_repayment(
            loan=early,
            amount=Decimal("5000"),  # more than enough: the change is kept to refund
            channel="alipay",
            external_id=f"DEMO-{early.pk}-settle",
            value_date=payoff_day,
        )
        lending.apply_for_loan(
            borrower=zhang,
            product=standard,
            amount=Decimal("60000"),
            term=20,
            method="equal_installment",
        )
        made += 3
    li = _borrower(id_numbers["李娜"])
    if li and not li.loans.exists():
        loan = _loan(li, standard, "10000", 10, "equal_installment", today - timedelta(150))
        _pay_on_due_dates(loan, upto=today, count=1, channel="wechat_pay")
        first_due = loan.instalments.get(number=1).due_date
        repayments.post_repayment(
            loan=loan,
            amount=Decimal("3000"),
            channel="alipay",
            external_id=f"DEMO-{loan.pk}-prepay",
            value_date=first_due + timedelta(12),
        )
        lending.apply_for_loan(
            borrower=li, product=short, amount=Decimal("2000"), term=5, method="equal_principal"
        )
        made += 2
    wang = _borrower(id_numbers["王芳"])
    if wang and not wang.loans.exists():
        _loan(wang, short, "6000", 5, "interest_first", today - timedelta(75))
        cancelled = lending.apply_for_loan(
            borrower=wang,
            product=short,
            amount=Decimal("1000"),
            term=5,
            method="equal_installment",
        )
        lending.cancel_application(application=cancelled, note="借款人取消 Borrower cancelled")
        made += 2
    sun = _borrower(id_numbers["孙鹏"])
    if sun and not sun.applications.exists():
        line = CreditLine.objects.get(borrower=sun)
        if line.status == CreditLine.Status.ACTIVE:
            lending.apply_for_loan(
                borrower=sun,
                product=short,
                amount=Decimal("1000"),
                term=5,
                method="equal_installment",
            )  # rejected: his account activity fails the rules
            made += 1
    return made
