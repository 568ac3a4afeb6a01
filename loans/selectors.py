"""Reads: what services and pages need to know about borrowers and credit."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import QuerySet

from . import delinquency, kyc, penalty, schedules, scoring
from .models import Borrower, Consent, CreditAssessment, CreditReport, Instalment, Loan
from .models.borrowers import id_number_index, mobile_index

ZERO = Decimal("0.00")


def active_consent_kinds(*, borrower: Borrower) -> set[str]:
    return set(borrower.consents.filter(withdrawn_at__isnull=True).values_list("kind", flat=True))


def latest_credit_report(*, borrower: Borrower) -> CreditReport | None:
    return borrower.credit_reports.order_by("-pulled_at", "-id").first()


def latest_assessment(*, borrower: Borrower) -> CreditAssessment | None:
    return borrower.assessments.order_by("-created_at", "-id").first()


def applicant_facts(*, borrower: Borrower, as_of: date) -> scoring.ApplicantFacts:
    """Everything the eligibility rules and scorecard read, as one immutable value."""
    report = latest_credit_report(borrower=borrower)
    consents = active_consent_kinds(borrower=borrower)
    return scoring.ApplicantFacts(
        as_of=as_of,
        birth_date=borrower.birth_date,
        mainland_resident=borrower.mainland_resident,
        identity_complete=bool(borrower.name and borrower.id_number and borrower.mobile),
        id_expiry_date=borrower.id_expiry_date,
        civil_capacity=borrower.civil_capacity,
        monthly_income=borrower.monthly_income,
        monthly_debt_payments=borrower.monthly_debt_payments,
        data_consent=Consent.Kind.DATA_PROCESSING in consents,
        credit_query_consent=Consent.Kind.CREDIT_QUERY in consents,
        account_activity_score=borrower.account_activity_score,
        credit_report=scoring.CreditReportFacts(
            current_overdue_accounts=report.current_overdue_accounts,
            worst_dpd_24m=report.worst_dpd_24m,
            inquiries_3m=report.inquiries_3m,
        )
        if report
        else None,
    )


def search_borrowers(*, queryset: QuerySet[Borrower], term: str) -> QuerySet[Borrower]:
    """Exact search by ID number or mobile through the blind index; nothing is decrypted."""
    term = term.strip()
    if not term:
        return queryset
    indexes = {id_number_index(term)}
    try:
        indexes.add(mobile_index(kyc.normalize_mobile(term)))
    except kyc.KycError:
        pass
    matches = queryset.filter(id_number_index__in=indexes) | queryset.filter(
        mobile_index__in=indexes
    )
    return matches


def _projected_penalty(loan, inst, on: date):
    days = penalty.accrual_days(
        due_date=inst.due_date,
        accrued_through=inst.penalty_accrued_through,
        through=on,
        grace_days=loan.grace_days,
        stopped_on=loan.accrual_stopped_on,
    )
    return penalty.penalty_for_days(
        overdue_principal=inst.principal_outstanding,
        daily_rate=loan.daily_rate,
        multiplier=loan.penalty_multiplier,
        days=days,
    )


def amount_due(*, loan, on: date) -> Decimal:
    """What must be paid today to be up to date: every instalment due by today, with the
    penalty it would carry if paid today."""
    total = Decimal("0.00")
    for inst in loan.instalments.open().filter(due_date__lte=on):
        total += inst.total_outstanding + _projected_penalty(loan, inst, on)
    return total


def payoff_amount(*, loan, on: date) -> Decimal:
    """What settles the loan today (DESIGN §4): everything due, plus interest accrued since
    the last due date or prepayment, plus the remaining principal."""
    if loan.status != Loan.Status.ACTIVE:
        return Decimal("0.00")
    return settlement_amount(
        loan=loan, instalments=list(loan.instalments.order_by("number")), on=on
    )


def settlement_amount(*, loan, instalments: list, on: date) -> Decimal:
    """`payoff_amount` for instalments already loaded (and locked, when posting)."""
    due = sum(
        (
            i.total_outstanding + _projected_penalty(loan, i, on)
            for i in instalments
            if i.due_date <= on and i.status in Instalment.OPEN_STATUSES
        ),
        Decimal("0.00"),
    )
    period = current_period(loan=loan, instalments=instalments, on=on)
    principal = sum((i.principal_outstanding for i in period.future), Decimal("0.00"))
    # Penalty charged on an instalment a schedule revision moved to a later date is owed too.
    moved_penalty = sum((i.penalty_outstanding for i in period.future), Decimal("0.00"))
    return due + period.interest + principal + moved_penalty


@dataclass(frozen=True)
class Period:
    """The running period of a loan for a prepayment or settlement on a date."""

    as_of: date  # the payment date, or the due date of a bill already paid ahead of it
    future: list  # open instalments due after `as_of`, oldest first
    interest: Decimal  # accrued since the last due date, drawdown or prepayment, not yet paid


def current_period(*, loan, instalments: list, on: date) -> Period:
    """Where a prepayment or settlement on `on` starts (one rule for posting and quoting).

    Interest accrues from the last due date, the drawdown or the last partial prepayment,
    whichever is latest, on the principal of the instalments still to come. A bill paid in full
    before its due date already carried its period's interest: a prepayment after it counts
    from that due date (`as_of`), and no interest has accrued yet."""
    as_of = max([on, *(i.due_date for i in instalments if i.due_date > on and not _owes(i))])
    future = [i for i in instalments if i.due_date > as_of and _owes(i)]
    if not future:
        return Period(as_of=as_of, future=[], interest=Decimal("0.00"))
    previous_due = max((i.due_date for i in instalments if i.due_date <= as_of), default=None)
    start = max(d for d in (loan.drawdown_date, previous_due, loan.last_prepayment_date) if d)
    paid_in_segment = future[0].interest_paid - (
        loan.prepayment_interest_base if start == loan.last_prepayment_date else 0
    )
    accrued = schedules.accrued_interest(
        principal=sum((i.principal_outstanding for i in future), Decimal("0.00")),
        daily_rate=loan.daily_rate,
        days=max((as_of - start).days, 0),
    )
    return Period(as_of=as_of, future=future, interest=max(accrued - paid_in_segment, 0))


def _owes(inst) -> bool:
    return inst.status in Instalment.OPEN_STATUSES and inst.total_outstanding > 0


def open_bill(*, loan, instalments: list, on: date):
    """出账: the instalment whose bill is open on `on` (billed `bill_days` before its due date,
    up to and including that date), or None."""
    upcoming = [i for i in instalments if i.due_date >= on and _owes(i)]
    if upcoming and (upcoming[0].due_date - on).days <= loan.bill_days:
        return upcoming[0]
    return None


@dataclass(frozen=True)
class RepaymentFigures:
    """The two figures a borrower always sees (DESIGN §4 "Bills and paying early")."""

    on: date
    overdue: Decimal  # past its due date, with the penalty it carries if paid today
    bill: object  # the open bill's instalment, or None
    bill_amount: Decimal  # what the open bill still owes, its whole period's interest included
    pay_bill: Decimal  # "pay this bill": overdue + the open bill
    covers_principal: Decimal
    covers_interest: Decimal
    covers_penalty: Decimal
    settle: Decimal  # "settle today"


def repayment_figures(*, loan, on: date) -> RepaymentFigures:
    return figures_for(loan=loan, instalments=list(loan.instalments.order_by("number")), on=on)


def figures_for(*, loan, instalments: list, on: date) -> RepaymentFigures:
    """`repayment_figures` for instalments already loaded (in number order): pages listing
    several loans load every instalment in one query."""
    bill = (
        open_bill(loan=loan, instalments=instalments, on=on)
        if loan.status == Loan.Status.ACTIVE
        else None
    )
    principal = interest = penalty_total = Decimal("0.00")
    overdue = Decimal("0.00")
    for inst in instalments:
        if not _owes(inst) or (inst.due_date >= on and inst is not bill):
            continue
        projected = _projected_penalty(loan, inst, on) if inst.due_date < on else 0
        principal += inst.principal_outstanding
        interest += inst.interest_outstanding + inst.fee_outstanding
        penalty_total += inst.penalty_outstanding + projected
        if inst is not bill:
            overdue += inst.total_outstanding + projected
    return RepaymentFigures(
        on=on,
        overdue=overdue,
        bill=bill,
        bill_amount=bill.total_outstanding if bill else Decimal("0.00"),
        pay_bill=principal + interest + penalty_total,
        covers_principal=principal,
        covers_interest=interest,
        covers_penalty=penalty_total,
        settle=settlement_amount(loan=loan, instalments=instalments, on=on)
        if loan.status == Loan.Status.ACTIVE
        else Decimal("0.00"),
    )


# --- What a borrower sees of their loans (portal pages) -------------------------------------


class InstalmentState:
    """Where an instalment stands for the borrower on a date (a page's status column)."""

    PAID = "paid"
    SETTLED = "settled"  # closed by paying the loan off early
    WRITTEN_OFF = "written_off"
    OVERDUE = "overdue"  # past its due date and still owing: `days_overdue` days
    OPEN_BILL = "open_bill"  # 出账: billed (see open_bill), not yet due
    PARTLY_PAID = "partly_paid"  # not billed yet, part already paid ahead
    FUTURE = "future"


@dataclass(frozen=True)
class InstalmentRow:
    """One instalment as the borrower reads it: due, paid and outstanding per component. The
    penalty an overdue instalment would carry if paid today counts as due already."""

    instalment: object
    state: str
    days_overdue: int
    partly_paid: bool  # something paid, something still owed
    principal_due: Decimal
    interest_due: Decimal
    penalty_due: Decimal
    fee_due: Decimal
    total_due: Decimal
    total_paid: Decimal
    principal_outstanding: Decimal
    interest_outstanding: Decimal
    penalty_outstanding: Decimal
    fee_outstanding: Decimal
    total_outstanding: Decimal


_CLOSED_STATES = {
    Instalment.Status.SETTLED: InstalmentState.SETTLED,
    Instalment.Status.WRITTEN_OFF: InstalmentState.WRITTEN_OFF,
}


def instalment_rows(*, loan, instalments: list, on: date) -> list[InstalmentRow]:
    """The schedule with a state per instalment, from instalments already loaded: no query."""
    bill = (
        open_bill(loan=loan, instalments=instalments, on=on)
        if loan.status == Loan.Status.ACTIVE
        else None
    )
    rows = []
    for inst in instalments:
        owes = _owes(inst)
        projected = _projected_penalty(loan, inst, on) if owes and inst.due_date < on else 0
        if inst.status in _CLOSED_STATES:
            state = _CLOSED_STATES[inst.status]
        elif not owes:
            state = InstalmentState.PAID
        elif inst.due_date < on:
            state = InstalmentState.OVERDUE
        elif inst is bill:
            state = InstalmentState.OPEN_BILL
        elif inst.total_paid > 0:
            state = InstalmentState.PARTLY_PAID
        else:
            state = InstalmentState.FUTURE
        penalty_due = inst.penalty_due + projected
        rows.append(
            InstalmentRow(
                instalment=inst,
                state=state,
                days_overdue=(on - inst.due_date).days if state == InstalmentState.OVERDUE else 0,
                partly_paid=owes and inst.total_paid > 0,
                principal_due=inst.principal_due,
                interest_due=inst.interest_due,
                penalty_due=penalty_due,
                fee_due=inst.fee_due,
                total_due=inst.total_due + projected,
                total_paid=inst.total_paid,
                principal_outstanding=inst.principal_outstanding if owes else ZERO,
                interest_outstanding=inst.interest_outstanding if owes else ZERO,
                penalty_outstanding=penalty_due - inst.penalty_paid if owes else ZERO,
                fee_outstanding=inst.fee_outstanding if owes else ZERO,
                total_outstanding=inst.total_outstanding + projected if owes else ZERO,
            )
        )
    return rows


@dataclass(frozen=True)
class LoanStanding:
    """The loan's own status for the borrower: settled, written off, current or overdue."""

    state: str  # "current", "overdue", or the loan's closed status ("settled", "written_off")
    days_past_due: int
    bucket: str  # loans.delinquency bucket of days_past_due

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


def loan_standing(*, loan, instalments: list, on: date) -> LoanStanding:
    """Days past due counted from the instalments on `on` (DESIGN §4: business date − due date
    of the oldest unpaid instalment), not read from `Loan.days_past_due`: that is the last end
    of day's figure and still says overdue after a payment today cured the loan."""
    if loan.status != Loan.Status.ACTIVE:
        return LoanStanding(state=loan.status, days_past_due=0, bucket=delinquency.CURRENT)
    unpaid = [i.due_date for i in instalments if _owes(i) and i.due_date < on]
    dpd = (on - min(unpaid)).days if unpaid else 0
    return LoanStanding(
        state="overdue" if dpd else "current", days_past_due=dpd, bucket=delinquency.bucket_for(dpd)
    )


@dataclass(frozen=True)
class NextBill:
    """The next instalment due on or after a date, and what it still owes (what it covers)."""

    instalment: object
    due_date: date
    amount: Decimal
    principal: Decimal
    interest: Decimal  # fees included
    penalty: Decimal
    billed: bool  # its bill is open already
    bill_opens: date


def next_bill(*, loan, instalments: list, on: date) -> NextBill | None:
    if loan.status != Loan.Status.ACTIVE:
        return None
    upcoming = [i for i in instalments if i.due_date >= on and _owes(i)]
    if not upcoming:
        return None
    inst = upcoming[0]
    return NextBill(
        instalment=inst,
        due_date=inst.due_date,
        amount=inst.total_outstanding,
        principal=inst.principal_outstanding,
        interest=inst.interest_outstanding + inst.fee_outstanding,
        penalty=inst.penalty_outstanding,
        billed=(inst.due_date - on).days <= loan.bill_days,
        bill_opens=inst.due_date - timedelta(days=loan.bill_days),
    )


@dataclass(frozen=True)
class LoanSummary:
    loan: object
    instalments: list
    standing: LoanStanding
    figures: RepaymentFigures
    next_bill: NextBill | None


def summarise_loan(*, loan, instalments: list, on: date) -> LoanSummary:
    return LoanSummary(
        loan=loan,
        instalments=instalments,
        standing=loan_standing(loan=loan, instalments=instalments, on=on),
        figures=figures_for(loan=loan, instalments=instalments, on=on),
        next_bill=next_bill(loan=loan, instalments=instalments, on=on),
    )
