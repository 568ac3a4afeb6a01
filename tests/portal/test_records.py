"""What the borrower can see of their dealings with us: every SMS (login codes masked), every
collection contact (and the ones the guard stopped) with their rights and the one-tap
"written contact only" that the guard obeys, and the consents with the text agreed to."""

import html as html_module
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from debt_collection import guard
from debt_collection.guard import Rule
from debt_collection.models import (
    CaseEvent,
    CaseStatus,
    Channel,
    CollectionCase,
    Collector,
    ContactAttempt,
    ContactRestriction,
    HomeVisit,
)
from debt_collection.services import contacts
from loans import consents as consent_texts
from loans import crypto
from loans.models import Consent
from loans.models.borrowers import mobile_index
from loans.services import borrowers as borrower_services
from notifications import services as sms
from notifications.models import SmsMessage
from portal.forms import CreditApplicationForm
from portal.session import BORROWER_SESSION_KEY, PROOF_SESSION_KEY
from tests import factories
from tests.collections.casework import SHANGHAI

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(at(12), tick=False):
        yield


def sign_in(client, borrower):
    session = client.session
    session[BORROWER_SESSION_KEY] = borrower.pk
    session.save()


def page(client, name, lang="en", **params):
    response = client.get(reverse(f"portal:{name}"), params, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return html_module.unescape(response.content.decode())


def title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, flags=re.S).group(1)


def test_the_record_pages_render_for_their_owner_with_their_own_titles(client):
    borrower = factories.borrower()
    sign_in(client, borrower)
    titles = {title(page(client, name)) for name in ["messages", "collection_record", "consents"]}
    assert len(titles) == 3
    client.logout()
    for name in ["messages", "collection_record", "consents"]:
        response = client.get(reverse(f"portal:{name}"))
        assert response.status_code == 302 and response.url == reverse("portal:login")


# --- Messages ---------------------------------------------------------------------------------


def queue(borrower, key: str, body: str) -> SmsMessage:
    return sms.queue_sms(
        borrower=borrower,
        template="test",
        body=body,
        purpose=SmsMessage.Purpose.TRANSACTIONAL,
        dedupe_key=key,
        obeys_quiet_hours=False,
    )


def test_messages_newest_first_login_codes_masked_nobody_elses(client):
    borrower, other = factories.borrower(), factories.borrower(name="李四")
    with time_machine.travel(at(9), tick=False):
        older = queue(borrower, "a", "您的借款已放款。")
    with time_machine.travel(at(10), tick=False):
        login = sms.send_login_code(borrower=borrower, code="482913", request_id="r1")
    with time_machine.travel(at(11), tick=False):
        queue(other, "b", "别人的短信")
    sign_in(client, borrower)
    html = page(client, "messages")
    assert "482913" not in html  # the code was never stored, and is not shown
    assert "******" in html and login.text in html
    assert html.index(login.verification_code) < html.index(older.verification_code)
    assert "别人的短信" not in html
    assert "2026-03-02 10:00" in html and "2026-03-02 09:00" in html  # Beijing time
    assert reverse("notifications:verify") in html
    assert "Waiting to be sent" in html  # nothing was handed to the provider in this test


def test_messages_are_paginated_and_any_page_number_answers(client):
    borrower = factories.borrower()
    for n in range(35):
        with time_machine.travel(at(8) + timedelta(minutes=n), tick=False):
            queue(borrower, f"m{n}", f"第{n:02d}条")
    sign_in(client, borrower)
    first = page(client, "messages")
    assert "第34条" in first and "第05条" in first and "第04条" not in first
    second = page(client, "messages", page="2")
    assert "第04条" in second and "第00条" in second and "第05条" not in second
    for bad in ["abc", "0", "-1", "1.5", "99999", "9" * 5000, "\x00", ""]:
        assert "第" in page(client, "messages", page=bad)


def test_no_messages_yet(client):
    borrower = factories.borrower()
    sign_in(client, borrower)
    assert "not sent you any text message yet" in page(client, "messages")


# --- Collection record ------------------------------------------------------------------------


@pytest.fixture
def collector():
    user = factories.staff(username="wang.collector")
    user.first_name, user.last_name = "伟", "王"
    user.save()
    Collector.objects.create(user=user, staff_number="C0042", queue="M1")
    return user


