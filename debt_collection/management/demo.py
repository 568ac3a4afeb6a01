"""Demo collections for `make run`: overdue borrowers whose cases, between them, are in every
status, worked through the same services staff use, so that the `collector`, `collector2` and
`supervisor` logins each find a day's work. Dated relative to today."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from stdnum import luhn

from loans import demo as loans_demo
from loans.demo_loans import create_products
from loans.models import Borrower, BusinessDay
from loans.models.borrowers import id_number_index
from loans.roles import COLLECTOR
from loans.services import borrowers as borrower_services
from loans.services import cards, credit, lending
from loans.services.end_of_day import run_end_of_day
from notifications.reminders import queue_reminders

from ..models import CollectionCase, Collector, Complaint

# (login, staff number, queue). `collector` and `supervisor` come from loans' demo staff.
COLLECTORS = [("collector", "C1001", "M1"), ("collector2", "C1002", "M2")]
EXTRA_STAFF = [("collector2", COLLECTOR)]
# On a fresh database end of day starts this many days back, so cases have a history.
HISTORY_DAYS = 10


@dataclass(frozen=True)
class DemoCase:
    key: str  # what the demo does with the case (see `work`)
    name: str
    region: str
    birth: date
    sequence: str
    mobile: str
    dpd: int  # days past due today (the first instalment's due date is today − dpd)
    amount: str = "6000"


CASES = [
    DemoCase("new", "钱伟", "110105", date(1989, 4, 2), "311", "13811001001", 5),
    DemoCase("promise_due", "孙丽", "310104", date(1993, 7, 9), "402", "13811001002", 9),
    DemoCase("broken", "周杰", "440106", date(1987, 2, 17), "513", "13811001003", 12),
    DemoCase("worked", "吴敏", "320106", date(1991, 10, 21), "624", "13811001004", 14),
    DemoCase("promise", "郑爽", "330102", date(1995, 3, 5), "736", "13811001005", 7),
    DemoCase("complaint", "冯刚", "420106", date(1984, 12, 12), "847", "13811001006", 20),
    DemoCase("plan", "陈红", "510107", date(1990, 6, 30), "958", "13811001007", 35),
    DemoCase("plan_asked", "褚明", "370102", date(1986, 9, 14), "161", "13811001008", 40),
    DemoCase("visit", "卫东", "210102", date(1982, 1, 25), "273", "13811001009", 45),
    DemoCase("escalated", "蒋华", "500103", date(1988, 8, 8), "385", "13811001010", 50),
    DemoCase("settled", "沈洁", "350102", date(1994, 5, 19), "496", "13811001011", 25),
    DemoCase("unassigned", "韩梅", "230103", date(1985, 11, 11), "508", "13811001012", 70),
]


def id_number(spec: DemoCase) -> str:
    return loans_demo.make_id_number(spec.region, spec.birth, spec.sequence)


def _borrower(spec: DemoCase) -> Borrower | None:
    return Borrower.objects.filter(id_number_index=id_number_index(id_number(spec))).first()


def worked_already() -> bool:
    """The demo's work is done once (its complaint is its mark)."""
    borrower = _borrower(next(s for s in CASES if s.key == "complaint"))
    return borrower is not None and Complaint.objects.filter(borrower=borrower).exists()


def cases_open() -> bool:
    """Whether end of day has opened the demo loans' cases yet (not when it had already run
    today before the loans were made: then they open after tonight's)."""
    return all(
        CollectionCase.objects.filter(borrower=b).exists()
        for b in (_borrower(s) for s in CASES)
        if b is not None
    )


def staff() -> dict:
    """The demo logins the collections demo uses, with collector profiles for the collectors."""
    User = get_user_model()
    for username, group in EXTRA_STAFF:
        user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        if created:
            user.set_password(loans_demo.DEMO_PASSWORD)
            user.save()
        user.groups.add(Group.objects.get(name=group))
    for username, number, queue in COLLECTORS:
        user = User.objects.get(username=username)
        if not user.first_name:
            user.first_name, user.last_name = ("伟", "李") if number == "C1001" else ("强", "王")
            user.save(update_fields=["first_name", "last_name"])
        Collector.objects.get_or_create(
            user=user, defaults={"staff_number": number, "queue": queue}
        )
    return {u.username: u for u in User.objects.filter(username__in=_logins())}


def _logins() -> list[str]:
    return ["admin", "service", "supervisor", *(username for username, *_ in COLLECTORS)]


def _drawn_for(due: date) -> date:
    """The drawdown whose first instalment falls due on `due` (repayment day ≤ 28th)."""
    due = due - timedelta(days=max(0, due.day - 28))
    month = due.year * 12 + due.month - 2
    return date(month // 12, month % 12 + 1, due.day)


def create_loans(*, today: date) -> int:
    """One borrower and one unpaid loan per demo case."""
    product = create_products()["weilidai-short"]
    made = 0
    for spec in CASES:
        if _borrower(spec) is not None:
            continue
        drawn = _drawn_for(today - timedelta(days=spec.dpd))
        borrower = borrower_services.register_borrower(
            name=spec.name,
            id_number=id_number(spec),
            mobile=spec.mobile,
            monthly_income=Decimal("12000"),
            monthly_debt_payments=Decimal("1000"),
            employer="深圳市腾达科技有限公司",
            occupation="职员",
            id_expiry_date=date(2035, 1, 1),
            account_activity_score=75,
            consents=("data_processing", "credit_query"),
            consent_at=timezone.make_aware(datetime.combine(drawn, time(9))),
        )
        # Written by staff in the borrower's page (no service owns it): what a visit needs.
        borrower.address = f"贵州省贵阳市云岩区中华北路{100 + made}号"
        borrower.save(update_fields=["address"])
        borrower_services.record_credit_report(
            borrower=borrower, current_overdue_accounts=0, worst_dpd_24m=0, inquiries_3m=1
        )
        credit.assess_credit(borrower=borrower, as_of=drawn)
        body = f"6222021{borrower.pk:011d}"
        cards.bind_bank_card(
            borrower=borrower,
            bank_name="招商银行",
            card_number=body + luhn.calc_check_digit(body),
            token=f"demo-collections-card-{borrower.pk}",
        )
        application = lending.apply_for_loan(
            borrower=borrower,
            product=product,
            amount=Decimal(spec.amount),
            term=5,
            method="equal_instalment",
            as_of=drawn,
        )
        lending.sign_and_disburse(
            contract=application.contract,
            ip_address="127.0.0.1",
            user_agent="demo data",
            on=drawn,
        )
        made += 1
    return made


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def case_of(key: str) -> CollectionCase:
    """The open case of the demo borrower for `key`."""
    borrower = _borrower(next(s for s in CASES if s.key == key))
    return CollectionCase.objects.open().select_related("loan", "borrower").get(borrower=borrower)


def catch_up(*, today: date) -> int:
    """End of day (each date followed by the case sync) and the morning's reminders, day by
    day up to today, as the schedules would have run them. On a database that has never run
    end of day it starts HISTORY_DAYS back, so cases open on the days their loans fell
    overdue and the automated overdue SMS of those days are in the outbox and the contact log.
    Returns the number of dates run."""
    last = BusinessDay.objects.order_by("-business_date").first()
    day = last.business_date + timedelta(days=1) if last else today - timedelta(HISTORY_DAYS)
    done = 0
    while day <= today:
        run_end_of_day(through=day)
        queue_reminders(business_date=day, now=at(day, 0, 30))
        day += timedelta(days=1)
        done += 1
    return done
