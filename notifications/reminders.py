"""Who gets which reminder on a business date: one query per reminder kind, rendered in
Python (templates are staff-editable), inserted in bulk. Dedupe keys make every step
exactly-once, however often the selection runs and however many clusters run it.

Each text is in its borrower's language; the T−3 and T−1 reminders skip borrowers who turned
them off, the due-date reminder and every overdue or legally required notice never do.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Min, Q, Sum, TextField, Value
from django.db.models.expressions import DatabaseDefault
from django.db.models.functions import Cast
from django.utils import timezone

from loans.models import Instalment, Loan

from .models import CadenceStep, Purpose, SmsMessage, SmsTemplate
from .policy import collection_policy
from .services import collection_sms_left, compose, verification_codes
from .texts import CHINESE, Stencil
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


def _queued_keys(keys: list[str]) -> set[str]:
    """Those of `keys` already in the outbox."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT dedupe_key FROM notifications_smsmessage WHERE dedupe_key = ANY(%s)",
                [keys],
            )
            return {k for (k,) in cursor.fetchall()}
    existing = set()
    for i in range(0, len(keys), INSERT_BATCH):
        batch = keys[i : i + INSERT_BATCH]
        existing |= set(
            SmsMessage.objects.filter(dedupe_key__in=batch).values_list("dedupe_key", flat=True)
        )
    return existing


# Set per message; every other column takes the same value for the whole batch.
PER_MESSAGE = ("borrower_id", "phone", "phone_index", "text", "dedupe_key", "verification_code")


def _insert(rows: list[tuple], **common) -> int:
    """Insert outbox rows (PER_MESSAGE values, in that order), skipping any dedupe key queued
    meanwhile. PostgreSQL: COPY of the per-message columns into a scratch table, then one
    INSERT … SELECT … ON CONFLICT adding the columns the batch shares."""
    if connection.vendor != "postgresql":
        messages = [SmsMessage(**common, **dict(zip(PER_MESSAGE, r, strict=True))) for r in rows]
        SmsMessage.objects.bulk_create(messages, batch_size=INSERT_BATCH, ignore_conflicts=True)
        return len(messages)
    prototype = SmsMessage(**common)
    shared, values = [], []
    for f in SmsMessage._meta.concrete_fields:
        value = None if f.primary_key else f.pre_save(prototype, True)
        # A column left to its database default is left out.
        if f.primary_key or f.attname in PER_MESSAGE or isinstance(value, DatabaseDefault):
            continue
        shared.append(f)
        values.append(f.get_db_prep_save(value, connection))
    own = ", ".join(f'"{SmsMessage._meta.get_field(n).column}"' for n in PER_MESSAGE)
    columns = ", ".join(f'"{f.column}"' for f in shared)
    placeholders = ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in shared)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE sms_incoming ON COMMIT DROP AS"
            f" SELECT {own} FROM notifications_smsmessage WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY sms_incoming ({own}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO notifications_smsmessage ({columns}, {own})"
            f" SELECT {placeholders}, {own} FROM sms_incoming ON CONFLICT (dedupe_key) DO NOTHING",
            values,
        )
        inserted = cursor.rowcount
        cursor.execute("DROP TABLE sms_incoming")
    return inserted


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
    existing = _queued_keys([d.dedupe_key for d in drafts])
    drafts = [d for d in drafts if d.dedupe_key not in existing]
    if collection:
        drafts, _refused = collection_policy().filter_batch(
            drafts, send_after, template_code=template_code
        )
        left = collection_sms_left({d.borrower_id for d in drafts}, send_after=send_after)
    common = SmsTemplate.common_context()
    stencils = {}
    rows = []
    codes = iter(verification_codes(len(drafts)))
    for d in drafts:
        if collection:
            if left[d.borrower_id] <= 0:
                continue
            left[d.borrower_id] -= 1
        if d.language not in stencils:
            stencils[d.language] = Stencil(template, d.language)
        code = next(codes)
        body = stencils[d.language].render({**common, **d.context})
        text = compose(body, code, language=d.language)
        rows.append((d.borrower_id, d.phone_token, d.phone_index, text, d.dedupe_key, code))
    if not rows:
        return 0
    return _insert(
        rows,
        template=template_code,
        purpose=template.purpose,
        send_after=send_after,
        obeys_quiet_hours=True,
    )


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
