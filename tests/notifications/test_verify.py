"""The public /verify/ page: is this text really from us? (DESIGN §5 Verification)."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from notifications import selectors
from notifications.models import SmsMessage
from notifications.services import queue_sms, send_messages
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/verify/"
MOBILE = "13912345678"
NAME = "欧阳明远"
BODY = "您本期应还款1,234.56元，请于2026年3月15日前还款。"
SENT_AT = datetime(2026, 3, 5, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Rate-limit counters live in the cache: an in-memory one, empty for every test."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "verify-tests",
        }
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def borrower():
    return factories.borrower(name=NAME, mobile=MOBILE)


def queued(borrower, key="t1") -> SmsMessage:
    return queue_sms(
        borrower=borrower,
        template="due_reminder",
        body=BODY,
        purpose=SmsMessage.Purpose.TRANSACTIONAL,
        dedupe_key=f"test:{key}",
    )


def send(message: SmsMessage) -> SmsMessage:
    with time_machine.travel(SENT_AT, tick=False):  # daytime: no quiet-hours wait
        assert send_messages([message.pk]) == 1
    message.refresh_from_db()
    assert message.sent_at == SENT_AT
    return message


@pytest.fixture
def sent(borrower) -> SmsMessage:
    with time_machine.travel(SENT_AT, tick=False):
        message = queued(borrower)
    send(message)
    assert message.status == SmsMessage.Status.SENT
    return message


def check(client, phone, code, *, ip="10.0.0.1", lang="en"):
    return client.post(
        URL, {"phone": phone, "code": code}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE=lang
    )


def result_section(response) -> str:
    match = re.search(
        r'<section[^>]*id="verify-result".*?</section>', response.content.decode(), re.S
    )
    assert match, "no result section"
    return match.group(0)


def other_code(code: str) -> str:
    return ("B" if code[0] != "B" else "C") + code[1:]


def test_empty_page_shows_form_and_scam_advice(client, settings):
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="verify-result"' not in page
    assert settings.SMS_SIGNATURE in page
    assert settings.SERVICE_PHONE in page
    assert "safe account" in page
    assert "never contain links to other websites" in page


def test_portal_footer_links_to_the_check(client):
    page = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/verify/"' in page
    assert "Got a text claiming to be from us? Check it" in page


def test_genuine_message_shows_time_and_full_text(client, sent):
    response = check(client, MOBILE, sent.verification_code)
    assert response.status_code == 200
    section = result_section(response)
    assert 'data-result="genuine"' in section
    assert "This message is genuine" in section
    assert "2026-03-05 09:30" in section  # local time, not UTC
    assert sent.text in section
    assert sent.text.startswith("【微众银行】")


def test_genuine_message_in_chinese(client, sent):
    response = check(client, MOBILE, sent.verification_code, lang="zh-hans")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in page
    section = result_section(response)
    assert 'data-result="genuine"' in section
    assert "2026-03-05 09:30" in section
    assert sent.text in section


def test_delivered_message_is_genuine(client, sent):
    SmsMessage.objects.filter(pk=sent.pk).update(status=SmsMessage.Status.DELIVERED)
    assert 'data-result="genuine"' in result_section(check(client, MOBILE, sent.verification_code))


@pytest.mark.parametrize(
    "status", [SmsMessage.Status.QUEUED, SmsMessage.Status.SENDING, SmsMessage.Status.FAILED]
)
def test_message_never_sent_is_not_genuine(client, borrower, status):
    message = queued(borrower)
    SmsMessage.objects.filter(pk=message.pk).update(status=status)
    section = result_section(check(client, MOBILE, message.verification_code))
    assert 'data-result="not_found"' in section
    assert message.text not in section


@pytest.mark.parametrize(
    "phone", ["+86 139 1234 5678", "13912345678", "139-1234-5678", "８６１３９１２３４５６７８"]
)
def test_phone_formats(client, sent, phone):
    assert 'data-result="genuine"' in result_section(check(client, phone, sent.verification_code))


def test_code_is_case_insensitive_and_trimmed(client, sent):
    code = f"  {sent.verification_code.lower()} "
    assert 'data-result="genuine"' in result_section(check(client, MOBILE, code))


def test_every_miss_looks_the_same(client, sent, settings):
    code = sent.verification_code
    other = factories.borrower(mobile="13700001111")  # registered, but not this message's phone
    queued(other, key="other")
    misses = {
        "wrong code": (MOBILE, other_code(code)),
        "wrong phone": ("13700001111", code),
        "unknown phone": ("13600002222", code),
        "garbage phone": ("not a phone <script>", code),
        "landline": ("010 6552 9988", code),
        "malformed code": (MOBILE, "?" * 300),
    }
    responses = {
        name: check(client, phone, code_, ip=f"10.0.1.{i}")
        for i, (name, (phone, code_)) in enumerate(misses.items())
    }
    assert {r.status_code for r in responses.values()} == {200}
    sections = {name: result_section(r) for name, r in responses.items()}
    assert len(set(sections.values())) == 1, sections
    section = sections["wrong code"]
    assert "We could not find a message with this number and code" in section
    assert settings.SERVICE_PHONE in section
    assert "Do not click any links" in section
    assert sent.text not in section
    for response in responses.values():
        assert sent.text not in response.content.decode()


def test_page_never_shows_who_the_borrower_is(client, sent, borrower):
    page = check(client, MOBILE, sent.verification_code).content.decode()
    assert NAME not in page
    assert NAME[0] + "*" not in page  # not even masked
    assert borrower.id_number not in page
    assert borrower.id_number[-4:] not in page
    assert "139****5678" not in page


def test_only_the_matching_message_is_shown(client, borrower, sent):
    with time_machine.travel(SENT_AT, tick=False):
        second = send(queued(borrower, key="t2"))
    section = result_section(check(client, MOBILE, sent.verification_code))
    assert sent.text in section
    assert second.text not in section


def test_empty_fields_are_form_errors_not_checks(client, sent):
    for _ in range(12):
        response = client.post(URL, {"phone": "", "code": " "}, REMOTE_ADDR="10.0.0.9")
        assert response.status_code == 200
        assert 'id="verify-result"' not in response.content.decode()
        assert response.context["form"].errors.keys() == {"phone", "code"}
    assert check(client, MOBILE, sent.verification_code, ip="10.0.0.9").status_code == 200


def test_ip_limit_is_10_checks(client, sent):
    for i in range(10):
        response = check(client, f"1360000{i:04d}", "ABCDE", ip="10.0.0.2")
        assert response.status_code == 200
    limited = check(client, MOBILE, sent.verification_code, ip="10.0.0.2")
    assert limited.status_code == 429
    section = result_section(limited)
    assert 'data-result="limited"' in section
    assert "Too many checks" in section
    assert sent.text not in limited.content.decode()
    # Other clients are unaffected.
    assert check(client, MOBILE, sent.verification_code, ip="10.0.0.3").status_code == 200


@pytest.mark.parametrize("registered", [True, False])
def test_phone_limit_is_5_checks_from_any_ip(client, sent, registered):
    phone = MOBILE if registered else "13600002222"
    for i in range(5):
        assert check(client, phone, "ABCDE", ip=f"10.0.2.{i}").status_code == 200
    # Written differently, still the same number.
    limited = check(client, "+86 " + phone, sent.verification_code, ip="10.0.2.99")
    assert limited.status_code == 429
    assert 'data-result="limited"' in result_section(limited)
    assert sent.text not in limited.content.decode()
    # Other numbers are unaffected.
    assert check(client, "13500003333", "ABCDE", ip="10.0.2.99").status_code == 200


def test_limited_answer_is_the_same_for_every_number(client):
    bodies = set()
    for phone in ("13912345678", "13600002222"):
        for i in range(5):
            check(client, phone, "ABCDE", ip=f"10.0.3.{i}")
        response = check(client, phone, "ABCDE", ip="10.0.3.50")
        assert response.status_code == 429
        bodies.add(result_section(response))
    assert len(bodies) == 1


def test_selector_directly(sent):
    assert selectors.find_genuine_message(phone=MOBILE, code=sent.verification_code) == sent
    assert (
        selectors.find_genuine_message(phone=MOBILE, code=other_code(sent.verification_code))
        is None
    )
    assert selectors.find_genuine_message(phone="", code="") is None
    assert selectors.find_genuine_message(phone="x" * 10_000, code=sent.verification_code) is None
