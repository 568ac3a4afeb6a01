r"""Benchmark: queueing one business date of SMS reminders against a floor of one hand-written
INSERT … SELECT of the same messages. (Sending them has a benchmark of its own.)

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python tests/benchmarks/reminders.py --loans 100000 [--keep] [--profile DIR]

PostgreSQL only (exit 2 otherwise); needs a role that may CREATE DATABASE and CHECKPOINT. It
creates and migrates its own database `bench_reminders_<pid>` (the migrations seed the SMS
templates and the cadence: due T−3, T−1, T; overdue T+1, T+3, T+7 then every 7 days) and builds
N 10-instalment loans with set-based SQL as they stand after end of day on business date
D = 2026-11-25:

- ~85 % repay on a day between the 1st and the 20th, every past instalment paid: no reminder;
- ~10 % repay on the 28th: an instalment falls due on D+3 (a twentieth of those prepaid it);
- ~5 % are overdue, `days_past_due` = D − oldest unpaid due date (instalments before D are
  'overdue', penalty accrued through D after the one grace day), ~70 % of them on a cadence
  day (1, 3, 7, 14, 21, … 98) and the rest on days that never fire (4–6, 11–13, …); half of
  the DPD-1 loans come in pairs held by one borrower, who is then due 4 collection SMS and
  gets 3 (the daily cap).

Every borrower carries the same real Fernet token for name, ID number and mobile (encrypted
once in Python) and a unique blind index (md5 of the id).

It then measures, in this order:
1. the floor: one INSERT … SELECT of the same messages (same selection, cap included, each
   template's text concatenated in SQL, dedupe keys prefixed `floor:`), in a transaction
   rolled back, then a VACUUM of the outbox and a CHECKPOINT;
2. with the clock at D 09:00 Asia/Shanghai (ticking), inside the 08:00–21:00 send window:
   `queue_reminders(business_date=D, now=<09:00 on D>)` (select, render, insert).
DEBUG is switched off for the run (as in production): Django then keeps no query log.

Then it checks the result (any failure: exit 1): the queued count equals an independent SQL
count (instalments due on D+3 / D+1 / D + overdue loans on cadence days + pre-report notices
for DPD 1, at most 3 collection SMS per borrower), no borrower has more than 3 collection SMS,
every message is queued, each text is byte for byte the one SQL makes for its dedupe key
(with the message's own verification code), each phone is the borrower's ciphertext copied
as it is (and decrypts), the floor made the same number of rows, and a second
`queue_reminders` queues nothing.

Prints one JSON line: loans, messages, seconds (queueing), messages_per_second,
floor_seconds, ratio (seconds / floor_seconds), build_seconds, plus the breakdown by kind and
the checks. Progress goes to stderr. The database is dropped at the end; --keep keeps it (with
the day's messages, queued). --profile DIR runs the queueing under cProfile (DIR/queue.prof,
top functions on stderr); its timings are then inflated.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import time_machine  # noqa: E402
from benchdb import BUCKET, h, log, needs_postgresql, own_database  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from loans import crypto  # noqa: E402
from loans.models import LoanProduct  # noqa: E402
from notifications.models import SmsMessage  # noqa: E402
from notifications.reminders import queue_reminders  # noqa: E402

D = date(2026, 11, 25)
MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MOBILE = "13800138000"


def due(k: str) -> str:
    """Due date of instalment k: `anchor` is the due date of instalment n0, monthly apart."""
    return f"(anchor + make_interval(months => ({k}) - n0))::date"


# One row per loan i (and per borrower i). n0: the first instalment not paid on time (its due
# date is `anchor`); f: instalments paid (1..f); dpd: days past due after D's end of day.
PLAN = f"""
CREATE TABLE bench_plan AS
WITH s AS (
    SELECT i,
           CASE WHEN {h(4, 100)} < 5 THEN 'overdue' WHEN {h(4, 100)} < 15 THEN 'soon'
                ELSE 'normal' END AS kind,
           (1000 + 100 * {h(2, 491)})::numeric(14, 2) AS principal,
           (0.0002 + {h(3, 301)} / 1000000.0)::numeric(8, 6) AS rate,
           {h(5, 100)} AS h5, {h(6, 13)} AS h6, {h(7, 3)} AS h7, 1 + {h(8, 10)} AS n0,
           {h(9, 20)} AS h9
    FROM generate_series(1, %(n)s::int) AS i
), t AS (
    SELECT s.*, CASE WHEN kind <> 'overdue' THEN 0
                     WHEN h5 < 20 THEN 1 WHEN h5 < 32 THEN 3 WHEN h5 < 44 THEN 7
                     WHEN h5 < 70 THEN 14 + 7 * h6      -- 14, 21, … 98: every 7 days
                     ELSE 4 + 7 * h6 + h7 END AS dpd    -- 4-6, 11-13, …: never a cadence day
    FROM s
), u AS (
    SELECT t.*,
           CASE kind WHEN 'overdue' THEN %(d)s::date - dpd
                     WHEN 'soon' THEN %(d)s::date + 3
                     ELSE (date_trunc('month', %(d)s::date) + interval '1 month')::date
                          + mod(h5, 20) END AS anchor,
           CASE WHEN kind = 'soon' AND h9 = 0 THEN n0 ELSE n0 - 1 END AS f,
           kind = 'overdue' AND dpd = 1 AND h9 < 10 AS twin
    FROM t
)
SELECT u.*, (anchor - make_interval(months => n0))::date AS dd,
       principal - f * principal / 10 AS outstanding,
       -- Half the DPD-1 loans come in pairs: the second of a pair belongs to the first's borrower.
       CASE WHEN twin AND mod(row_number() OVER w, 2) = 0 THEN lag(i) OVER w ELSE i END
           AS borrower_id
