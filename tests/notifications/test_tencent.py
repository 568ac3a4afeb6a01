"""The Tencent Cloud SMS backend, through the real SDK against a local fake API server."""

import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from notifications import services, tasks
from notifications.backends.tencent import Receipt, SmsBackend
from notifications.models import SmsMessage
from notifications.receipts import record_delivery_receipts
from tests import factories

pytestmark = pytest.mark.django_db
Status = SmsMessage.Status
APP_ID, TEMPLATE_ID, SIGN_NAME = "1400000001", "2100001", "微众银行"


def queued(count: int, *, body: str = "您的还款已到账，感谢您按时还款。") -> list[SmsMessage]:
    messages = []
    for _ in range(count):
        borrower = factories.borrower()
        messages.append(
            services.queue_sms(
                borrower=borrower,
                template="repayment_received",
                body=body,
                purpose=SmsMessage.Purpose.TRANSACTIONAL,
                dedupe_key=f"test-repayment:{borrower.pk}",
                obeys_quiet_hours=False,  # a confirmation goes out at once, day or night
            )
        )
    return messages


def same_text(messages: list[SmsMessage]) -> str:
    """Give the messages one text, as a broadcast would have: only then may they share a
    request (every real message carries its own verification code)."""
    text = services.compose("系统将于今晚22:00维护一小时。", "BCAST")
    SmsMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
        text=text, verification_code="BCAST"
    )
    return text.removeprefix("【微众银行】")


def number(message: SmsMessage) -> str:
    return f"+86{message.phone}"


def refreshed(messages: list[SmsMessage]) -> list[SmsMessage]:
    for message in messages:
        message.refresh_from_db()
    return messages


def test_each_message_is_sent_with_its_own_text(fake_tencent):
    messages = queued(3)

    assert services.send_messages([m.pk for m in messages]) == 3

    # Every text carries its own verification code, so each goes in its own request: one
    # borrower's text never reaches another borrower.
    requests = {body["PhoneNumberSet"][0]: body for body in fake_tencent.sent()}
    assert len(requests) == 3
    for message in refreshed(messages):
        assert requests[number(message)] == {
            "PhoneNumberSet": [number(message)],
            "SmsSdkAppId": APP_ID,
            "TemplateId": TEMPLATE_ID,
            "SignName": SIGN_NAME,
            "TemplateParamSet": [message.text.removeprefix("【微众银行】")],
            # Echoed in the provider's receipts: a send left in doubt is settled by them.
            "SessionContext": f"outbox:{message.pk}",
        }
        assert message.verification_code in requests[number(message)]["TemplateParamSet"][0]
        assert message.status == Status.SENT
        assert fake_tencent.issued[message.provider_id] == number(message)
        assert message.sent_at is not None and message.error == ""
    assert all("TC3-HMAC-SHA256" in r.headers["Authorization"] for r in fake_tencent.requests)


def test_messages_with_the_same_text_share_one_request(fake_tencent):
    messages = queued(3)
    text = same_text(messages)

    assert services.send_messages([m.pk for m in messages]) == 3

    [request] = fake_tencent.sent()
    assert sorted(request["PhoneNumberSet"]) == sorted(number(m) for m in messages)
    assert request["TemplateId"] == TEMPLATE_ID
    assert request["SignName"] == SIGN_NAME
    assert request["SmsSdkAppId"] == APP_ID
    assert request["TemplateParamSet"] == [text]
    for message in refreshed(messages):
        assert message.status == Status.SENT
        assert fake_tencent.issued[message.provider_id] == number(message)


def test_a_refused_number_is_retried_then_stays_failed_with_the_providers_error(fake_tencent):
    messages = queued(3)
    same_text(messages)
    refused = messages[1]
    fake_tencent.fail_number(
        number(refused), "LimitExceeded.PhoneNumberDailyLimit", "daily limit for this number"
    )

    assert services.send_messages([m.pk for m in messages]) == 2

    first, refused, third = refreshed(messages)
    assert first.status == third.status == Status.SENT
    assert (refused.status, refused.attempts, refused.provider_id) == (Status.QUEUED, 1, "")
    assert refused.error == "LimitExceeded.PhoneNumberDailyLimit: daily limit for this number"

    assert refused.send_after > timezone.now()  # retried later, with backoff
    for _ in range(services.MAX_ATTEMPTS - 1):
        SmsMessage.objects.filter(pk=refused.pk).update(send_after=timezone.now())  # time passes
        assert services.send_messages([refused.pk]) == 0
    refused.refresh_from_db()
    assert (refused.status, refused.attempts) == (Status.FAILED, services.MAX_ATTEMPTS)
    assert refused.error.startswith("LimitExceeded.PhoneNumberDailyLimit:")
    assert services.send_messages([m.pk for m in messages]) == 0  # nothing left to send
    assert len(fake_tencent.sent()) == services.MAX_ATTEMPTS


