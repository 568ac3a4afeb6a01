"""The send-out: several provider requests in flight per batch under one per-second limit,
and a dispatcher that hands each queued message to one task only."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from notifications import services, tasks
from notifications.backends.rate import RateLimiter, RedisRateLimiter
from notifications.models import SmsMessage
from tests import factories

Status = SmsMessage.Status


def queued(count: int, *, prefix: str = "sendout") -> list[SmsMessage]:
    borrower = factories.borrower()
    return [
        services.queue_sms(
            borrower=borrower,
            template="repayment_received",
            body=f"您的第{n}笔还款已到账。",
            purpose=SmsMessage.Purpose.TRANSACTIONAL,
            dedupe_key=f"{prefix}:{n}",
            obeys_quiet_hours=False,
        )
        for n in range(count)
    ]


def collect_tasks(monkeypatch) -> list[list[int]]:
    """Batches dispatch hands out, kept instead of queued."""
    batches: list[list[int]] = []
    monkeypatch.setattr(tasks, "async_task", lambda func, ids, **kw: batches.append(ids))
    return batches


@pytest.mark.django_db
def test_a_batch_keeps_several_requests_in_flight(fake_tencent, settings):
    settings.SMS_CONCURRENCY = 8
    fake_tencent.latency = 0.3
    messages = queued(16)  # one borrower, sixteen texts: sixteen requests

    assert services.send_messages([m.pk for m in messages]) == 16

    assert fake_tencent.max_in_flight >= 4  # one at a time would never overlap
    serials = set()
    for message in messages:
        message.refresh_from_db()
        assert message.status == Status.SENT
        serials.add(message.provider_id)
        # Each request named its message, for the receipts of one left in doubt.
        assert fake_tencent.contexts[f"outbox:{message.pk}"] == 1
    assert len(serials) == 16


@pytest.mark.django_db
def test_every_result_lands_on_its_own_message(fake_tencent, settings):
    settings.SMS_CONCURRENCY = 6
    fake_tencent.latency = 0.05
    messages = [queued(1, prefix=f"own{n}")[0] for n in range(12)]
    refused = messages[3]
    fake_tencent.fail_number(f"+86{refused.phone}", "FailedOperation.PhoneNumberInBlacklist", "黑")

    assert services.send_messages([m.pk for m in messages]) == 11

    for message in messages:
        message.refresh_from_db()
        if message.pk == refused.pk:
            assert message.status == Status.QUEUED
            assert message.error == "FailedOperation.PhoneNumberInBlacklist: 黑"
        else:
            assert message.status == Status.SENT
            assert fake_tencent.issued[message.provider_id] == f"+86{message.phone}"
    assert fake_tencent.sent_twice() == 0


@pytest.mark.django_db
def test_the_rate_limit_holds_across_the_threads_of_a_batch(fake_tencent, settings):
    settings.SMS_CONCURRENCY = 8
    settings.SMS_RATE_LIMIT_PER_SECOND = 20
    messages = [queued(1, prefix=f"rate{n}")[0] for n in range(21)]

    started = time.perf_counter()
    assert services.send_messages([m.pk for m in messages]) == 21

    # 21 sends at 20 a second: the last waits 20 intervals of 50 ms, however many threads.
    assert time.perf_counter() - started >= 0.95


def test_the_rate_limiter_spaces_sends_from_many_threads():
    limiter = RateLimiter(100)
    limiter.acquire()  # the first goes at once

    def send_ten():
        for _ in range(10):
            limiter.acquire()

    started = time.perf_counter()
    threads = [threading.Thread(target=send_ten) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert time.perf_counter() - started >= 0.29  # 30 more sends, 10 ms apart
    assert RateLimiter(0).acquire(1000) == 0.0  # 0: no limit


@pytest.mark.django_db
def test_a_second_dispatch_never_hands_out_the_same_messages(monkeypatch, settings, sms_outbox):
    settings.SMS_BATCH_SIZE = 4
    batches = collect_tasks(monkeypatch)
    messages = queued(10)

    assert tasks.dispatch() == 10
    assert tasks.dispatch() == 0  # a minute later, the batches not yet run
    handed = [pk for batch in batches for pk in batch]
    assert sorted(handed) == sorted(m.pk for m in messages)

    # Even a batch run twice (the broker redelivering it) sends each message once.
    for batch in [*batches, *batches]:
        tasks.send_batch(batch)
    assert sorted(m.pk for m in sms_outbox) == sorted(m.pk for m in messages)
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {Status.SENT}


@pytest.mark.django_db
def test_a_batch_lost_with_its_task_is_handed_out_again_after_the_expiry(monkeypatch, settings):
    settings.SMS_DISPATCH_EXPIRY = 600
    batches = collect_tasks(monkeypatch)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        messages = queued(3)
        assert tasks.dispatch() == 3
        clock.shift(timedelta(seconds=599))
        assert tasks.dispatch() == 0
        clock.shift(timedelta(seconds=2))
        assert tasks.dispatch() == 3
    assert batches[0] == batches[1] == sorted(m.pk for m in messages)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatches_and_their_batches_send_each_message_once(
    fake_tencent, monkeypatch, settings
):
    settings.SMS_BATCH_SIZE = 7
    settings.SMS_CONCURRENCY = 4
    batches = collect_tasks(monkeypatch)
    messages = queued(60)
    barrier = threading.Barrier(2, timeout=30)
    counts, errors = [], []

    def run_dispatch():
        try:
            barrier.wait()
            counts.append(tasks.dispatch())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_dispatch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(counts) == 60
    handed = [pk for batch in batches for pk in batch]
    assert len(handed) == len(set(handed)) == 60

    # The batches run two at a time, each one twice over.
    def run(batch):
        try:
            tasks.send_batch(batch)
        finally:
            connection.close()

    for i in range(0, len(batches), 2):
        pair = batches[i : i + 2]
        workers = [threading.Thread(target=run, args=(b,)) for b in (*pair, *pair)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)

    assert fake_tencent.sent_twice() == 0
    assert sum(fake_tencent.accepted.values()) == 60
    statuses = SmsMessage.objects.filter(pk__in=[m.pk for m in messages]).values_list(
        "status", flat=True
    )
    assert set(statuses) == {Status.SENT}


REDIS_URL = "redis://127.0.0.1:6379/5"


def test_with_redis_the_rate_limit_holds_across_processes():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    key = f"test:sms:rate:{time.time_ns()}"
    # Two processes' limiters (two instances, nothing shared in memory), 50 a second in all.
    limiters = [RedisRateLimiter(50, REDIS_URL, key=key) for _ in range(2)]

    def send(limiter):
        for _ in range(25):
            limiter.acquire()

    started = time.perf_counter()
    threads = [threading.Thread(target=send, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        # 50 sends at 50 a second: about a second; each process counting alone, half that.
        assert time.perf_counter() - started >= 0.9
    finally:
        client.delete(key)


def test_without_redis_the_limit_still_holds_in_the_process():
    limiter = RedisRateLimiter(100, "redis://127.0.0.1:1/5", key="test:sms:rate:none")
    started = time.perf_counter()
    for _ in range(11):
        limiter.acquire()
    assert time.perf_counter() - started >= 0.09


@pytest.mark.django_db
def test_the_backend_books_its_sends_on_redis_when_there_is_one(fake_tencent, settings):
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    client.delete("sms:rate")
    settings.REDIS_URL = REDIS_URL
    settings.SMS_CONCURRENCY = 4
    settings.SMS_RATE_LIMIT_PER_SECOND = 20
    messages = [queued(1, prefix=f"redis{n}")[0] for n in range(21)]

    started = time.perf_counter()
    assert services.send_messages([m.pk for m in messages]) == 21

    assert time.perf_counter() - started >= 0.95
    assert client.exists("sms:rate")  # the schedule every worker shares
    client.delete("sms:rate")
