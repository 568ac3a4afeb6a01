"""Queueing and sending SMS. Every message is an outbox row first; sending claims rows so two
workers never send the same one."""

import logging
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext

from loans.models import Borrower, Language
from loans.models.borrowers import mobile_index

from .backends import SendResult, get_backend
from .models import SmsMessage, SmsTemplate
from .policy import collection_policy
from .texts import (
    CARD_CODE_TEXTS,
    FOOTERS,
    LOGIN_CODE_TEXTS,
    REGISTRATION_CODE_TEXTS,
    in_language,
)
from .timing import in_send_window, next_send_time, retry_time

log = logging.getLogger(__name__)

# No 0/O or 1/I/L: people read these codes off a phone screen.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 5
MAX_ATTEMPTS = 5
# What the outbox shows in place of a one-time code (DESIGN §5: login codes are secrets).
SECRET_MASK = "******"
# A masked message that never went out within this time is failed: its code has expired and
# exists nowhere any more, so it can never be sent.
SECRET_SEND_DEADLINE = timedelta(minutes=5)


class CollectionCapReached(Exception):
    """The borrower has had every collection SMS allowed on that day
    (settings.SMS_COLLECTION_DAILY_CAP, DESIGN §5 and §6); nothing was queued."""

    def __init__(self, *, borrower_id: int, day: date, cap: int):
        self.borrower_id, self.day, self.cap = borrower_id, day, cap
        super().__init__(
            gettext(
                "A borrower gets at most %(cap)d collection SMS a day; this one has had them"
                " all for %(day)s."
            )
            % {"cap": cap, "day": day.isoformat()}
        )


def verification_code() -> str:
    return verification_codes(1)[0]


# Random bytes map onto the alphabet by their value modulo its length; bytes from the top
# (256 mod 31) values are dropped, or the first letters would come up more often.
_UNBIASED = 256 - 256 % len(CODE_ALPHABET)
_TO_ALPHABET = bytes(ord(CODE_ALPHABET[b % len(CODE_ALPHABET)]) for b in range(256))
_BIASED = bytes(range(_UNBIASED, 256))


def verification_codes(count: int) -> list[str]:
    """`count` verification codes, each character uniform over CODE_ALPHABET, from the
    operating system's random source in a few draws (a batch of reminders needs ~140,000)."""
    wanted = count * CODE_LENGTH
    chars = b""
    while len(chars) < wanted:
        raw = secrets.token_bytes(wanted - len(chars) + 16)
        chars += raw.translate(_TO_ALPHABET, _BIASED)
    text = chars[:wanted].decode("ascii")
    return [text[i : i + CODE_LENGTH] for i in range(0, wanted, CODE_LENGTH)]


def sms_language(borrower: Borrower | None) -> str:
    """The language of a text to `borrower`: theirs (DESIGN §5), Chinese for anyone who is
    not a borrower yet. The rest of this module says "en" or "zh-hans", nothing else."""
    if borrower is not None and borrower.language == Language.ENGLISH:
        return Language.ENGLISH.value
    return Language.CHINESE.value


def compose(body: str, code: str, *, language: str = Language.CHINESE.value) -> str:
    """Signature first, the verification code last (DESIGN §5), the code's footer in the
    language of the body."""
    return f"{settings.SMS_SIGNATURE}{body}{in_language(FOOTERS, language).format(code=code)}"


