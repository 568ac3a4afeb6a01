"""A real qcluster SIGKILLed in the middle of a send-out, then a new one started: every
message reaches the provider exactly once, none is left "sending", none is lost."""

import signal
import time

import pytest
from django.db import connection

from notifications import services, tasks
from notifications.models import SmsMessage
from tests import factories
from tests.notifications.cluster import cluster_env, kill_cluster, start_cluster

Status = SmsMessage.Status
MESSAGES = 300
DEADLINE = 180  # seconds for the whole send-out, kill and recovery included


def key(message: SmsMessage) -> tuple[str, str]:
    """How the fake counts a message: its number and its text."""
    return f"+86{message.phone}", message.text.removeprefix("【微众银行】")


def wait_for(condition, what: str, deadline: float, every: float = 0.2) -> None:
    while time.perf_counter() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_cluster_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    fake_tencent, settings, tmp_path
):
    # In doubt after 20 s: longer than a batch takes here (50 messages, 4 in flight, 0.1 s
    # each), as the production default is longer than a task's timeout.
    timings = {"SMS_BATCH_SIZE": 50, "SMS_IN_DOUBT_AFTER": 20, "SMS_DISPATCH_EXPIRY": 30}
    for name, value in timings.items():
        setattr(settings, name, value)  # the dispatcher runs here, in the test
    fake_tencent.latency = 0.1
    fake_tencent.auto_receipts = True  # receipts echo SessionContext, as Tencent's do
    borrower = factories.borrower()
    for n in range(MESSAGES):
        services.queue_sms(
            borrower=borrower,
            template="due_reminder",
            body=f"您的第{n}期借款即将到期。",
            purpose=SmsMessage.Purpose.TRANSACTIONAL,
            dedupe_key=f"kill:{n}",
            obeys_quiet_hours=False,
        )
    env = cluster_env(
        database=connection.settings_dict["NAME"],
        fake=fake_tencent,
        SMS_CONCURRENCY=4,
        TENCENT_SMS_TIMEOUT=5,
        **timings,
    )
    deadline = time.perf_counter() + DEADLINE
    clusters = []

    def sending() -> tuple[int, int]:
        """Messages "sending" that the fake has accepted, and those it has not seen."""
        rows = SmsMessage.objects.filter(status=Status.SENDING)
        seen = sum(key(m) in fake_tencent.accepted for m in rows)
        return seen, len(rows) - seen

    def mid_batch() -> bool:
        seen, unseen = sending()
        return seen > 0 and unseen > 0

    try:
        clusters.append(start_cluster(env, tmp_path / "first.log"))
        assert tasks.dispatch() == MESSAGES
        # Killed when a batch is half sent: some of its messages accepted by the provider
        # without the answer recorded, others never sent; both are left "sending".
        wait_for(mid_batch, "the first cluster to be mid-batch", deadline)
        kill_cluster(clusters[0], signal.SIGKILL)
        seen, unseen = sending()
        assert seen > 0 and unseen > 0
        assert sum(fake_tencent.accepted.values()) < MESSAGES

        clusters.append(start_cluster(env, tmp_path / "second.log"))

        def all_settled() -> bool:
            tasks.dispatch()  # what the every-minute schedule does
            return not SmsMessage.objects.filter(
                status__in=[Status.QUEUED, Status.SENDING]
            ).exists()

        wait_for(all_settled, "every message to be sent", deadline, every=1)
    finally:
        for cluster in clusters:
            kill_cluster(cluster, signal.SIGKILL)

    messages = list(SmsMessage.objects.all())
    assert len(messages) == MESSAGES
    assert {m.status for m in messages} <= {Status.SENT, Status.DELIVERED}
    # The fake saw each message (number and text) exactly once, and nothing else.
    sent = {key(m) for m in messages}
    assert set(fake_tencent.accepted) == sent
    assert fake_tencent.sent_twice() == 0
    assert all(fake_tencent.issued[m.provider_id] == f"+86{m.phone}" for m in messages)