def open_case(borrower, collector_user=None) -> CollectionCase:
    with time_machine.travel(date(2026, 1, 15)):
        loan = factories.loan(on=date(2026, 1, 15), borrower_obj=borrower)
    return CollectionCase.objects.create(
        loan=loan,
        borrower=borrower,
        bucket="M1",
        days_past_due=15,
        overdue_principal=Decimal("900.00"),
        overdue_total=Decimal("1050.00"),
        assigned_to=collector_user.collector if collector_user else None,
        opened_on=DAY - timedelta(days=14),
        updated_on=DAY,
    )


def test_the_collection_record_shows_made_and_blocked_contacts_and_nobody_elses(client, collector):
    borrower = factories.borrower(mobile="13912345678")
    case = open_case(borrower, collector)
    made, decision = guard.attempt(
        borrower=borrower, channel=Channel.CALL, staff=collector, at=at(10), case=case
    )
    assert decision.allowed
    contacts.record_call_outcome(attempt=made, outcome="no_answer", staff=collector)
    late, decision = guard.attempt(
        borrower=borrower, channel=Channel.CALL, staff=collector, at=at(21, 30), case=case
    )
    assert decision.rule == Rule.WINDOW
    other = factories.borrower(name="李四")
    other_user = factories.staff()
    Collector.objects.create(user=other_user, staff_number="C9999", queue="M1")
    guard.attempt(
        borrower=other, channel=Channel.CALL, staff=other_user, at=at(11), case=open_case(other)
    )
    sign_in(client, borrower)
    html = page(client, "collection_record")
    assert html.count("Staff number C0042") == 2 and "C9999" not in html
    assert "Call made: No answer" in html
    window = str(guard.RULE_MESSAGES[Rule.WINDOW])
    assert f"Not made ({window})" in html
    assert "Not made (Contact window: a borrower may be contacted only between 08:00 and 21:00" in (
        html
    )
    # Newest first; never the collector's name or any phone number.
    assert html.index("2026-03-02 21:30") < html.index("2026-03-02 10:00")
    assert "wang.collector" not in html and "王伟" not in html and "王" not in html
    assert "13912345678" not in html and "5678" not in html
    # The rights, with the numbers the guard applies.
    assert "between 08:00 and 21:00, Beijing time" in html
    assert "At most 6 calls a day, of which at most 3 that you answer" in html
    assert "at most 3 collection texts a day" in html
    assert "At most 7 contacts in any 7 days" in html
    assert "family, employer, friends" in html
    assert reverse("portal:complaint_new") in html and "95384" in html
    assert "王" not in page(client, "collection_record", lang="zh-hans")


def test_the_rights_follow_the_guard_settings(client, settings):
    settings.COLLECTION_WEEKLY_CONTACTS = 5
    settings.COLLECTION_CONTACT_WINDOW = ("09:00", "20:00")
    sign_in(client, factories.borrower())
    html = page(client, "collection_record")
    assert "At most 5 contacts in any 7 days" in html
    assert "between 09:00 and 20:00, Beijing time" in html


def test_automated_sms_are_shown_as_automated(client):
    borrower = factories.borrower()
    ContactAttempt.objects.create(
        borrower=borrower, at=at(9), channel=Channel.AUTO_SMS, allowed=True
    )
    sign_in(client, borrower)
    html = page(client, "collection_record")
    assert "Automated overdue SMS" in html and "Sent automatically by our system" in html


