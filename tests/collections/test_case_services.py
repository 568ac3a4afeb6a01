"""What staff do to a case: a promise within its limits, internal notes, status changes and
escalation on the timeline, supervisors' bulk reassignment, the pause and resume that
complaints apply; only the case's own collector or a supervisor may act on it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from debt_collection.models import CaseEvent, CaseStatus, CollectionCase, PromiseToPay
from debt_collection.models.promises import MAX_PROMISE_DAYS
from debt_collection.services import cases
from loans import selectors
from loans.models import AuditEvent

from .casework import DUE, at, collector, days, eod, loan, pay, supervisor

pytestmark = pytest.mark.django_db
TODAY = DUE + days(2)
Kind = CaseEvent.Kind


@pytest.fixture
def worker():
    return collector("M1")


@pytest.fixture
def case(worker):
    first = loan()
    eod(TODAY)
    case = CollectionCase.objects.get(loan=first)
    assert case.assigned_to == worker
    return case


def promise(case, worker, amount="500.00", on=None):
    """`worker` is a collector, or the member of staff themselves; by default a week ahead."""
    staff = getattr(worker, "user", worker)
    on = on or TODAY + days(7)
    with at(TODAY):
        return cases.make_promise(case=case, amount=Decimal(amount), promised_on=on, staff=staff)


def test_a_promise_moves_the_case_and_sets_its_next_action(case, worker):
    p = promise(case, worker)
    assert (p.status, p.made_on, p.made_by, p.paid) == ("open", TODAY, worker.user, 0)
    case.refresh_from_db()
    assert (case.status, case.next_action_on) == (CaseStatus.PROMISE_TO_PAY, TODAY + days(7))
    assert not case.events.filter(kind=Kind.STATUS).exists()  # the promise row is the entry


@pytest.mark.parametrize(
    "amount, on, field",
    [
        ("0.00", 7, "amount"),
        ("10.001", 7, "amount"),
        ("500.00", -1, "promised_on"),
        ("500.00", MAX_PROMISE_DAYS + 1, "promised_on"),
    ],
)
def test_a_promise_outside_its_limits_is_refused(case, worker, amount, on, field):
    with pytest.raises(ValidationError) as refused:
        promise(case, worker, amount=amount, on=TODAY + timedelta(days=on))
    assert field in refused.value.message_dict
    assert not PromiseToPay.objects.exists()


def test_a_promise_up_to_what_the_loan_owes_today(case, worker):
    with at(TODAY):
        owed = selectors.payoff_amount(loan=case.loan, on=TODAY)
    with pytest.raises(ValidationError, match="more than this loan owes"):
        promise(case, worker, amount=owed + Decimal("0.01"), on=TODAY + days(MAX_PROMISE_DAYS))
    assert promise(case, worker, amount=owed, on=TODAY + days(MAX_PROMISE_DAYS)).amount == owed


def test_one_open_promise_per_case_and_none_on_a_closed_case(case, worker):
    promise(case, worker)
    with pytest.raises(ValidationError, match="already has an open promise"):
        promise(case, worker, amount="100.00")
    CollectionCase.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED, closed_on=TODAY)
    with pytest.raises(ValidationError, match="closed"):
        promise(case, worker, amount="100.00")


def test_money_received_on_the_promise_day_counts_towards_it(case, worker):
    pay(case.loan, "200.00", TODAY)
    p = promise(case, worker, amount="200.00")
    assert (p.status, p.paid, p.resolved_on) == ("kept", Decimal("200.00"), TODAY)


def test_another_collector_cannot_touch_the_case_but_a_supervisor_can(case, worker):
    stranger = collector("M1")
    for act in (
        lambda who: promise(case, who, amount="10.00"),
        lambda who: cases.add_note(case=case, staff=who, text="x"),
        lambda who: cases.escalate(case=case, staff=who, text="x"),
        lambda who: cases.set_status(case=case, staff=who, status=CaseStatus.IN_PROGRESS),
    ):
        with pytest.raises(PermissionDenied):
            act(stranger.user)
    assert not case.events.exclude(kind__in=[Kind.OPENED, Kind.ASSIGNED]).exists()
    boss = supervisor()
    note = cases.add_note(case=case, staff=boss, text="  checked the file  ")
    assert (note.kind, note.actor, note.text) == (Kind.NOTE, boss, "checked the file")


@pytest.mark.parametrize("text", ["", "   ", "a\x00b", "x" * (cases.MAX_NOTE_LENGTH + 1)])
def test_a_note_must_say_something_storable(case, worker, text):
    with pytest.raises(ValidationError):
        cases.add_note(case=case, staff=worker.user, text=text)


def test_status_changes_and_escalation_are_on_the_timeline(case, worker):
    cases.set_status(case=case, status=CaseStatus.IN_PROGRESS, staff=worker.user, text="called")
    cases.set_status(case=case, status=CaseStatus.IN_PROGRESS, staff=worker.user)  # no change
    cases.escalate(case=case, staff=worker.user, text="refuses to engage")
    case.refresh_from_db()
    assert case.status == CaseStatus.ESCALATED
    entries = list(
        case.events.exclude(kind__in=[Kind.OPENED, Kind.ASSIGNED]).values_list(
            "kind", "status", "text", "actor"
        )
    )
    assert entries == [
        (Kind.STATUS, CaseStatus.IN_PROGRESS, "called", worker.user.pk),
        (Kind.ESCALATED, CaseStatus.ESCALATED, "refuses to engage", worker.user.pk),
    ]
    with pytest.raises(ValidationError, match="closes by itself"):
        cases.set_status(case=case, status=CaseStatus.CLOSED, staff=worker.user)
    with pytest.raises(ValidationError):
        cases.set_status(case=case, status="nonsense", staff=worker.user)
    with pytest.raises(ValidationError):
        cases.escalate(case=case, staff=worker.user, text=" ")


def test_a_supervisor_reassigns_in_bulk_but_not_to_a_collector_on_leave(case, worker):
    second = loan()
    eod(TODAY + days(1))
    both = CollectionCase.objects.open()
    assert both.count() == 2
    target, away = collector("M1"), collector("M1", on_leave=True)
    with pytest.raises(PermissionDenied):
        cases.reassign_cases(cases=both, collector=target, staff=worker.user)
    boss = supervisor()
    with pytest.raises(ValidationError, match="on leave"):
        cases.reassign_cases(cases=both, collector=away, staff=boss)
    assert cases.reassign_cases(cases=both, collector=target, staff=boss) == 2
    assert cases.reassign_cases(cases=list(both), collector=target, staff=boss) == 0
    # On the audit trail once: the move that happened, by whom; the refusals left nothing.
    [event] = AuditEvent.objects.filter(action="case.reassign")
    assert event.actor == boss and sorted(event.after["cases"]) == sorted(c.pk for c in both)
    assert set(both.values_list("assigned_to", flat=True)) == {target.pk}
    moved = CaseEvent.objects.filter(kind=Kind.ASSIGNED, actor=boss)
    assert sorted(moved.values_list("case__loan", "collector")) == sorted(
        [(case.loan_id, target.pk), (second.pk, target.pk)]
    )


def test_pause_and_resume_every_open_case_of_the_borrower(case):
    borrower = case.borrower
    assert cases.pause_cases(borrower=borrower, reason_text="complaint C-1") == 1
    assert cases.pause_cases(borrower=borrower, reason_text="second complaint") == 0
    case.refresh_from_db()
    assert case.status == CaseStatus.PAUSED
    assert cases.resume_cases(borrower=borrower) == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS
    assert list(case.events.filter(kind=Kind.STATUS).values_list("status", "text")) == [
        (CaseStatus.PAUSED, "complaint C-1"),
        (CaseStatus.IN_PROGRESS, ""),
    ]