FROM u
WINDOW w AS (PARTITION BY twin ORDER BY i)
"""

BUILD = [
    (
        "borrowers",
        """INSERT INTO loans_borrower (id, name, id_number, id_number_index, mobile, mobile_index,
            birth_date, sex, region_code, mainland_resident, employer, occupation,
            monthly_income, monthly_debt_payments, civil_capacity, created_at, updated_at)
        SELECT i, %(name)s, %(id_number)s, md5('id' || i), %(mobile)s, md5('mobile' || i),
            date '1970-01-01' + mod(i, 10000), CASE WHEN mod(i, 2) = 0 THEN 'M' ELSE 'F' END,
            '110101', TRUE, '', '', 8000 + mod(i, 20000), 0, 'full', dd, dd
        FROM bench_plan""",
    ),
    (
        "credit assessments",
        """INSERT INTO loans_creditassessment (id, borrower_id, as_of, created_at,
            scorecard_version, inputs, rule_results, points, reasons, score, grade, decision,
            credit_limit, daily_rate, override_decision, override_reason, review_request_note)
        SELECT i, i, dd - 1, dd - 1, 'bench', '{}', '[]', '{}', '[]', 650, 'B', 'approved',
            greatest(2 * principal, 20000), rate, '', '', ''
        FROM bench_plan""",
    ),
    (
        "credit lines",
        """INSERT INTO loans_creditline (id, borrower_id, assessment_id, "limit",
            outstanding_principal, reserved_amount, daily_rate, status, status_reason,
            expires_on, opened_at, updated_at)
        SELECT i, i, i, greatest(2 * principal, 20000), outstanding, 0, rate, 'active', '',
            %(d)s::date + 365, dd - 1, dd
        FROM bench_plan""",
    ),
    (
        "applications",
        """INSERT INTO loans_loanapplication (id, borrower_id, product_id, credit_line_id,
            amount, term, method, daily_rate, apr_percent, status, review_reason, decision_note,
            decided_at, created_at)
        SELECT i, borrower_id, %(product)s, borrower_id, principal, 10, 'equal_principal', rate,
            round(rate * 36000, 2), 'disbursed', '', '', dd, dd
        FROM bench_plan""",
    ),
    (
        "contracts",
        """INSERT INTO loans_contract (id, application_id, number, template_version, body,
            body_sha256, status, created_at, signed_at, signed_ip, signed_user_agent)
        SELECT i, i, 'BENCH' || lpad(i::text, 12, '0'), 'bench', 'Loan contract #' || i,
            encode(sha256(('Loan contract #' || i)::bytea), 'hex'), 'signed', dd, dd,
            '127.0.0.1', ''
        FROM bench_plan""",
    ),
    (
        "loans",
        f"""INSERT INTO loans_loan (id, borrower_id, application_id, contract_id, product_id,
            credit_line_id, principal, term, method, daily_rate, apr_percent, penalty_multiplier,
            grace_days, drawdown_date, outstanding_principal, last_prepayment_date,
            prepayment_interest_base, status, settled_on, days_past_due, bucket,
            write_off_candidate, created_at)
        SELECT i, borrower_id, i, i, %(product)s, borrower_id, principal, 10, 'equal_principal',
            rate, round(rate * 36000, 2), 1.50, 1, dd, outstanding, NULL, 0,
            CASE WHEN f = 10 THEN 'settled' ELSE 'active' END,
            CASE WHEN f = 10 THEN %(d)s::date - 1 END,
            dpd, {BUCKET.format("dpd")}, dpd > 180, dd
        FROM bench_plan""",
    ),
    (
        "instalments",
        f"""INSERT INTO loans_instalment (loan_id, number, due_date, principal_due, interest_due,
            fee_due, penalty_due, principal_paid, interest_paid, fee_paid, penalty_paid,
            penalty_accrued_through, status, paid_on)
        SELECT i, k, due_date, principal_due, interest_due, 0,
            CASE WHEN accrued THEN round(principal_due * rate * 1.5, 2) * (%(d)s::date - due_date)
                 ELSE 0 END,
            CASE WHEN paid THEN principal_due ELSE 0 END,
            CASE WHEN paid THEN interest_due ELSE 0 END, 0, 0,
            CASE WHEN accrued THEN %(d)s::date END,
            CASE WHEN paid THEN 'paid' WHEN due_date < %(d)s::date THEN 'overdue'
                 WHEN due_date = %(d)s::date THEN 'due' ELSE 'pending' END,
            CASE WHEN paid THEN least(due_date, %(d)s::date - 1) END
        FROM (
            SELECT p.*, k, {due("k")} AS due_date, principal / 10 AS principal_due,
                round((principal - (k - 1) * principal / 10) * rate * 30, 2) AS interest_due,
                k <= f AS paid,
                -- end of day accrues penalty interest once the one grace day has passed
                k > f AND %(d)s::date - {due("k")} > 1 AS accrued
            FROM bench_plan p CROSS JOIN generate_series(1, 10) AS k
        ) a""",
    ),
]

OPEN = "('pending', 'due', 'overdue')"
OUTSTANDING = (
    "(i.principal_due - i.principal_paid + i.interest_due - i.interest_paid"
    " + i.penalty_due - i.penalty_paid + i.fee_due - i.fee_paid)"
)
# The seeded cadence (notifications/migrations/0003): overdue T+1, T+3, T+7, then every 7 days.
ON_CADENCE = (
    "(l.days_past_due IN (1, 3, 7) OR (l.days_past_due > 7 AND mod(l.days_past_due, 7) = 0))"
)

# What the day should queue, counted independently of the app: one row per expected message.
EXPECTED = f"""
WITH due_soon AS (
    SELECT i.due_date FROM loans_instalment i JOIN loans_loan l ON l.id = i.loan_id
    WHERE i.due_date IN (%(d)s::date + 3, %(d)s::date + 1, %(d)s::date)
      AND i.status IN {OPEN} AND l.status = 'active' AND {OUTSTANDING} > 0
), collection AS (
    SELECT l.borrower_id, count(*) FILTER (WHERE l.days_past_due = 1) AS pre_report,
           count(*) AS overdue
    FROM loans_loan l
    WHERE l.status = 'active' AND l.days_past_due > 0 AND {ON_CADENCE}
      AND EXISTS (SELECT 1 FROM loans_instalment i WHERE i.loan_id = l.id
                  AND i.status = 'overdue')
    GROUP BY l.borrower_id
)
SELECT (SELECT count(*) FROM due_soon WHERE due_date = %(d)s::date + 3),
       (SELECT count(*) FROM due_soon WHERE due_date < %(d)s::date + 3),
       (SELECT coalesce(sum(overdue), 0)::int FROM collection),
       (SELECT coalesce(sum(pre_report), 0)::int FROM collection),
       (SELECT coalesce(sum(pre_report + overdue - least(pre_report + overdue, %(cap)s)), 0)::int
        FROM collection)
