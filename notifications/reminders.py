"""Who gets which reminder on a business date: one query per reminder kind, rendered in
Python (templates are staff-editable), inserted in bulk. Dedupe keys make every step
exactly-once, however often the selection runs and however many clusters run it.

Each text is in its borrower's language; the T−3 and T−1 reminders skip borrowers who turned
them off, the due-date reminder and every overdue or legally required notice never do.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import F, Min, Q, Sum, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from loans.fields import Ciphertext
from loans.models import Instalment, Loan

from .models import CadenceStep, Purpose, SmsMessage, SmsTemplate
from .policy import collection_policy
from .services import collection_sms_left, compose, verification_code
from .texts import CHINESE
from .timing import next_send_time

INSERT_BATCH = 5000
# A loan's overdue instalments, seen from the loan.
OVERDUE_INSTALMENTS = Q(instalments__status=Instalment.Status.OVERDUE)


@dataclass
class Draft:
    borrower_id: int
    phone_token: str
    phone_index: str
    dedupe_key: str
    context: dict
    # The loan an overdue notice is about (the collection policy pauses per loan too).
    loan_id: int | None = None
    # The borrower's language (loans.models.Language): the template variant and footer.
    language: str = CHINESE


def _phone_columns(path: str) -> dict:
    # The ciphertext is copied as it is (Cast to plain text skips decryption): no phone
    # number is ever decrypted to queue a reminder.
    return {
        "phone_token": Cast(F(f"{path}mobile"), TextField()),
        "phone_index": F(f"{path}mobile_index"),
    }


def due_drafts(step: CadenceStep, business_date: date) -> list[Draft]:
    """The reminders of one due step. Before the due date (T−3, T−1) only to borrowers who
    want them (`Borrower.early_reminders`, a filter in the query); the due-date one (T) to
    everyone, whatever they chose."""
    due_date = business_date - timedelta(days=step.offset_days)
    rows = Instalment.objects.open().filter(due_date=due_date, loan__status=Loan.Status.ACTIVE)
    if step.offset_days < 0:
        rows = rows.filter(loan__borrower__early_reminders=True)
    rows = (
        rows.order_by()  # no sort: the order does not matter and costs a second at a million
        .with_outstanding("amount")
        .annotate(**_phone_columns("loan__borrower__"))
        .values(
            "id",
            "number",
            "due_date",
            "amount",
            "loan__term",
            "loan__borrower_id",
            "loan__borrower__language",
            "loan__borrower__auto_debit",
            "phone_token",
            "phone_index",
        )
    )
    return [
        Draft(
            borrower_id=r["loan__borrower_id"],
            phone_token=r["phone_token"],
            phone_index=r["phone_index"],
            dedupe_key=f"due-reminder:{r['id']}:T{step.offset_days:+d}",
            context={
                "instalment_number": r["number"],
                "term": r["loan__term"],
                "amount": f"{r['amount']:.2f}",
                "due_date": r["due_date"].isoformat(),
                "days": -step.offset_days,
                # Off: the text says to pay, not to keep money on the card for the debit.
                "auto_debit": r["loan__borrower__auto_debit"],
            },
            language=r["loan__borrower__language"],
        )
        for r in rows
        if r["amount"] > 0
    ]


def _overdue_days_condition(steps: list[CadenceStep]):
    """DPD values that fire: each fixed step, then every N days after a repeating one."""
    fixed = [s.offset_days for s in steps]
    condition = Q(dpd__in=fixed)
    for s in steps:
        if s.repeat_every_days:
            condition |= Q(dpd__gt=s.offset_days, dpd_mod=s.offset_days % s.repeat_every_days)
    return condition


def overdue_drafts(steps: list[CadenceStep], business_date: date) -> list[Draft]:
    """One notice per overdue loan on a cadence day, carrying the loan's whole overdue
    amount split into principal, interest and penalty. Every overdue borrower gets it,
    whatever they chose about early reminders: the law requires it."""
    if not steps:
        return []
    repeat = next((s.repeat_every_days for s in steps if s.repeat_every_days), None)
    loans = (
        Loan.objects.filter(status=Loan.Status.ACTIVE, days_past_due__gt=0)
        .order_by()
        .annotate(
            dpd=F("days_past_due"),
            dpd_mod=(F("days_past_due") % repeat) if repeat else Value(-1),
        )
        .filter(_overdue_days_condition(steps))
        .annotate(
            oldest=Min("instalments__id", filter=OVERDUE_INSTALMENTS),
            overdue_since=Min("instalments__due_date", filter=OVERDUE_INSTALMENTS),
            overdue_principal=Sum(
                F("instalments__principal_due") - F("instalments__principal_paid"),
                filter=OVERDUE_INSTALMENTS,
            ),
            overdue_interest=Sum(
                F("instalments__interest_due") - F("instalments__interest_paid"),
                filter=OVERDUE_INSTALMENTS,
            ),
            overdue_penalty=Sum(
                F("instalments__penalty_due") - F("instalments__penalty_paid"),
                filter=OVERDUE_INSTALMENTS,
            ),
            **_phone_columns("borrower__"),
        )
        .values(
            "id",
            "borrower_id",
            "dpd",
            "grace_days",
            "oldest",
            "overdue_since",
            "overdue_principal",
            "overdue_interest",
            "overdue_penalty",
            "borrower__language",
            "phone_token",
            "phone_index",
        )
    )
    drafts = []
    for r in loans:
        if r["oldest"] is None:
            continue
        principal, interest, penalty = (
            r[f"overdue_{k}"] or 0 for k in ("principal", "interest", "penalty")
        )
        pay_by = max(r["overdue_since"] + timedelta(days=r["grace_days"]), business_date)
        context = {
            "overdue_since": (r["overdue_since"] + timedelta(days=1)).isoformat(),
            "days_past_due": r["dpd"],
            "principal": f"{principal:.2f}",
            "interest": f"{interest:.2f}",
            "penalty": f"{penalty:.2f}",
            "total": f"{principal + interest + penalty:.2f}",
            "pay_by": pay_by.isoformat(),
        }
        drafts.append(
            Draft(
                borrower_id=r["borrower_id"],
                phone_token=r["phone_token"],
                phone_index=r["phone_index"],
                dedupe_key=f"overdue:{r['oldest']}:T+{r['dpd']}",
                context=context,
                loan_id=r["id"],
                language=r["borrower__language"],
            )
        )
    return drafts


def pre_report_drafts(business_date: date) -> list[Draft]:
    """征信 (credit bureau) pre-report notice, Art. 15: the day a loan first falls overdue,
    at least a day before any report, what to pay and by when to keep it off the record."""
    drafts = []
    for d in overdue_drafts(
        [CadenceStep(kind=CadenceStep.Kind.OVERDUE, offset_days=1)], business_date
    ):
        d.dedupe_key = d.dedupe_key.replace("overdue:", "pre-report:").rsplit(":", 1)[0]
        drafts.append(d)
    return drafts


@transaction.atomic
def queue_drafts(template_code: str, drafts: list[Draft], *, now: datetime) -> int:
    """Render and insert, skipping keys already queued and borrowers at their daily cap.
    Collection messages pass the registered collection policy first, in the same transaction
    as the insert (it may log what it decided)."""
    template = SmsTemplate.objects.filter(code=template_code, is_active=True).first()
    if template is None or not drafts:
        return 0
    send_after = next_send_time(now)
    collection = template.purpose == Purpose.COLLECTION
    keys = [d.dedupe_key for d in drafts]
    existing = set()
    for i in range(0, len(keys), INSERT_BATCH):
        existing |= set(
            SmsMessage.objects.filter(dedupe_key__in=keys[i : i + INSERT_BATCH]).values_list(
                "dedupe_key", flat=True
            )
        )
    drafts = [d for d in drafts if d.dedupe_key not in existing]
    if collection:
        drafts, _refused = collection_policy().filter_batch(
            drafts, send_after, template_code=template_code
        )
        left = collection_sms_left({d.borrower_id for d in drafts}, send_after=send_after)
    common = SmsTemplate.common_context()
    rows = []
    for d in drafts:
        if collection:
            if left[d.borrower_id] <= 0:
                continue
            left[d.borrower_id] -= 1
        code = verification_code()
        rows.append(
            SmsMessage(
                borrower_id=d.borrower_id,
                phone=Ciphertext(d.phone_token),
                phone_index=d.phone_index,
                template=template_code,
                text=compose(
                    template.render({**common, **d.context}, language=d.language),
                    code,
                    language=d.language,
                ),
                purpose=template.purpose,
                dedupe_key=d.dedupe_key,
                verification_code=code,
                send_after=send_after,
                obeys_quiet_hours=True,
            )
        )
    SmsMessage.objects.bulk_create(rows, batch_size=INSERT_BATCH, ignore_conflicts=True)
    return len(rows)


def queue_reminders(*, business_date: date, now: datetime | None = None) -> dict[str, int]:
    """Queue every reminder the cadence asks for on `business_date`. Returns counts by kind."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    steps = list(CadenceStep.objects.filter(is_active=True))
    for step in (s for s in steps if s.kind == CadenceStep.Kind.DUE):
        counts[f"due T{step.offset_days:+d}"] = queue_drafts(
            "due_reminder", due_drafts(step, business_date), now=now
        )
    counts["pre-report notice"] = queue_drafts(
        "pre_report_notice", pre_report_drafts(business_date), now=now
    )
    overdue = [s for s in steps if s.kind == CadenceStep.Kind.OVERDUE]
    counts["overdue"] = queue_drafts(
        "overdue_notice", overdue_drafts(overdue, business_date), now=now
    )
    return counts