def queue_sms(
    *,
    borrower: Borrower | None,
    template: str,
    body: str,
    purpose: str,
    dedupe_key: str,
    send_after: datetime | None = None,
    obeys_quiet_hours: bool = True,
    secret_masked: bool = False,
    phone: str = "",
    language: str | None = None,
) -> SmsMessage | None:
    """Put one message in the outbox; None when a message with this dedupe key exists.
    A message that obeys quiet hours and is queued at night waits for the morning.
    `secret_masked`: `body` carries SECRET_MASK where the real text has a one-time code.
    `phone` only for a message to someone who is not a borrower yet (`borrower` None).
    `language`: the language `body` is written in (the footer follows it); the borrower's
    own by default.

    A collection SMS counts against the borrower's daily cap for the day it goes out; beyond
    the cap it raises CollectionCapReached and queues nothing (a collections caller records
    the contact as blocked). The registered collection policy (policy.py) is asked too: it
    may refuse with ContactRefused, and is told of the message once it is written. Other
    purposes are never capped."""
    code = verification_code()
    phone = borrower.mobile if borrower is not None else phone
    send_after = send_after or timezone.now()
    if obeys_quiet_hours:
        send_after = next_send_time(send_after)
    collection = purpose == SmsMessage.Purpose.COLLECTION
    if collection and borrower is None:
        raise ValueError("a collection SMS goes to a borrower: it counts against their cap")
    message = SmsMessage(
        borrower=borrower,
        phone=phone,
        phone_index=mobile_index(phone),
        template=template,
        text=compose(body, code, language=language or sms_language(borrower)),
        purpose=purpose,
        dedupe_key=dedupe_key,
        verification_code=code,
        send_after=send_after,
        obeys_quiet_hours=obeys_quiet_hours,
        secret_masked=secret_masked,
    )
    with transaction.atomic():
        if collection:
            # One borrower's collection SMS are counted one caller at a time (PostgreSQL).
            list(
                Borrower.objects.select_for_update(no_key=True)
                .filter(pk=borrower.pk)
                .values_list("pk", flat=True)
            )
            if SmsMessage.objects.filter(dedupe_key=dedupe_key).exists():
                return None  # queued before: not a new message
            if collection_sms_left([borrower.pk], send_after=send_after)[borrower.pk] <= 0:
                raise CollectionCapReached(
                    borrower_id=borrower.pk,
                    day=timezone.localdate(send_after),
                    cap=settings.SMS_COLLECTION_DAILY_CAP,
                )
            collection_policy().check_one(borrower, send_after)
        SmsMessage.objects.bulk_create([message], ignore_conflicts=True)
        # Ours only if the row carries our fresh code; otherwise the key was taken already.
        queued = SmsMessage.objects.filter(dedupe_key=dedupe_key, verification_code=code).first()
        if collection and queued is not None:
            collection_policy().record_one(queued)
    return queued


def collection_sms_left(borrower_ids: Iterable[int], *, send_after: datetime) -> Counter:
    """How many more collection SMS each borrower may get on the local day of `send_after`:
    the daily cap less the collection SMS already in the outbox for that day, whatever became
    of them. The one place the cap is applied; the reminder batch counts with it too."""
    borrower_ids = set(borrower_ids)
    start = timezone.make_aware(datetime.combine(timezone.localdate(send_after), time.min))
    queued = dict(
        SmsMessage.objects.filter(
            purpose=SmsMessage.Purpose.COLLECTION,
            borrower_id__in=borrower_ids,
            send_after__gte=start,
            send_after__lt=start + timedelta(days=1),
        )
        .values("borrower_id")
        .annotate(n=Sum(Value(1)))
        .values_list("borrower_id", "n")
    )
    cap = settings.SMS_COLLECTION_DAILY_CAP
    return Counter({b: max(cap - queued.get(b, 0), 0) for b in borrower_ids})


def sendable(now: datetime, *, secret_ids: Iterable[int] = ()):
    """Queued messages whose time has come; at night only those that need not wait. A masked
    message is sendable only by the call that holds its code (`secret_ids`)."""
    due = (
        Q(send_after__lte=now)
        if in_send_window(now)
        else Q(send_after__lte=now, obeys_quiet_hours=False)
    )
    secret = Q(secret_masked=True, pk__in=list(secret_ids)) if secret_ids else Q(pk__in=[])
    return SmsMessage.objects.filter(
        due & (Q(secret_masked=False) | secret), status=SmsMessage.Status.QUEUED
    )