"""


def money(expr: str) -> str:
    return f"to_char({expr}, 'FM999999990.00')"


# The floor: the same messages as one statement. Same selection and cap; the text concatenated
# in SQL (signature, body, verification code); dedupe keys prefixed `floor:`.
def tail(code: str) -> str:
    return f"'（短信核验码 ' || {code} || '，可在官网 /verify/ 查验）'"


MESSAGES = f"""
SELECT l.borrower_id, b.mobile AS phone, b.mobile_index AS phone_index,
    'due_reminder' AS template, 'transactional' AS purpose, 0 AS ord,
    'due-reminder:' || i.id || ':T' || to_char(%(d)s::date - i.due_date, 'FMS0')
        AS dedupe_key,
    '尊敬的客户，您的借款第' || i.number || '/' || l.term || '期应还¥'
        || {money(OUTSTANDING)} || '将于' || i.due_date
        || CASE WHEN i.due_date = %(d)s::date THEN '（今天）' ELSE '' END
        || '到期。请保持绑定银行卡余额充足以便自动扣款，也可通过微信支付、支付宝或本行'
        || '客户端还款。客服' || %(service)s AS body
FROM loans_instalment i JOIN loans_loan l ON l.id = i.loan_id
JOIN loans_borrower b ON b.id = l.borrower_id
WHERE i.due_date IN (%(d)s::date + 3, %(d)s::date + 1, %(d)s::date)
  AND i.status IN {OPEN} AND l.status = 'active' AND {OUTSTANDING} > 0
