r"""Benchmark: the morning SMS send-out, N queued messages through the real path (dispatch →
django-q2 ORM broker → `send_batch` in a real `manage.py qcluster` with Q_WORKERS=2 worker
processes → the Tencent backend and SDK → a local fake Tencent API answering after a latency),
against a floor of the same requests sent straight to the fake by the same backend with the
same concurrency (2 processes, SMS_CONCURRENCY threads each), no database and no broker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python tests/benchmarks/sms_sendout.py --messages 139000 --latency-ms 50 [--keep]

PostgreSQL only (exit 2 otherwise). It creates and migrates its own database
`bench_sms_<pid>`, queues N messages with one INSERT … SELECT (each its own text and code, so
one provider request each, as real reminders are), starts the fake (it checks every TC3
signature and counts what it accepted per number and text) and then measures:

1. the floor: the messages' texts sent by `SmsBackend().send()` in batches of SMS_BATCH_SIZE
   from 2 processes (the fake's counters are reset afterwards);
2. the send-out: `dispatch()` once, as the every-minute schedule would, then the cluster sends
   until no message is queued or sending (deadline: 20 minutes).

Prints one JSON line: messages, seconds, messages_per_second, floor_seconds,
floor_messages_per_second, ratio (seconds / floor_seconds), sent_twice (messages the fake
accepted more than once), stuck (messages not sent at the end), requests, workers,
concurrency, latency_ms, batch_size. Exit 1 when a message was sent twice or not sent.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from benchdb import log, needs_postgresql, own_database  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from loans import crypto  # noqa: E402
from loans.models.borrowers import mobile_index  # noqa: E402
from notifications.models import SmsMessage  # noqa: E402
from tests.notifications.cluster import cluster_env, kill_cluster, start_cluster  # noqa: E402
from tests.notifications.fake_tencent import FakeTencentSms  # noqa: E402

WORKERS = 2  # Q_WORKERS in production
PHONES = 1000  # distinct numbers, each with its real Fernet token
DEADLINE = 20 * 60


def queue_messages(count: int) -> None:
    """N queued, due, daytime-free messages, each its own text; one statement."""
    mobiles = [f"139{n:08d}" for n in range(PHONES)]
    tokens = [crypto.encrypt(m) for m in mobiles]
    indexes = [mobile_index(m) for m in mobiles]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {SmsMessage._meta.db_table}
                (phone, phone_index, template, text, purpose, dedupe_key, verification_code,
                 status, attempts, provider_id, error, created_at, send_after,
                 obeys_quiet_hours, secret_masked)
            SELECT (%s::text[])[1 + i %% {PHONES}], (%s::text[])[1 + i %% {PHONES}],
                   'due_reminder', '【微众银行】您的借款第' || i || '期将于3日后到期。验证码'
                   || lpad(i::text, 6, '0'), 'transactional', 'bench-sendout:' || i,
                   lpad(i::text, 6, '0'), 'queued', 0, '', '', now(),
                   now() - interval '1 minute', false, false
            FROM generate_series(1, %s) AS i
            """,
            [tokens, indexes, count],
        )


def _send_floor(texts: list[tuple[int, str, str]]) -> int:
    """One floor process: batches of messages, in memory, through the backend."""
    from notifications.backends.tencent import SmsBackend

    size = settings.SMS_BATCH_SIZE
    sent = 0
    backend = SmsBackend()
    for start in range(0, len(texts), size):
        batch = [
            SmsMessage(pk=pk, phone=phone, template="due_reminder", text=text)
            for pk, phone, text in texts[start : start + size]
        ]
        sent += sum(r.ok for r in backend.send(batch))
    return sent


def floor(count: int) -> float:
    texts = list(SmsMessage.objects.order_by("id").values_list("id", "phone", "text")[:count])
    connection.close()
    chunks = [texts[i::WORKERS] for i in range(WORKERS)]
    with ProcessPoolExecutor(WORKERS, mp_context=get_context("spawn")) as pool:
        list(pool.map(time.sleep, [1.0] * WORKERS))  # both up before the clock starts
        started = time.perf_counter()
        sent = sum(pool.map(_send_floor, chunks))
        seconds = time.perf_counter() - started
    if sent != count:
        raise SystemExit(f"floor: {sent} of {count} sent")
    return seconds


def send_out(count: int, database: str, fake: FakeTencentSms, workdir: Path) -> float:
    from notifications import tasks

    env = cluster_env(
        database=database, fake=fake, workers=WORKERS, SMS_CONCURRENCY=settings.SMS_CONCURRENCY
    )
    cluster = start_cluster(env, workdir / "qcluster.log")
    try:
        time.sleep(3)  # the workers start before the clock does, as at 08:00 they have
        started = time.perf_counter()
        assert tasks.dispatch() == count
        while time.perf_counter() - started < DEADLINE:
            if cluster.poll() is not None:
                raise SystemExit(f"qcluster exited: {(workdir / 'qcluster.log').read_text()}")
            left = SmsMessage.objects.filter(
                status__in=[SmsMessage.Status.QUEUED, SmsMessage.Status.SENDING]
            ).count()
            if not left:
                break
            time.sleep(0.25)
        return time.perf_counter() - started
    finally:
        kill_cluster(cluster, wait=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=139_000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if needs_postgresql():
        return 2
    settings.DEBUG = False
    fake = FakeTencentSms(
        secret_id="AKIDbenchSecretId", secret_key="bench-secret-key", app_id="1400000001"
    )
    fake.latency = args.latency_ms / 1000
    fake.keep_requests = False  # counters only: hundreds of thousands of requests
    fake.keep_alive = True  # as Tencent's HTTPS endpoint
    fake.start()
    for name, value in cluster_env(database="", fake=fake).items():
        if name.startswith("TENCENT_SMS_") or name == "SMS_BACKEND":
            os.environ[name] = value  # the floor's processes read them at setup
            setattr(settings, name, value)
    try:
        with (
            own_database("bench_sms", keep=args.keep) as database,
            tempfile.TemporaryDirectory(prefix="bench_sms_") as workdir,
        ):
            os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
            queue_messages(args.messages)
            log(f"queued {args.messages} messages")
            floor_seconds = floor(args.messages)
            log(f"floor: {floor_seconds:.1f}s")
            fake.accepted.clear()
            fake.contexts.clear()
            requests_before = fake.send_requests
            seconds = send_out(args.messages, database, fake, Path(workdir))
            log(f"send-out: {seconds:.1f}s")
            stuck = SmsMessage.objects.exclude(status=SmsMessage.Status.SENT).count()
            result = {
                "messages": args.messages,
                "seconds": round(seconds, 2),
                "messages_per_second": round(args.messages / seconds),
                "floor_seconds": round(floor_seconds, 2),
                "floor_messages_per_second": round(args.messages / floor_seconds),
                "ratio": round(seconds / floor_seconds, 2),
                "sent_twice": fake.sent_twice(),
                "accepted": sum(fake.accepted.values()),
                "stuck": stuck,
                "requests": fake.send_requests - requests_before,
                "workers": WORKERS,
                "concurrency": settings.SMS_CONCURRENCY,
                "latency_ms": args.latency_ms,
                "batch_size": settings.SMS_BATCH_SIZE,
                "broker": "orm",
            }
    finally:
        fake.stop()
    print(json.dumps(result), flush=True)
    ok = result["sent_twice"] == 0 and result["stuck"] == 0
    return 0 if ok and result["accepted"] == args.messages else 1


if __name__ == "__main__":
    sys.exit(main())