def fail_unsent_secrets(now: datetime) -> int:
    """Masked messages still queued past their deadline (the process that held the code died
    before sending it) end failed and visible instead of waiting for ever."""
    return SmsMessage.objects.filter(
        status=SmsMessage.Status.QUEUED,
        secret_masked=True,
        created_at__lt=now - SECRET_SEND_DEADLINE,
    ).update(status=SmsMessage.Status.FAILED, error="not sent in time; the code has expired")


def send_messages(ids: Iterable[int], *, secret_texts: Mapping[int, str] | None = None) -> int:
    """Claim the sendable messages among `ids`, send them in one backend call, record results.
    Failures go back to the queue with a growing wait, and after MAX_ATTEMPTS stay failed,
    with the provider's error, for staff to see. A message the provider may have accepted
    without saying so (a timeout) stays "sending" for `requeue_in_doubt`, never sent again at
    once. Returns how many were sent.

    `secret_texts` gives the real text of masked messages (id → text); it replaces the masked
    text in memory only, for the backend, and is never written anywhere."""
    now = claimed_at = timezone.now()
    secret_texts = secret_texts or {}
    with transaction.atomic():
        rows = sendable(now, secret_ids=secret_texts).filter(pk__in=list(ids))
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(skip_locked=True)
        claimed = list(rows)
        SmsMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(
            status=SmsMessage.Status.SENDING, attempts=F("attempts") + 1, claimed_at=claimed_at
        )
    if not claimed:
        return 0
    for message in claimed:
        if message.secret_masked:
            message.text = secret_texts[message.pk]
    try:
        results = get_backend().send(claimed)
    except Exception as exc:  # noqa: BLE001 - a broken backend must not strand claimed rows
        log.exception("SMS backend failed for %d messages", len(claimed))
        results = [SendResult(ok=False, error=f"backend error: {exc}")] * len(claimed)
    now = timezone.now()
    delivered = [(m.pk, r.provider_id) for m, r in zip(claimed, results, strict=True) if r.ok]
    _record_sent(delivered, now)
    failed = [(m, r) for m, r in zip(claimed, results, strict=True) if not r.ok]
    for message, result in failed:
        attempts = message.attempts + 1
        message.error = result.error[:300]
        if result.in_doubt:
            message.status, message.claimed_at = SmsMessage.Status.SENDING, claimed_at
            continue
        # A masked message cannot be retried later: its code lived only in this request.
        retry = attempts < MAX_ATTEMPTS and not message.secret_masked
        message.status = SmsMessage.Status.QUEUED if retry else SmsMessage.Status.FAILED
        message.claimed_at = None
        if retry:
            message.send_after = retry_time(now, attempts)
    if failed:
        # Only rows still under this claim: a receipt may have settled one meanwhile.
        SmsMessage.objects.filter(
            status=SmsMessage.Status.SENDING, claimed_at=claimed_at
        ).bulk_update([m for m, _ in failed], ["status", "send_after", "error", "claimed_at"])
    return len(delivered)


def requeue_failed(messages) -> int:
    """Failed messages among `messages` go back to the queue for a fresh round of attempts.
    A masked one cannot: its code is gone (the borrower asks for a new one)."""
    return messages.filter(status=SmsMessage.Status.FAILED, secret_masked=False).update(
        status=SmsMessage.Status.QUEUED, attempts=0, error="", send_after=timezone.now()
    )


def _record_sent(rows: list[tuple[int, str]], now: datetime) -> None:
    """Mark a batch sent with each message's provider id in one statement (a VALUES join:
    Django's bulk_update builds a CASE per row, several times slower at 500 rows). A message a
    receipt has settled already keeps what the receipt said."""
    if not rows:
        return
    table = SmsMessage._meta.db_table
    values = ", ".join(["(%s, %s)"] * len(rows))
    params = [SmsMessage.Status.SENT.value, now, *[v for row in rows for v in row]]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, error = '', "
            f"provider_id = v.column2 FROM (VALUES {values}) AS v WHERE {table}.id = v.column1 "
            f"AND {table}.status IN (%s, %s)",
            [*params, SmsMessage.Status.SENDING.value, SmsMessage.Status.QUEUED.value],
        )