def test_a_refused_request_leaves_every_message_unsent(fake_tencent):
    messages = queued(3)
    fake_tencent.fail_requests("AuthFailure.SecretIdNotFound", "The SecretId is not found.")

    assert services.send_messages([m.pk for m in messages]) == 0

    for message in refreshed(messages):
        assert (message.status, message.attempts, message.provider_id) == (Status.QUEUED, 1, "")
        assert message.error == "AuthFailure.SecretIdNotFound: The SecretId is not found."
        assert message.sent_at is None


def test_a_wrong_secret_key_is_refused_by_the_signature_check(fake_tencent, settings):
    settings.TENCENT_SMS_SECRET_KEY = "not-the-key"
    [message] = queued(1)

    assert services.send_messages([message.pk]) == 0

    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.error.startswith("AuthFailure.SignatureFailure:")


def test_a_network_error_leaves_every_message_unsent(fake_tencent, settings):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        settings.TENCENT_SMS_ENDPOINT = f"127.0.0.1:{s.getsockname()[1]}"
    messages = queued(2)

    assert services.send_messages([m.pk for m in messages]) == 0

    for message in refreshed(messages):
        assert (message.status, message.attempts) == (Status.QUEUED, 1)
        assert message.error.startswith("ClientNetworkError:")


def test_more_than_200_numbers_go_in_batches_of_200(fake_tencent):
    # The backend never touches the database, so unsaved rows will do.
    text = services.compose("系统将于今晚22:00维护一小时。", "BCAST")
    messages = [
        SmsMessage(pk=i, phone=f"139{i:08d}", template="notice", text=text) for i in range(1, 451)
    ]
    fake_tencent.fail_number("+8613900000007", "FailedOperation.PhoneNumberInBlacklist", "黑名单")

    results = SmsBackend().send(messages)

    assert [len(r["PhoneNumberSet"]) for r in fake_tencent.sent()] == [200, 200, 50]
    assert len(results) == 450
    for message, result in zip(messages, results, strict=True):
        if message.phone == "13900000007":
            assert result.ok is False
            assert result.error == "FailedOperation.PhoneNumberInBlacklist: 黑名单"
        else:
            assert result.ok, result
            assert fake_tencent.issued[result.provider_id] == number(message)


def test_templates_numbers_and_configuration(fake_tencent, settings):
    settings.TENCENT_SMS_TEMPLATE_IDS = {"login_code": "2100009"}
    text = services.compose("您的登录验证码为123456。", "CODE1")
    messages = [
        SmsMessage(pk=1, phone="13900000001", template="login_code", text=text),
        SmsMessage(pk=2, phone="13900000002", template="notice", text=text),
        SmsMessage(pk=3, phone="13900000002", template="notice", text=text),  # same number twice
        SmsMessage(pk=4, phone="12345", template="notice", text=text),
    ]

    results = SmsBackend().send(messages)

    assert [r.ok for r in results] == [True, True, True, False]
    assert results[3].error.startswith("invalid mobile")
    sent = [(r["TemplateId"], r["PhoneNumberSet"]) for r in fake_tencent.sent()]
    assert sent == [
        ("2100009", ["+8613900000001"]),
        ("2100001", ["+8613900000002"]),
        ("2100001", ["+8613900000002"]),  # one number at most once per request
    ]

    settings.TENCENT_SMS_TEMPLATE_ID = ""
    settings.TENCENT_SMS_SECRET_ID = ""
    unmapped, mapped = SmsBackend().send(messages[1:2] + messages[:1])
    assert unmapped.error == "no Tencent template id for template 'notice'"
    assert mapped.error == "ImproperlyConfigured: Tencent SMS needs TENCENT_SMS_SECRET_ID"
    assert len(fake_tencent.sent()) == 3  # nothing more reached the server


