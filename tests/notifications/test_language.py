"""Every SMS in its borrower's language (DESIGN §5), end to end: due reminders, overdue and
pre-report notices, lifecycle texts and one-time codes are English for an English borrower,
footer included, and Chinese for a Chinese one; /verify/ finds both. The reminder batch skips
the T−3 / T−1 reminders of borrowers who turned them off, never the due-date one or any
overdue notice."""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loans.models import Borrower
from loans.services import cards, lending
from loans.services.end_of_day import process_business_date
from loans.services.repayments import post_repayment
from notifications import services
from notifications.models import SmsMessage, SmsTemplate
from notifications.reminders import queue_reminders
from portal.session import BORROWER_SESSION_KEY
from tests import factories

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DUE = date(2026, 2, 15)
SIGNATURE = "【微众银行】"
# Chinese characters and full-width punctuation.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
EN_FOOTER = re.compile(r" \(Check code [2-9A-Z]{5} at /verify/\)$")
ZH_FOOTER = re.compile(r"（短信核验码 [2-9A-Z]{5}，可在官网 /verify/ 查验）$")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


def run_day(day: date) -> dict:
    with time_machine.travel(at(day, 0, 30), tick=False):
        process_business_date(day)
        return queue_reminders(business_date=day)


def speaks(borrower, language: str):
    Borrower.objects.filter(pk=borrower.pk).update(language=language)
    borrower.refresh_from_db()
    return borrower


def assert_english(message: SmsMessage, *allowed: str) -> str:
    """English from the signature to the footer: no Chinese but the signature and `allowed`
    proper names (a bank's name)."""
    text = message.text
    assert text.startswith(SIGNATURE), text
    assert EN_FOOTER.search(text) and message.verification_code in text[-30:], text
    rest = text[len(SIGNATURE) :]
    for word in allowed:
        rest = rest.replace(word, "")
    assert CJK.findall(rest) == [], text
    return text


def assert_chinese(message: SmsMessage) -> str:
    text = message.text
    assert text.startswith(SIGNATURE) and ZH_FOOTER.search(text), text
    assert message.verification_code in text[-30:]
    assert "Check code" not in text and "Dear customer" not in text
    return text


@pytest.fixture
def two_loans(db):
    """The same loan for an English and a Chinese borrower."""
    with time_machine.travel(DRAWN):
        english = factories.loan(on=DRAWN)
        chinese = factories.loan(on=DRAWN)
    speaks(english.borrower, "en")
    return english, chinese


def texts(loan, template: str) -> list[SmsMessage]:
    return list(SmsMessage.objects.filter(borrower=loan.borrower, template=template))


def test_due_reminders_speak_the_borrowers_language(two_loans):
    english, chinese = two_loans
    run_day(DUE - timedelta(days=3))
    (en,) = texts(english, "due_reminder")
    (zh,) = texts(chinese, "due_reminder")
    text = assert_english(en)
    assert "instalment 1/10 of ¥1084.34 is due on 2026-02-15" in text
    assert "Keep enough money on your bound bank card" in text
    assert "第1/10期应还¥1084.34将于2026-02-15" in assert_chinese(zh)


def test_overdue_and_pre_report_notices_speak_it_too(two_loans):
    english, chinese = two_loans
    for n in range(0, 4):
        run_day(DUE + timedelta(days=n))
    (pre_en,) = texts(english, "pre_report_notice")
    assert "Credit Reporting Regulation" in assert_english(pre_en)
    overdue_en = texts(english, "overdue_notice")
    assert [m.dedupe_key.rsplit(":", 1)[1] for m in overdue_en] == ["T+3", "T+1"]
    text = assert_english(overdue_en[0])
    assert "overdue since 2026-02-16" in text and "penalty interest ¥2.10" in text
    (pre_zh,) = texts(chinese, "pre_report_notice")
    assert "征信业管理条例" in assert_chinese(pre_zh)
    assert all("逾期金额" in assert_chinese(m) for m in texts(chinese, "overdue_notice"))


