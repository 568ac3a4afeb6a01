"""The demo's day of collections work, done through the services staff use: calls (allowed,
and blocked by the contact window, a complaint, a hardship plan, a written-only request),
promises kept, due and broken, a complaint, hardship plans approved and waiting, home visits
approved (with the notice SMS) and waiting, an escalation, a settled case."""

from datetime import date, time, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError

from loans.services import repayments, restructuring

from .. import guard
from ..models import Channel, Collector, ContactRestriction
from ..promises import evaluate_promises
from ..services import cases as case_services
from ..services import complaints as complaint_services
from ..services import contacts as contact_services
from ..services import hardship as hardship_services
from ..services import visits as visit_services
from ..sync import sync_cases
from .demo import at, case_of


class Notes:
    """What happened, for the command to print: some steps depend on the hour (the guard's
    contact window) and are skipped, saying why, outside it."""

    def __init__(self):
        self.lines: list[str] = []

    def attempt(self, label: str, call):
        try:
            return call()
        except (ValidationError, PermissionDenied) as exc:
            text = " ".join(getattr(exc, "messages", None) or [str(exc)])
            self.lines.append(f"  {label}: not done ({text})")
            return None


def work(*, today: date, users: dict) -> list[str]:
    """Take each case where its key says, through the services."""
    notes = Notes()
    collector, collector2 = users["collector"], users["collector2"]
    boss, service = users["supervisor"], users["service"]
    yesterday = today - timedelta(days=1)

    # Yesterday's calls (dated through the guard's own entry point), one outside the window.
    worked = case_of("worked")
    for hour, minute in [(10, 5), (15, 40), (22, 15)]:
        attempt, decision = guard.attempt(
            borrower=worked.borrower,
            channel=Channel.CALL,
            staff=collector,
            at=at(yesterday, hour, minute),
            case=worked,
        )
        if decision.allowed:
            notes.attempt(
                "outcome",
                lambda a=attempt: contact_services.record_call_outcome(
                    attempt=a, outcome="no_answer", staff=collector
                ),
            )
    # A kept promise last week, then a payment towards it.
    notes.attempt(
        "kept promise",
        lambda: case_services.make_promise(
            case=worked,
            amount=Decimal("300.00"),
            promised_on=today - timedelta(days=4),
            staff=collector,
            today=today - timedelta(days=7),
        ),
    )
    repayments.post_repayment(
        loan=worked.loan,
        amount=Decimal("300.00"),
        channel="wechat_pay",
        external_id=f"DEMO-COLL-{worked.loan_id}-1",
        value_date=today - timedelta(days=5),
    )
    notes.attempt(
        "in progress",
        lambda: case_services.set_status(
            case=worked, status="in_progress", staff=collector, text="已联系，借款人称月底还款"
        ),
    )
    notes.attempt(
        "visit request",
        lambda: visit_services.request_visit(
            case=worked,
            staff=collector,
            visit_date=today + timedelta(days=5),
            window_start=time(10),
            window_end=time(12),
            visitor=Collector.objects.get(user=collector),
            purpose="电话多次未接通，上门沟通还款安排",
        ),
    )

    for key, made_ago, promised_ago, amount in [
        ("promise_due", 4, 0, "500.00"),
        ("broken", 6, 2, "800.00"),
    ]:
        case = case_of(key)
        notes.attempt(
            f"promise ({key})",
            lambda c=case, m=made_ago, p=promised_ago, a=amount: case_services.make_promise(
                case=c,
                amount=Decimal(a),
                promised_on=today - timedelta(days=p),
                staff=c.assigned_to.user if c.assigned_to else boss,
                today=today - timedelta(days=m),
            ),
        )
    evaluate_promises(business_date=today)  # the one dated two days ago is broken

    # Today's call on the "promise" case: allowed in the contact window, blocked outside it.
    promised = case_of("promise")
    called = notes.attempt(
        "call", lambda: contact_services.call_borrower(case=promised, staff=collector)
    )
    if called and called[1].allowed:
        notes.attempt(
            "promise by phone",
            lambda: contact_services.record_call_outcome(
                attempt=called[0],
                outcome="promise",
                staff=collector,
                note="借款人承诺周五前还款",
                promise_amount=Decimal("600.00"),
                promise_date=today + timedelta(days=4),
            ),
        )
    notes.attempt(
        "reminder SMS",
        lambda: contact_services.send_collection_sms(
            case=promised, staff=collector, template_code="collection_reminder"
        ),
    )

    complained = case_of("complaint")
    notes.attempt(
        "complaint",
        lambda: complaint_services.register_complaint(
            borrower=complained.borrower,
            kind="complaint",
            category="conduct",
            description="催收员一天打了很多次电话，语气很差。",
            source="staff",
            staff=service,
            case=complained,
        ),
    )
    # Blocked whatever the hour: the complaint pauses contact.
    notes.attempt(
        "call on a paused case",
        lambda: contact_services.call_borrower(case=complained, staff=collector),
    )

    # Waiving the penalty and stopping interest leaves the loan overdue, so its case stays
    # open "on a hardship plan" (an extension would cure it and close the case).
    plan_case = case_of("plan")
    plan = notes.attempt(
        "hardship plan",
        lambda: hardship_services.propose_plan(
            loan=plan_case.loan,
            penalty_waiver=restructuring.penalty_owed(loan=plan_case.loan) or None,
            stop_interest=True,
            reason="借款人失业三个月，下月入职，申请减免罚息并停息挂账。",
            staff=plan_case.assigned_to.user if plan_case.assigned_to else collector2,
        ),
    )
    if plan is not None:
        notes.attempt(
            "plan approval",
            lambda: hardship_services.decide_plan(
                plan=plan, staff=boss, approve=True, note="收入证明已核实"
            ),
        )
    notes.attempt(
        "call during a hardship plan",
        lambda: contact_services.call_borrower(case=plan_case, staff=boss),
    )
    asked = case_of("plan_asked")
    notes.attempt(
        "hardship request",
        lambda: hardship_services.propose_plan(
            loan=asked.loan,
            extension_days=60,
            reason="家人住院，申请所有还款日顺延60天。",
            staff=asked.assigned_to.user if asked.assigned_to else collector2,
        ),
    )

    visited = case_of("visit")
    visit = notes.attempt(
        "visit",
        lambda: visit_services.request_visit(
            case=visited,
            staff=collector2,
            visit_date=today + timedelta(days=4),
            window_start=time(14),
            window_end=time(16),
            visitor=Collector.objects.get(user=collector2),
            purpose="核实居住地址，当面沟通还款方案",
        ),
    )
    if visit is not None:
        notes.attempt(
            "visit approval (notice SMS)",
            lambda: visit_services.decide_visit(visit=visit, staff=boss, approve=True),
        )

    escalated = case_of("escalated")
    notes.attempt(
        "escalate",
        lambda: case_services.escalate(
            case=escalated, staff=collector2, text="失联超过30天，提交主管评估"
        ),
    )
    contact_services.restrict_contact(
        borrower=escalated.borrower,
        scope=ContactRestriction.Scope.WRITTEN_ONLY,
        staff=collector2,
        reason="借款人要求仅以书面方式联系",
    )
    notes.attempt(
        "SMS after written-only request",
        lambda: contact_services.send_collection_sms(
            case=escalated, staff=collector2, template_code="collection_call_back"
        ),
    )

    settled = case_of("settled")
    payoff = case_services.owed_now(loan=settled.loan, on=today)
    repayments.post_repayment(
        loan=settled.loan,
        amount=payoff,
        channel="alipay",
        external_id=f"DEMO-COLL-{settled.loan_id}-settle",
        value_date=today,
    )
    sync_cases(business_date=today)  # the settled loan's case closes
    return notes.lines