UNION ALL
SELECT l.borrower_id, b.mobile, b.mobile_index, k.template, 'collection', k.ord,
    k.prefix || o.oldest || CASE WHEN k.ord = 2 THEN ':T+' || l.days_past_due ELSE '' END,
    CASE WHEN k.ord = 1 THEN
        '尊敬的客户，您的借款已逾期¥' || {money("o.principal + o.interest + o.penalty")}
        || '。根据《征信业管理条例》，如未于' || greatest(o.since + l.grace_days, %(d)s::date)
        || '当日结束前还清，逾期信息将报送金融信用信息基础数据库。可通过银行卡、微信支付、'
        || '支付宝或本行客户端还款。客服' || %(service)s
    ELSE
        '尊敬的客户，您的借款自' || (o.since + 1) || '起逾期，逾期金额¥'
        || {money("o.principal + o.interest + o.penalty")} || '（本金¥'
        || {money("o.principal")} || '，利息¥' || {money("o.interest")} || '，罚息¥'
        || {money("o.penalty")} || '）。请于'
        || greatest(o.since + l.grace_days, %(d)s::date)
        || '当日结束前通过银行卡、微信支付、支付宝或本行客户端还款，即可停止计收罚息、'
        || '避免影响个人征信。客服' || %(service)s
    END