def test_lifecycle_texts_speak_it(django_capture_on_commit_callbacks):
    english = speaks(factories.borrower(income="50000"), "en")
    chinese = factories.borrower(income="50000")
    morning = at(DRAWN, 10)
    with time_machine.travel(morning), django_capture_on_commit_callbacks(execute=True):
        loans = [factories.loan(on=DRAWN, borrower_obj=b) for b in (english, chinese)]
    with time_machine.travel(at(DUE, 10)), django_capture_on_commit_callbacks(execute=True):
        for loan in loans:
            post_repayment(
                loan=loan,
                amount=Decimal("1084.34"),
                channel="wechat_pay",
                external_id=f"pay-{loan.pk}",
                value_date=DUE,
            )
    en_loan, zh_loan = loans
    bank = cards.default_card(borrower=english).bank_name
    (signed,) = texts(en_loan, "contract_signed")
    assert "You have signed loan contract" in assert_english(signed)
    (paid_out,) = texts(en_loan, "loan_disbursed")
    card = cards.default_card(borrower=english)
    assert f"paid to your bank card {bank} ****{card.last4}" in assert_english(paid_out, bank)
    (received,) = texts(en_loan, "repayment_received")
    assert "We received your payment of ¥1084.34 on 2026-02-15" in assert_english(received)
    zh_card = cards.default_card(borrower=chinese)
    (zh_paid_out,) = texts(zh_loan, "loan_disbursed")
    assert f"{zh_card.bank_name}尾号{zh_card.last4}" in assert_chinese(zh_paid_out)
    (zh_received,) = texts(zh_loan, "repayment_received")
    assert "已收到您2026-02-15的还款¥1084.34" in assert_chinese(zh_received)


def test_a_cancelled_draw_gives_its_reason_in_english(django_capture_on_commit_callbacks):
    borrower = speaks(factories.borrower(income="50000"), "en")
    with time_machine.travel(at(DRAWN, 10)), django_capture_on_commit_callbacks(execute=True):
        loan = factories.loan(on=DRAWN, borrower_obj=borrower)
        application = lending.apply_for_loan(
            borrower=borrower,
            product=loan.product,
            amount=Decimal("2000"),
            term=10,
            method="equal_instalment",
        )
        lending.cancel_application(application=application)
    (message,) = SmsMessage.objects.filter(template="application_cancelled")
    text = assert_english(message)
    assert "Your draw of ¥2000.00 was cancelled" in text and "Reason: " in text