def test_written_only_in_one_tap_is_obeyed_by_the_guard_and_idempotent(client, collector):
    borrower = factories.borrower()
    case = open_case(borrower, collector)
    assert guard.check(borrower=borrower, channel=Channel.CALL, at=at(10), case=case).allowed
    sign_in(client, borrower)
    url = reverse("portal:written_only")
    assert client.get(url).status_code == 405
    response = client.post(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and response.url == reverse("portal:collection_record")
    restriction = ContactRestriction.objects.get(borrower=borrower)
    assert restriction.scope == ContactRestriction.Scope.WRITTEN_ONLY
    assert restriction.by_borrower and restriction.recorded_by is None
    # The guard refuses every channel with the opt-out rule, and logs the refusal.
    for channel in Channel.values:
        decision = guard.check(borrower=borrower, channel=channel, at=at(10), case=case)
        assert decision.rule == Rule.OPTED_OUT, channel
    attempt, decision = guard.attempt(
        borrower=borrower, channel=Channel.CALL, staff=collector, at=at(10), case=case
    )
    assert not decision.allowed and attempt.blocked_rule == Rule.OPTED_OUT
    _, _, number = contacts.call_borrower(case=case, staff=collector)
    assert number is None  # the collector is shown no number
    # The collectors see it on the case.
    assert CaseEvent.objects.filter(case=case, text__icontains="written contact only").exists()
    # A second tap changes nothing and says it is on already.
    again = client.post(url, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert ContactRestriction.objects.filter(borrower=borrower).count() == 1
    assert "already on, since 2026-03-02" in again.content.decode()
    html = page(client, "collection_record")
    assert "Written contact only since 2026-03-02" in html
    assert f'action="{url}"' not in html
    assert "Not made (Channel opt-out" in html


def test_written_only_calls_off_a_visit_still_to_come(client, collector):
    borrower = factories.borrower()
    case = open_case(borrower, collector)
    visit = HomeVisit.objects.create(
        case=case,
        visit_date=DAY + timedelta(days=5),
        window_start=time(10),
        window_end=time(12),
        visitor=collector.collector,
        requested_by=collector,
        status=HomeVisit.Status.APPROVED,
    )
    CollectionCase.objects.filter(pk=case.pk).update(status=CaseStatus.VISIT_SCHEDULED)
    restriction, made = contacts.request_written_only(borrower=borrower)
    assert made and contacts.request_written_only(borrower=borrower) == (restriction, False)
    visit.refresh_from_db()
    case.refresh_from_db()
    assert visit.status == HomeVisit.Status.CANCELLED
    assert case.status == CaseStatus.IN_PROGRESS


def test_a_restriction_is_asked_for_by_the_borrower_or_recorded_by_named_staff():
    borrower = factories.borrower()
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactRestriction.objects.create(borrower=borrower, scope="calls")
    ContactRestriction.objects.create(borrower=borrower, scope="calls", by_borrower=True)


# --- Consents ---------------------------------------------------------------------------------


def test_consents_show_version_time_and_the_text_agreed_to(client):
    with time_machine.travel(at(9, 30, day=date(2026, 1, 15)), tick=False):
        borrower = factories.borrower()
    borrower_services.withdraw_consent(borrower=borrower, kind=Consent.Kind.CREDIT_QUERY)
    sign_in(client, borrower)
    zh = page(client, "consents", lang="zh-hans")
    data = consent_texts.consent_text(Consent.Kind.DATA_PROCESSING, "2026.1")
    credit = consent_texts.consent_text(Consent.Kind.CREDIT_QUERY, "2026.1")
    assert data.zh in zh and credit.zh in zh and "征信中心" in zh
    assert zh.count("2026.1") >= 2 and "2026-01-15 09:30" in zh
    en = page(client, "consents")
    assert data.en in en and credit.en in en
    assert "Withdrawn on 2026-03-02 12:00" in en and "In force" in en


def test_the_versions_recorded_are_the_texts_on_file():
    borrower = factories.borrower()
    for consent in borrower.consents.all():
        text = consent_texts.consent_text(consent.kind, consent.text_version)
        assert text is not None and text == consent_texts.current_text(consent.kind)
    assert borrower_services.CONSENT_TEXT_VERSIONS == consent_texts.CURRENT_VERSIONS


def test_the_apply_page_shows_the_consent_texts_beside_the_boxes(client):
    mobile = "13900001111"
    session = client.session
    session[PROOF_SESSION_KEY] = {
        "index": mobile_index(mobile),
        "mobile": crypto.encrypt(mobile),
        "at": timezone.now().isoformat(),
    }
    session.save()
    for lang, attr in [("zh-hans", "zh"), ("en", "en")]:
        html = page(client, "apply", lang=lang)
        for kind in Consent.Kind.values:
            text = consent_texts.current_text(kind)
            assert getattr(text, attr) in html
            assert text.version in html
    form = CreditApplicationForm()
    assert "2026.1" in str(form.fields["consent_credit"].help_text)
