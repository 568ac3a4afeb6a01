"""The data set of the admin list benchmark (admin_lists.py), built with set-based SQL.

The loans, their borrowers, lines, applications, contracts and instalments are the end-of-day
benchmark's plan (end_of_day.PLAN and BUILD, ~5 % overdue across every bucket), with the
borrowers' name, ID number and mobile real Fernet tokens under the configured key: a few dozen
distinct values encrypted once in Python, spread over the rows by `i mod k`, so every page
decrypts and masks what it shows as it would in production. Blind indexes stay unique
(md5 of the row number), except the one borrower the searches look for, whose indexes are the
real keyed hashes of its values.

On top of that: a second (declined) assessment for a tenth of the borrowers, some waiting for
manual review; a twentieth more applications in every other status; one repayment for every
loan with an instalment paid, with its ledger row beside each disbursement; two SMS per loan;
40 collectors, a case for every loan past its grace days (plus closed ones for the cured), three
contact attempts per case; and, when the tables exist, audit events.
"""

from datetime import date

from benchdb import log
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from end_of_day import BUILD, PLAN, D, due

from debt_collection.guard.rules import ORDER as GUARD_RULES
from debt_collection.models import Collector
from loans import crypto
from loans.demo import make_id_number
from loans.models import Loan, LoanProduct
from loans.models.borrowers import id_number_index, mobile_index

K = 64  # distinct encrypted identities
QUEUES = ["M1", "M2", "M3", "M4+"]
SURNAMES = "王李张刘陈杨黄赵"
GIVEN = "伟芳娜敏静丽强磊"

INPUTS = (
    '{"age": 34, "birth_date": "1991-03-02", "monthly_income": "12000.00", '
    '"monthly_debt_payments": "1500.00", "civil_capacity": "full", "mainland_resident": true, '
    '"account_activity_score": 72, "bureau": {"current_overdue_accounts": 0, '
    '"worst_dpd_24m": 0, "inquiries_3m": 1}, "open_lines": 0}'
)
RULES = (
    '[{"code": "age", "passed": true, "detail": "34"}, '
    '{"code": "civil_capacity", "passed": true, "detail": "full"}, '
    '{"code": "mainland", "passed": true, "detail": "yes"}, '
    '{"code": "bureau_overdue", "passed": true, "detail": "0"}, '
    '{"code": "worst_dpd", "passed": true, "detail": "0"}, '
    '{"code": "debt_to_income", "passed": true, "detail": "0.13"}]'
)
POINTS = '{"age": 30, "income": 45, "debt_to_income": 40, "bureau": 60, "activity": 25}'