def test_the_login_code_follows_the_language_and_stays_masked(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    english = speaks(factories.borrower(mobile="13912340011"), "en")
    chinese = factories.borrower(mobile="13912340012")
    with time_machine.travel(at(DRAWN, 23)):  # a code goes out at any hour
        for borrower in (english, chinese):
            with django_capture_on_commit_callbacks(execute=True):
                client.post(reverse("portal:login"), {"mobile": borrower.mobile, "send": "1"})
    en_sent, zh_sent = sms_outbox
    assert re.search(r"^【微众银行】Your login code is \d{6}, valid for 5 minutes", en_sent.text)
    assert EN_FOOTER.search(en_sent.text)
    assert re.search(r"您的登录验证码为\d{6}", zh_sent.text) and ZH_FOOTER.search(zh_sent.text)
    en_row = SmsMessage.objects.get(borrower=english)
    assert en_row.secret_masked and f"Your login code is {services.SECRET_MASK}," in en_row.text
    assert not re.search(r"\d{6}", en_row.text)
    assert_english(en_row)
    code = re.search(r"code is (\d{6})", en_sent.text).group(1)
    with time_machine.travel(at(DRAWN, 23, 1)):
        signed_in = client.post(
            reverse("portal:login"), {"mobile": english.mobile, "code": code, "verify": "1"}
        )
    assert (
        signed_in.status_code == 302
        and signed_in.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    )


def test_the_card_code_follows_the_language(sms_outbox, django_capture_on_commit_callbacks):
    borrower = speaks(factories.borrower(), "en")
    number = factories.card_number()
    with time_machine.travel(at(DRAWN, 10)), django_capture_on_commit_callbacks(execute=True):
        cards.start_card_binding(borrower=borrower, bank_name="招商银行", card_number=number)
    (sent,) = sms_outbox
    assert f"You are binding the 招商银行 card ending {number[-4:]}. Your code is" in sent.text
    assert_english(SmsMessage.objects.get(), "招商银行")


def test_switching_language_in_the_portal_switches_the_texts(client, two_loans):
    _, loan = two_loans  # the Chinese borrower
    session = client.session
    session[BORROWER_SESSION_KEY] = loan.borrower_id
    session.save()
    client.post(reverse("portal:language"), {"language": "en", "next": "/"})
    run_day(DUE)
    (message,) = texts(loan, "due_reminder")
    assert "(today)" in assert_english(message)


def test_verify_finds_english_and_chinese_texts(client, two_loans):
    run_day(DUE - timedelta(days=1))
    with time_machine.travel(at(DUE - timedelta(days=1), 9), tick=False):
        ids = list(SmsMessage.objects.values_list("pk", flat=True))
        assert services.send_messages(ids) == 2
    for loan in two_loans:
        message = SmsMessage.objects.get(borrower=loan.borrower)
        answer = client.post(
            reverse("notifications:verify"),
            {"phone": loan.borrower.mobile, "code": message.verification_code},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        page = answer.content.decode()
        assert answer.status_code == 200 and "This message is genuine" in page
        assert message.text.split("】", 1)[1][:20] in page


def test_early_reminders_off_skips_t3_and_t1_but_never_the_due_date_or_overdue(two_loans):
    quiet, usual = two_loans
    Borrower.objects.filter(pk=quiet.borrower_id).update(early_reminders=False)
    for offset in (-3, -1, 0, 1):
        run_day(DUE + timedelta(days=offset))

    def steps(loan):
        return sorted(m.dedupe_key.rsplit(":", 1)[1] for m in texts(loan, "due_reminder")), sorted(
            m.template for m in SmsMessage.objects.filter(borrower=loan.borrower)
        )

    quiet_steps, quiet_templates = steps(quiet)
    usual_steps, _ = steps(usual)
    assert quiet_steps == ["T+0"]
    assert usual_steps == ["T+0", "T-1", "T-3"]
    # The day after: the legally required notices go whatever was chosen.
    assert {"pre_report_notice", "overdue_notice"} <= set(quiet_templates)


def test_with_auto_debit_off_the_reminder_says_to_pay(two_loans):
    english, chinese = two_loans
    Borrower.objects.filter(pk__in=[english.borrower_id, chinese.borrower_id]).update(
        auto_debit=False
    )
    run_day(DUE)
    (en,) = texts(english, "due_reminder")
    assert "Auto-debit is off: please repay on time" in assert_english(en)
    assert "Keep enough money" not in en.text
    (zh,) = texts(chinese, "due_reminder")
    assert "您已关闭自动扣款" in assert_chinese(zh) and "以便自动扣款" not in zh.text


def test_the_reminder_batch_does_not_query_per_loan(db):
    def queries_for(n_loans: int, day_offset: int) -> int:
        drawn = DRAWN + timedelta(days=day_offset)
        with time_machine.travel(drawn):
            for i in range(n_loans):
                loan = factories.loan(on=drawn)
                if i % 2:
                    speaks(loan.borrower, "en")
                    Borrower.objects.filter(pk=loan.borrower_id).update(early_reminders=False)
        day = date(drawn.year, drawn.month + 1, drawn.day) - timedelta(days=3)
        with time_machine.travel(at(day, 0, 30), tick=False):
            with CaptureQueriesContext(connection) as queries:
                queue_reminders(business_date=day)
        return len(queries)

    assert queries_for(1, 0) == queries_for(4, 1)


def test_no_english_template_has_chinese_in_it():
    english = dict(SmsTemplate.objects.values_list("code", "body_en"))
    assert len(english) >= 10
    assert {code: CJK.findall(body) for code, body in english.items() if CJK.search(body)} == {}