def login_code_body(code: str, language: str = Language.CHINESE.value) -> str:
    return in_language(LOGIN_CODE_TEXTS, language).format(code=code)


def registration_code_body(code: str, language: str = Language.CHINESE.value) -> str:
    return in_language(REGISTRATION_CODE_TEXTS, language).format(code=code)


def send_login_code(*, borrower: Borrower, code: str, request_id: str) -> SmsMessage | None:
    """An OTP goes out at once, whatever the hour: the borrower is waiting for it. The outbox
    row keeps the text with the code masked; the real text exists only in this call."""
    language = sms_language(borrower)
    return _send_secret(
        borrower=borrower,
        template="login_code",
        body=lambda c: login_code_body(c, language),
        code=code,
        dedupe_key=f"login-code:{request_id}",
        language=language,
    )


def send_registration_code(*, mobile: str, code: str, request_id: str) -> SmsMessage | None:
    """The code that proves a new applicant's mobile, before anything else about them is
    stored: the row has the phone and no borrower. Chinese: nobody has chosen a language yet."""
    return _send_secret(
        borrower=None,
        phone=mobile,
        template="registration_code",
        body=registration_code_body,
        code=code,
        dedupe_key=f"registration-code:{request_id}",
    )


def card_code_body(bank_name: str, last4: str, language: str = Language.CHINESE.value):
    def body(code: str) -> str:
        return in_language(CARD_CODE_TEXTS, language).format(
            bank_name=bank_name, last4=last4, code=code
        )

    return body


def send_card_verification_code(
    *, borrower: Borrower, code: str, request_id: str, bank_name: str, last4: str
) -> SmsMessage | None:
    """绑卡验证: the code that proves a card being bound is the borrower's. Masked like login
    codes; the bank and the last four digits name the card, the full number never travels."""
    language = sms_language(borrower)
    return _send_secret(
        borrower=borrower,
        template="card_verification_code",
        body=card_code_body(bank_name, last4, language),
        code=code,
        dedupe_key=f"card-code:{request_id}",
        language=language,
    )


def _send_secret(
    *, borrower, template, body, code, dedupe_key, phone="", language=None
) -> SmsMessage | None:
    language = language or sms_language(borrower)
    message = queue_sms(
        borrower=borrower,
        phone=phone,
        template=template,
        body=body(SECRET_MASK),
        purpose=SmsMessage.Purpose.TRANSACTIONAL,
        dedupe_key=dedupe_key,
        obeys_quiet_hours=False,
        secret_masked=True,
        language=language,
    )
    if message:
        real_text = compose(body(code), message.verification_code, language=language)
        transaction.on_commit(
            lambda: send_messages([message.pk], secret_texts={message.pk: real_text})
        )
    return message


def queue_from_template(
    *,
    borrower: Borrower,
    template_code: str,
    context: dict,
    dedupe_key: str,
    immediate: bool = False,
) -> SmsMessage | None:
    """A message from its staff-edited template, with the template's purpose; None when the
    template is missing or inactive, or the dedupe key is taken. `immediate` for confirmations
    of what the borrower has just done, which go out at any hour. A collection template is
    capped as in `queue_sms`: CollectionCapReached beyond the borrower's daily cap, and
    ContactRefused when the collection policy refuses it.

    The text is the template's variant in the borrower's language (`sms_language`); a caller
    whose context holds words, not just figures, words them in that language too."""
    template = SmsTemplate.objects.filter(code=template_code, is_active=True).first()
    if template is None:
        return None
    language = sms_language(borrower)
    body = template.render({**template.common_context(), **context}, language=language)
    message = queue_sms(
        borrower=borrower,
        template=template_code,
        body=body,
        purpose=template.purpose,
        dedupe_key=dedupe_key,
        obeys_quiet_hours=not immediate,
        language=language,
    )
    if message is not None and message.send_after <= timezone.now():
        transaction.on_commit(lambda: send_messages([message.pk]))
    return message