FROM loans_loan l JOIN loans_borrower b ON b.id = l.borrower_id
CROSS JOIN LATERAL (
    SELECT min(i.id) AS oldest, min(i.due_date) AS since,
           sum(i.principal_due - i.principal_paid) AS principal,
           sum(i.interest_due - i.interest_paid) AS interest,
           sum(i.penalty_due - i.penalty_paid) AS penalty
    FROM loans_instalment i WHERE i.loan_id = l.id AND i.status = 'overdue'
) o
JOIN (VALUES ('pre_report_notice', 'pre-report:', 1),
             ('overdue_notice', 'overdue:', 2)) AS k (template, prefix, ord)
    ON k.ord = 2 OR l.days_past_due = 1
WHERE l.status = 'active' AND l.days_past_due > 0 AND {ON_CADENCE}
  AND o.oldest IS NOT NULL
"""
FLOOR = f"""
INSERT INTO notifications_smsmessage (borrower_id, phone, phone_index, template, text, purpose,
    dedupe_key, verification_code, status, attempts, provider_id, error, created_at,
    send_after, obeys_quiet_hours)
SELECT borrower_id, phone, phone_index, template, %(signature)s || body || {tail("code")}, purpose,
    'floor:' || dedupe_key, code, 'queued', 0, '', '', now(), %(now)s, TRUE
FROM (
    SELECT m.*, upper(substr(md5(random()::text), 1, 5)) AS code,
           row_number() OVER (PARTITION BY borrower_id, purpose ORDER BY ord, dedupe_key) AS nth
    FROM ({MESSAGES}) m
) x
WHERE purpose = 'transactional' OR nth <= %(cap)s
"""
# Each queued message against the same message made in SQL: its text byte for byte (with its
# own verification code), its phone the borrower's ciphertext as it is.
COMPARE = f"""
SELECT count(*) FILTER (WHERE f.dedupe_key IS NULL OR s.text IS DISTINCT FROM
                        %(signature)s || f.body || {tail("s.verification_code")}),
       count(*) FILTER (WHERE s.phone IS DISTINCT FROM f.phone)