def identities() -> dict:
    """K names, ID numbers and mobiles as Fernet tokens, and the plaintexts of the first."""
    names, ids, mobiles, births, plain = [], [], [], [], []
    for j in range(K):
        birth = date(1975 + j % 25, 1 + j % 12, 1 + j % 28)
        name = SURNAMES[j % 8] + GIVEN[(j // 8) % 8]
        number = make_id_number("110101", birth, f"{j:03d}")
        mobile = f"139{j:08d}"
        names.append(crypto.encrypt(name))
        ids.append(crypto.encrypt(number))
        mobiles.append(crypto.encrypt(mobile))
        births.append(birth)
        plain.append((number, mobile))
    return {"names": names, "ids": ids, "mobiles": mobiles, "births": births, "plain": plain}


def pick(array: str, kind: str = "text") -> str:
    return f"(%({array})s::{kind}[])[1 + mod(i, {K})]"


BORROWERS = f"""INSERT INTO loans_borrower (id, name, id_number, id_number_index, mobile,
    mobile_index, birth_date, sex, region_code, mainland_resident, employer, occupation,
    monthly_income, monthly_debt_payments, civil_capacity, created_at, updated_at)
SELECT i, {pick("names")}, {pick("ids")}, md5('id' || i), {pick("mobiles")}, md5('mobile' || i),
    {pick("births", "date")}, CASE WHEN mod(i, 2) = 0 THEN 'M' ELSE 'F' END, '110101', TRUE,
    '', '', 8000 + mod(i, 20000), 0, 'full', dd, dd
FROM bench_plan"""

ASSESSMENTS = f"""INSERT INTO loans_creditassessment (id, borrower_id, as_of, created_at,
    scorecard_version, inputs, rule_results, points, reasons, score, grade, decision,
    credit_limit, daily_rate, override_decision, override_reason, review_request_note)
SELECT i, i, dd - 1, dd - 1, 'v3', '{INPUTS}', '{RULES}', '{POINTS}', '[]', 650, 'B',
    'approved', greatest(principal, 20000), rate, '', '', ''
FROM bench_plan"""

EXTRA = [
    (
        "declined assessments",
        f"""INSERT INTO loans_creditassessment (id, borrower_id, as_of, created_at,
            scorecard_version, inputs, rule_results, points, reasons, score, grade, decision,
            credit_limit, daily_rate, override_decision, override_reason, review_request_note,
            review_requested_at)
        SELECT %(n)s + i, i, %(d)s::date - mod(i, 200), %(d)s::date - mod(i, 200),
            'v3', '{INPUTS}', '{RULES}', '{POINTS}', '["debt_to_income"]', 480, 'E',
            'declined', NULL, NULL, '', '', CASE WHEN mod(i, 50) = 0 THEN '请人工复核' ELSE '' END,
            CASE WHEN mod(i, 50) = 0 THEN %(d)s::date - mod(i, 200) + interval '2 hours' END
        FROM bench_plan WHERE mod(i, 10) = 0""",
    ),
    (
        "frozen lines",
        "UPDATE loans_creditline SET status = 'frozen', status_reason = 'bench'"
        " WHERE mod(id, 100) = 0",
    ),
    (
        "open and refused applications",
        """INSERT INTO loans_loanapplication (id, borrower_id, product_id, credit_line_id,
            amount, term, method, daily_rate, apr_percent, status, review_reason, decision_note,
            decided_at, created_at)
        SELECT %(n)s + i, i, %(product)s, i, principal, 10, 'equal_principal', rate,
            round(rate * 36000, 2),
            (ARRAY['pending_review', 'rejected', 'cancelled', 'approved'])[1 + mod(i / 20, 4)],
            'amount above auto-approval', '', NULL, %(d)s::date - mod(i, 90)
        FROM bench_plan WHERE mod(i, 20) = 0""",
    ),
    (
        "repayments",
        f"""INSERT INTO loans_repayment (id, loan_id, external_id, channel, amount, value_date,
            status, principal, interest, penalty, fee, prepaid_principal, unapplied,
            settled_loan, before, posted_at, reversal_reason)
        SELECT i, i, 'BENCH-R' || i,
            (ARRAY['bank_card', 'wechat_pay', 'alipay', 'auto_debit'])[1 + mod(i, 4)],
            principal / 10 + round(principal * rate * 30, 2), least({due("f")}, %(d)s::date - 1),
            'posted', principal / 10, round(principal * rate * 30, 2), 0, 0, 0, 0, f = 10, '{{}}',
            least({due("f")}, %(d)s::date - 1) + interval '10 hours', ''
        FROM bench_plan WHERE f > 0""",
    ),
    (
        "ledger rows",
        """INSERT INTO loans_loantransaction (loan_id, kind, value_date, principal, interest,
            penalty, fee, repayment_id, created_at)
        SELECT i, 'disbursement', dd, principal, 0, 0, 0, NULL, dd FROM bench_plan
        UNION ALL
        SELECT loan_id, 'repayment', value_date, principal, interest, 0, 0, id, posted_at
        FROM loans_repayment""",
    ),
    (
        "SMS",
        f"""INSERT INTO notifications_smsmessage (borrower_id, phone, phone_index, template,
            text, purpose, dedupe_key, verification_code, status, attempts, provider_id, error,
            created_at, send_after, obeys_quiet_hours, sent_at, delivered_at)
        SELECT i, {pick("mobiles")}, md5('mobile' || i), t.template, t.text, t.purpose,
            'bench:' || i || ':' || s, upper(substr(md5(i::text || s), 1, 5)), st.status,
            1, CASE WHEN st.status <> 'queued' THEN 'P' || i || '-' || s ELSE '' END,
            CASE WHEN st.status = 'failed' THEN 'provider refused' ELSE '' END,
            at, at, TRUE, CASE WHEN st.status <> 'queued' THEN at END,
            CASE WHEN st.status = 'delivered' THEN at + interval '5 seconds' END
        FROM bench_plan
        CROSS JOIN generate_series(1, 2) AS s
        CROSS JOIN LATERAL (SELECT %(d)s::date - mod(i + s * 37, 300)
            + make_interval(hours => 9 + mod(i, 10)::int) AS at) a
        CROSS JOIN LATERAL (SELECT CASE WHEN s = 1 THEN 'due_reminder' ELSE 'disbursed' END
                AS template,
            CASE WHEN s = 1 AND kind = 'overdue' THEN 'collection' ELSE 'transactional' END
                AS purpose,
            '【微众银行】尊敬的客户，您的借款第' || s || '期应还款将于近日到期，请保持绑定银行卡'
                || '余额充足以便自动扣款。客服95384（短信核验码 ABCDE）' AS text) t
        CROSS JOIN LATERAL (SELECT CASE WHEN mod(i + s, 100) = 0 THEN 'failed'
            WHEN mod(i + s, 200) = 1 THEN 'queued' ELSE 'delivered' END AS status) st""",
    ),
]

CASES = [
    (
        "cases",
        """INSERT INTO collections_collectioncase (loan_id, borrower_id, status, close_reason,
            bucket, days_past_due, overdue_principal, overdue_interest, overdue_penalty,
            overdue_total, assigned_to_id, next_action_on, opened_on, closed_on, updated_on)
        SELECT p.i, p.i,
            CASE WHEN p.kind = 'cured' THEN 'closed' WHEN mod(p.i, 7) = 0 THEN 'in_progress'
                 WHEN mod(p.i, 11) = 0 THEN 'promise' ELSE 'new' END,
            CASE WHEN p.kind = 'cured' THEN 'cured' ELSE '' END,
            CASE WHEN p.kind = 'cured' THEN 'M1' ELSE l.bucket END, greatest(p.dpd, 2),
            p.m * p.principal / 10, p.m * round(p.principal * p.rate * 30, 2), 0,
            p.m * (p.principal / 10 + round(p.principal * p.rate * 30, 2)),
            k.id, %(d)s::date + mod(p.i, 5), %(d)s::date - greatest(p.dpd, 2) + 1,
            CASE WHEN p.kind = 'cured' THEN %(d)s::date - 1 END, %(d)s::date - 1
        FROM bench_plan p JOIN loans_loan l ON l.id = p.i
        LEFT JOIN (SELECT id, queue, row_number() OVER (PARTITION BY queue ORDER BY id) - 1 AS k,
                count(*) OVER (PARTITION BY queue) AS n FROM collections_collector) k
            ON k.queue = CASE WHEN p.kind = 'cured' THEN 'M1' ELSE l.bucket END
            AND k.k = mod(p.i, k.n)
        WHERE p.kind = 'cured' AND p.dpd > 0
           OR l.status = 'active' AND l.days_past_due > l.grace_days""",
    ),
    (
        "contact attempts",
        """INSERT INTO collections_contactattempt (borrower_id, case_id, staff_id, at, channel,
            allowed, blocked_rule, mobile_revealed, template_code, sms_id)
        SELECT c.borrower_id, c.id, CASE WHEN s < 3 THEN col.user_id END,
            c.opened_on + make_interval(days => s, hours => 9 + mod(c.id, 10)::int),
            ch.channel, ch.allowed, CASE WHEN ch.allowed THEN '' ELSE %(rule)s END,
            ch.channel = 'call' AND ch.allowed,
            CASE WHEN ch.channel <> 'call' THEN 'overdue_notice' ELSE '' END, NULL
        FROM collections_collectioncase c
        LEFT JOIN collections_collector col ON col.id = c.assigned_to_id
        CROSS JOIN generate_series(1, 3) AS s
        CROSS JOIN LATERAL (SELECT
            (ARRAY['call', 'sms', 'auto_sms'])[s] AS channel,
            mod(c.id + s, 10) <> 0 AS allowed) ch""",
    ),
]

AUDIT = """INSERT INTO loans_auditevent (at, actor_id, ip_address, action, content_type_id,
    object_id, object_repr, summary, before, after)
SELECT %(d)s::date - mod(i, 365) + make_interval(hours => 9 + mod(i, 9), mins => mod(i, 60)),
    %(actor)s, ('10.0.0.' || (1 + mod(i, 200)))::inet,
    (%(actions)s::text[])[1 + mod(i, %(k)s)], %(ct)s,
    (1 + mod(i * 7, %(n)s))::text, 'L' || (1 + mod(i * 7, %(n)s)),
    'bench event', '{"status": "active"}', '{"status": "active", "note": "bench"}'
FROM generate_series(1, greatest(%(n)s / 5, 10)) AS i"""

APPROVALS = """INSERT INTO loans_approval (kind, status, amount, reason, summary, proposed_by_id,
    proposed_at, decided_by_id, decided_at, decision_note, content_type_id, object_id,
    object_repr, payload)
SELECT (ARRAY['refund', 'write_off', 'manual_posting', 'hardship_plan'])[1 + mod(i, 4)],
    st.status, 100 + mod(i, 5000), 'bench', 'bench proposal #' || i, %(actor)s, at,
    CASE WHEN st.status <> 'proposed' THEN %(actor)s END,
    CASE WHEN st.status <> 'proposed' THEN at + interval '1 hour' END, '', NULL, '', '', '{}'
FROM generate_series(1, greatest(%(n)s / 100, 10)) AS i
CROSS JOIN LATERAL (SELECT %(d)s::date - mod(i, 365) + make_interval(hours => 9 + mod(i, 9))
    AS at) a
CROSS JOIN LATERAL (SELECT CASE WHEN mod(i, 10) = 0 THEN 'proposed' WHEN mod(i, 10) = 1
    THEN 'rejected' ELSE 'approved' END AS status) st"""


def execute(label: str, sql: str, params: dict) -> None:
    log(f"inserting {label}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def table_exists(table: str) -> bool:
    return table in connection.introspection.table_names()


def make_collectors() -> None:
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"collector{n}", password="!", is_staff=True)
        for n in range(10 * len(QUEUES))
    )
    Collector.objects.bulk_create(
        Collector(user=user, staff_number=f"C{n:04d}", queue=QUEUES[n % len(QUEUES)])
        for n, user in enumerate(users)
    )


def build(n: int, *, superuser) -> None:
    product = LoanProduct.objects.create(code="bench", name="Bench 10 × monthly", terms=[10])
    who = identities()
    params = {"d": D, "n": n, "product": product.pk, "rule": GUARD_RULES[0], **who}
    del params["plain"]
    log(f"planning {n:,} loans")
    with connection.cursor() as cursor:
        cursor.execute(PLAN, params)
    steps = [("borrowers", BORROWERS), ("credit assessments", ASSESSMENTS), *BUILD[2:], *EXTRA]
    for label, sql in steps:
        execute(label, sql, params)
    make_collectors()
    for label, sql in CASES:
        execute(label, sql, params)
    if table_exists("loans_auditevent"):
        from loans.audit import ACTIONS  # the lead's audit trail, once it has landed

        ct = ContentType.objects.get_for_model(Loan).pk
        execute(
            "audit events",
            AUDIT,
            {
                **params,
                "actor": superuser.pk,
                "ct": ct,
                "actions": list(ACTIONS),
                "k": len(ACTIONS),
            },
        )
    if table_exists("loans_approval"):
        execute("approvals", APPROVALS, {**params, "actor": superuser.pk})
    with connection.cursor() as cursor:
        for table in (
            "loans_borrower loans_creditassessment loans_creditline loans_loanapplication "
            "loans_contract loans_loan loans_repayment"
        ).split():
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        # The borrower the searches look for: one with a case, real blind indexes.
        cursor.execute("SELECT min(borrower_id) FROM collections_collectioncase")
        target = cursor.fetchone()[0] or 1
        number, mobile = who["plain"][target % K]
        cursor.execute(
            "UPDATE loans_borrower SET id_number_index = %s, mobile_index = %s WHERE id = %s",
            [id_number_index(number), mobile_index(mobile), target],
        )
        cursor.execute(
            "UPDATE notifications_smsmessage SET phone_index = %s WHERE borrower_id = %s",
            [mobile_index(mobile), target],
        )
        cursor.execute(
            "CREATE TABLE bench_target AS SELECT %s::bigint AS borrower_id, %s::text AS mobile,"
            " (SELECT min(id) FROM loans_contract) AS contract_id,"
            " (SELECT min(id) FROM loans_repayment) AS repayment_id",
            [target, mobile],
        )
        log("VACUUM ANALYZE")
        cursor.execute("VACUUM ANALYZE")