def test_delivery_receipts_mark_messages_delivered_or_failed(fake_tencent, caplog):
    messages = queued(3)
    services.send_messages([m.pk for m in messages])
    first, second, third = refreshed(messages)
    at = datetime(2026, 3, 2, 1, 30, 5, tzinfo=UTC)
    fake_tencent.queue_receipt(first.provider_id, number(first), at=at)
    fake_tencent.queue_receipt(second.provider_id, number(second), at=at + timedelta(minutes=2))
    fake_tencent.queue_receipt(third.provider_id, number(third), delivered=False, at=at)
    fake_tencent.queue_receipt("2433:99999999999999999999", "+8613900000000", at=at)

    with caplog.at_level(logging.INFO, logger="notifications.receipts"):
        assert tasks.pull_delivery_receipts() == 3

    first, second, third = refreshed(messages)
    assert (first.status, first.delivered_at) == (Status.DELIVERED, at)
    assert (second.status, second.delivered_at) == (Status.DELIVERED, at + timedelta(minutes=2))
    assert (third.status, third.delivered_at) == (Status.FAILED, None)
    assert third.error == "FAIL: UNDELIV"
    assert "2433:99999999999999999999" in caplog.text  # the unknown serial is only logged
    pulls = [r.body for r in fake_tencent.requests if r.action == "PullSmsSendStatus"]
    assert pulls == [{"SmsSdkAppId": APP_ID, "Limit": 100}]
    assert tasks.pull_delivery_receipts() == 0  # each receipt is handed out once


def test_pulled_receipts_are_parsed(fake_tencent):
    at = datetime(2026, 3, 2, 1, 30, 5, tzinfo=UTC)
    fake_tencent.queue_receipt("2433:1", "+8613900000001", at=at)
    fake_tencent.queue_receipt("2433:2", "+8613900000002", delivered=False, description="MK:0005")

    first, second = SmsBackend().pull_delivery_receipts(limit=500)  # at most 100 per pull

    assert first == Receipt(
        serial_no="2433:1",
        phone="+8613900000001",
        delivered=True,
        at=at,
        code="SUCCESS",
        description="DELIVRD",
    )
    assert first.at.tzinfo is not None
    assert (second.delivered, second.code, second.description) == (False, "FAIL", "MK:0005")


def test_the_task_drains_the_receipt_queue_and_ignores_unknown_serials(fake_tencent):
    for i in range(150):
        fake_tencent.queue_receipt(f"2433:{i}", "+8613900000001")

    assert tasks.pull_delivery_receipts() == 0

    assert [r.action for r in fake_tencent.requests] == ["PullSmsSendStatus"] * 2
    assert fake_tencent.receipts == []


def test_a_late_receipt_never_changes_a_settled_message():
    [message] = queued(1)
    at = datetime(2026, 3, 2, 1, 30, 5, tzinfo=UTC)
    SmsMessage.objects.filter(pk=message.pk).update(
        status=Status.DELIVERED, provider_id="2433:1", delivered_at=at
    )

    fail = Receipt("2433:1", number(message), False, at, "FAIL", "UNDELIV")
    assert record_delivery_receipts([fail]) == 0

    message.refresh_from_db()
    assert (message.status, message.delivered_at, message.error) == (Status.DELIVERED, at, "")


def test_the_task_does_nothing_for_backends_without_receipts(sms_outbox):
    assert tasks.pull_delivery_receipts() == 0


def test_a_proxy_set_for_the_worker_still_carries_every_request(fake_tencent, monkeypatch):
    """The backend keeps `requests` from re-reading the environment on each request (a third of
    its CPU per message); the SDK read the proxy when it built its client, so it is still
    used: here a proxy nobody listens on stops the request before it reaches Tencent."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    text = services.compose("您的还款已到账。", "PROXY")
    message = SmsMessage(pk=1, phone="13900000001", template="notice", text=text)

    (through_proxy,) = SmsBackend().send([message])
    assert not through_proxy.ok and not through_proxy.in_doubt
    assert "ProxyError" in through_proxy.error or "refused" in through_proxy.error
    assert fake_tencent.sent() == []

    monkeypatch.delenv("HTTP_PROXY")
    (direct,) = SmsBackend().send([message])
    assert direct.ok and len(fake_tencent.sent()) == 1