FROM notifications_smsmessage s LEFT JOIN ({MESSAGES}) f ON f.dedupe_key = s.dedupe_key
"""


def query(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {"d": D})
        return cursor.fetchall()


def build(n: int) -> None:
    product = LoanProduct.objects.create(code="bench", name="Bench 10 × monthly", terms=[10])
    params = {
        "d": D,
        "n": n,
        "product": product.pk,
        # One real token each, reused by every borrower: any of them decrypts.
        "name": crypto.encrypt("张三"),
        "id_number": crypto.encrypt("11010519491231002X"),
        "mobile": crypto.encrypt(MOBILE),
    }
    with connection.cursor() as cursor:
        log(f"planning {n:,} loans")
        cursor.execute(PLAN, params)
        for label, sql in BUILD:
            log(f"inserting {label}")
            cursor.execute(sql, params)
        for table in "borrower creditassessment creditline loanapplication contract loan".split():
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('loans_{table}', 'id'), {n})")
        log("VACUUM ANALYZE")
        cursor.execute("VACUUM ANALYZE")


def floor_params(now: datetime) -> dict:
    return {
        "d": D,
        "now": now,
        "cap": settings.SMS_COLLECTION_DAILY_CAP,
        "signature": settings.SMS_SIGNATURE,
        "service": settings.SERVICE_PHONE,
    }


def run_floor(now: datetime) -> tuple[float, int]:
    params = floor_params(now)
    with transaction.atomic():
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(FLOOR, params)
            seconds = time.perf_counter() - started
            rows = cursor.rowcount
        transaction.set_rollback(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE notifications_smsmessage")
        cursor.execute("CHECKPOINT")
    return seconds, rows


class Profiled:
    """cProfile around one phase when --profile DIR is given: DIR/<phase>.prof and the top
    functions on stderr. Profiling slows Python down: the figures of such a run are not the
    benchmark's."""

    def __init__(self, directory: str | None, phase: str):
        self.directory, self.phase = directory, phase

    def __enter__(self):
        if self.directory:
            self.profile = cProfile.Profile()
            self.profile.enable()

    def __exit__(self, *exc):
        if not self.directory:
            return
        self.profile.disable()
        Path(self.directory).mkdir(parents=True, exist_ok=True)
        self.profile.dump_stats(Path(self.directory) / f"{self.phase}.prof")
        out = io.StringIO()
        stats = pstats.Stats(self.profile, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        print(f"--- profile of {self.phase} ---\n{out.getvalue()}", file=sys.stderr, flush=True)


def run_queue(profile: str | None = None) -> tuple[float, dict]:
    started = time.perf_counter()
    with Profiled(profile, "queue"):
        counts = queue_reminders(business_date=D, now=timezone.now())
    return time.perf_counter() - started, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, required=True)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile", metavar="DIR", help="cProfile the queueing into DIR")
    args = parser.parse_args()
    if needs_postgresql():
        return 2
    with own_database("bench_reminders", keep=args.keep):
        started = time.perf_counter()
        build(args.loans)
        build_seconds = time.perf_counter() - started
        cap = settings.SMS_COLLECTION_DAILY_CAP
        due_3, due_other, overdue, pre_report, capped = query(EXPECTED, {"d": D, "cap": cap})[0]
        expected = due_3 + due_other + overdue + pre_report - capped
        log(
            f"expected {expected:,} messages: {due_3:,} due on D+3, {due_other:,} due on D+1/D,"
            f" {overdue:,} overdue on a cadence day, {pre_report:,} pre-report (DPD 1),"
            f" {capped:,} over the cap of {cap}"
        )

        log("floor: one INSERT … SELECT, rolled back")
        floor_seconds, floor_rows = run_floor(MORNING)
        log(f"floor {floor_seconds:.3f}s, {floor_rows:,} rows")

        settings.DEBUG = False  # as in production: no query log kept in memory
        with time_machine.travel(MORNING, tick=True):
            log("queue: queue_reminders(business_date=D, now=09:00 on D)")
            seconds, counts = run_queue(args.profile)
            messages = sum(counts.values())
            log(f"queue {seconds:.3f}s, {messages:,} messages {counts}")
            requeued = sum(queue_reminders(business_date=D, now=timezone.now()).values())
        settings.DEBUG = True

        statuses = dict(query("SELECT status, count(*) FROM notifications_smsmessage GROUP BY 1"))
        most_collection = query(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM notifications_smsmessage"
            " WHERE purpose = 'collection' GROUP BY borrower_id) c"
        )[0][0]
        wrong_texts, wrong_phones = query(COMPARE, floor_params(MORNING))[0]
        sample = SmsMessage.objects.order_by("id").first()
        checks = {
            "expected_messages": expected,
            "matches_expected": messages == expected,
            "floor_rows_match": floor_rows == messages,
            "all_queued": statuses.get("queued", 0) == messages,
            "texts_differing_from_sql": wrong_texts,
            "phones_not_the_borrowers_ciphertext": wrong_phones,
            "phone_decrypts": sample is not None and sample.phone == MOBILE,
            "max_collection_per_borrower": most_collection,
            "requeued_on_second_run": requeued,
        }
        ok = (
            checks["matches_expected"]
            and checks["floor_rows_match"]
            and checks["all_queued"]
            and wrong_texts == wrong_phones == 0
            and checks["phone_decrypts"]
            and most_collection <= cap
            and requeued == 0
        )
        result = {
            "loans": args.loans,
            "messages": messages,
            "seconds": round(seconds, 4),
            "messages_per_second": round(messages / seconds) if seconds else 0,
            "floor_seconds": round(floor_seconds, 4),
            "ratio": round(seconds / floor_seconds, 2),
            "build_seconds": round(build_seconds, 1),
            "by_kind": counts,
            "checks": checks,
        }
        print(json.dumps(result, ensure_ascii=False), flush=True)
        if not ok:
            log(f"CHECK FAILED: {checks}")
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
