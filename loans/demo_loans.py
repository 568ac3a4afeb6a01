"""Demo loans in every state, dated relative to today so `make run` always looks alive."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from stdnum import luhn

from . import tasks
from .gateway import get_gateway
from .gateway.sandbox import SandboxGateway
from .models import Borrower, CreditLine, LoanProduct
from .models.borrowers import id_number_index
from .services import cards, lending, refunds, repayments, write_offs

DEMO_BANKS = ["招商银行", "中国工商银行", "中国建设银行", "中国银行"]

PRODUCTS = [
    {
        "code": "weilidai",
        "name": "微粒贷 Weilidai",
        "methods": ["equal_instalment", "equal_principal"],
        "terms": [5, 10, 20],
    },
    {
        "code": "weilidai-short",
        "name": "微粒贷 短期 Short term",
        "methods": ["equal_instalment", "equal_principal", "interest_first"],
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


def _card(borrower) -> None:
    """Money is paid only to a verified card: every demo borrower with a loan has one, bound
    the way the gateway records a card it has proved (no code to text)."""
    if cards.default_card(borrower=borrower) is not None:
        return
    body = f"6214830{borrower.pk:011d}"
    cards.bind_bank_card(
        borrower=borrower,
        bank_name=DEMO_BANKS[borrower.pk % len(DEMO_BANKS)],
        card_number=body + luhn.calc_check_digit(body),
        token=f"demo-card-{borrower.pk}",
    )


def _loan(borrower, product, amount, term, method, drawn: date):
    application = lending.apply_for_loan(
        borrower=borrower,
        product=product,
        amount=Decimal(amount),
        term=term,
        method=method,
        as_of=drawn,
    )
    _card(borrower)
    return lending.sign_and_disburse(
        contract=application.contract, ip_address="127.0.0.1", user_agent="demo data", on=drawn
    )


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
    for a signature (one that signing will now refuse), cancelled and rejected. Every borrower
    with a loan has a verified bank card."""
    products = create_products()
    standard, short = products["weilidai"], products["weilidai-short"]
    made = 0
    zhang = _borrower(id_numbers["张伟"])
    if zhang and not zhang.loans.exists():
        current = _loan(zhang, standard, "20000", 10, "equal_instalment", today - timedelta(200))
        _pay_on_due_dates(current, upto=today)
        bounced, _ = repayments.post_repayment(
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
        _refunds(early, admin=admin)
        lending.apply_for_loan(
            borrower=zhang,
            product=standard,
            amount=Decimal("60000"),
            term=20,
            method="equal_instalment",
        )
        made += 3
    li = _borrower(id_numbers["李娜"])
    if li and not li.loans.exists():
        loan = _loan(li, standard, "10000", 10, "equal_instalment", today - timedelta(150))
        _pay_on_due_dates(loan, upto=today, count=1, channel="wechat_pay")
        first_due = loan.instalments.get(number=1).due_date
        repayments.post_repayment(
            loan=loan,
            amount=Decimal("3000"),
            channel="alipay",
            external_id=f"DEMO-{loan.pk}-prepay",
            value_date=first_due + timedelta(12),
        )
        # Approved while she was still up to date; she has fallen behind since, so signing it
        # now is refused and the draw cancelled (the lending checks at every step).
        lending.apply_for_loan(
            borrower=li,
            product=short,
            amount=Decimal("2000"),
            term=5,
            method="equal_principal",
            as_of=first_due + timedelta(12),
        )
        made += 2
    wang = _borrower(id_numbers["王芳"])
    if wang and not wang.loans.exists():
        drawn = today - timedelta(75)
        _loan(wang, short, "6000", 5, "interest_first", drawn)
        cancelled = lending.apply_for_loan(
            borrower=wang,
            product=short,
            amount=Decimal("1000"),
            term=5,
            method="equal_instalment",
            as_of=drawn + timedelta(5),  # before she fell behind: now she could not apply
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
                method="equal_instalment",
            )  # rejected: his account activity fails the rules
            made += 1
    zheng = _borrower(id_numbers["郑凯"])
    if zheng and not zheng.loans.exists():
        _written_off(zheng, standard, today=today, admin=admin)
        made += 1
    return made


def _refunds(loan, *, admin) -> None:
    """Of the change kept to refund, a small refund paid back to the card and the rest, above
    the approval threshold, waiting for someone other than the admin to approve it."""
    excess = refunds.refundable_amount(loan=loan)
    if excess <= 0:
        return
    paid = refunds.request_refund(
        loan=loan,
        amount=min(Decimal("200.00"), excess),
        actor=admin,
        reason="多付退回 Overpayment returned",
    )
    if isinstance(get_gateway(), SandboxGateway):
        # The sandbox answers through the task queue; the demo does not wait for the cluster.
        # (Its queued answer arrives later as a re-delivery and changes nothing.)
        tasks.deliver_sandbox_refund(SandboxGateway.refund_notification_body(refund=paid).decode())
    if excess > paid.amount:
        refunds.request_refund(
            loan=loan,
            amount=excess - paid.amount,
            actor=admin,
            reason="多付退回 Overpayment returned",
        )


def _written_off(borrower, product, *, today: date, admin) -> None:
    """Paid once, then nothing: proposed for write-off by the risk officer, approved by the
    admin, and a first recovery received since."""
    loan = _loan(borrower, product, "8000", 10, "equal_instalment", today - timedelta(260))
    _pay_on_due_dates(loan, upto=today, count=1, channel="wechat_pay")
    proposer = get_user_model().objects.filter(username="risk").first()
    if proposer is None or proposer == admin:
        return
    proposal = write_offs.propose_write_off(
        loan=loan, actor=proposer, reason="失联逾期超过180天 Unreachable, over 180 days past due"
    )
    write_offs.approve_write_off(write_off=proposal, actor=admin, note="核销 Written off")
    repayments.post_repayment(
        loan=loan,
        amount=Decimal("300.00"),
        channel="bank_card",
        external_id=f"DEMO-{loan.pk}-recovery",
        value_date=today,
    )
