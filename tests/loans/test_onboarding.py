"""Registering a borrower: identity checks, derived facts, consents, credit reports."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from stdnum.cn import ric

from loans.models import Borrower, Consent
from loans.services import borrowers as services
from tests import factories

pytestmark = pytest.mark.django_db


def register(**overrides):
    data = {
        "name": "赵六",
        "id_number": factories.id_number(),
        "mobile": factories.mobile(),
        "monthly_income": Decimal("8000"),
    }
    data.update(overrides)
    return services.register_borrower(**data)


def test_sex_birth_date_and_region_come_from_the_id_number():
    b = register(id_number=factories.id_number(birth=date(1991, 7, 9), region="440305", male=False))
    assert (b.sex, b.birth_date, b.region_code, b.mainland_resident) == (
        "F",
        date(1991, 7, 9),
        "440305",
        True,
    )


@pytest.mark.parametrize(
    "id_number, code_fragment",
    [
        ("11010119900115123", "length"),
        ("110101199001151230", "check digit"),
        ("11010119900230123" + ric.calc_check_digit("110101199002301230"), "date"),
    ],
)
def test_bad_id_numbers_are_refused_with_a_message(id_number, code_fragment):
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        register(id_number=id_number)
    assert code_fragment in " ".join(exc.value.message_dict["id_number"]).lower()
    assert Borrower.objects.count() == 0


@time_machine.travel(date(2026, 11, 24))
def test_under_18_and_over_60_cannot_register():
    with pytest.raises(ValidationError) as young:
        register(id_number=factories.id_number(birth=date(2008, 11, 25)))
    assert "id_number" in young.value.message_dict
    with pytest.raises(ValidationError) as old:
        register(id_number=factories.id_number(birth=date(1965, 11, 24)))
    assert "id_number" in old.value.message_dict
    assert register(id_number=factories.id_number(birth=date(2008, 11, 24))).pk


def test_messages_are_in_chinese_by_default():
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        register(mobile="12345")
    message = " ".join(exc.value.message_dict["mobile"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_the_same_id_number_or_mobile_cannot_register_twice():
    first = register()
    with pytest.raises(ValidationError) as dup_id:
        register(id_number=first.id_number)
    assert "id_number" in dup_id.value.message_dict
    with pytest.raises(ValidationError) as dup_mobile:
        register(mobile="+86 " + first.mobile)
    assert "mobile" in dup_mobile.value.message_dict
    assert Borrower.objects.count() == 1


def test_a_bad_mobile_is_refused_and_nothing_is_written():
    with pytest.raises(ValidationError) as exc:
        register(mobile="010-12345678", consents=[Consent.Kind.DATA_PROCESSING])
    assert "mobile" in exc.value.message_dict
    assert Borrower.objects.count() == 0
    assert Consent.objects.count() == 0


def test_consents_record_the_text_version_and_time():
    b = register(consents=[Consent.Kind.DATA_PROCESSING], consent_ip="10.1.2.3")
    consent = b.consents.get()
    assert consent.text_version == services.CONSENT_TEXT_VERSIONS[Consent.Kind.DATA_PROCESSING]
    assert consent.consented_at is not None and consent.ip_address == "10.1.2.3"


def test_a_credit_report_needs_the_credit_query_consent():
    b = register(consents=[Consent.Kind.DATA_PROCESSING])
    with pytest.raises(ValidationError):
        services.record_credit_report(
            borrower=b, current_overdue_accounts=0, worst_dpd_24m=0, inquiries_3m=0
        )
    services.record_consent(borrower=b, kind=Consent.Kind.CREDIT_QUERY)
    report = services.record_credit_report(
        borrower=b, current_overdue_accounts=0, worst_dpd_24m=0, inquiries_3m=2
    )
    assert b.credit_reports.get() == report
    services.withdraw_consent(borrower=b, kind=Consent.Kind.CREDIT_QUERY)
    with pytest.raises(ValidationError):
        services.record_credit_report(
            borrower=b, current_overdue_accounts=0, worst_dpd_24m=0, inquiries_3m=0
        )


def test_the_portal_s_identity_check_reads_the_form_only_while_staff_are_told_what_is_taken(
    django_assert_num_queries,
):
    first = register()
    # The portal's check: the number's form alone, no database, so it cannot tell who borrows.
    with django_assert_num_queries(0):
        assert services.parse_identity(id_number=first.id_number, mobile=first.mobile) == (
            first.id_number,
            first.mobile,
        )
    # Staff (the admin's creation form) are told plainly.
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.clean_identity(id_number=first.id_number, mobile=first.mobile)
    assert "already registered" in " ".join(exc.value.message_dict["id_number"])
    assert "already registered" in " ".join(exc.value.message_dict["mobile"])


def test_consents_can_carry_the_moment_they_were_given():
    given = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    b = register(consents=[Consent.Kind.DATA_PROCESSING], consent_at=given)
    assert b.consents.get().consented_at == given


def test_the_admin_refuses_a_credit_report_with_the_services_consent_rule(client):
    b = register(consents=[Consent.Kind.DATA_PROCESSING])
    client.force_login(factories.staff(superuser=True))
    add = reverse("admin:loans_creditreport_add")
    figures = {
        "borrower": b.pk,
        "source": "manual",
        "current_overdue_accounts": 0,
        "worst_dpd_24m": 0,
        "inquiries_3m": 1,
    }
    with translation.override("en"):
        with pytest.raises(ValidationError) as service_refusal:
            services.check_credit_query_consent(borrower=b)
        response = client.post(add, figures, headers={"accept-language": "en"})
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == service_refusal.value.messages
    assert not b.credit_reports.exists()

    services.record_consent(borrower=b, kind=Consent.Kind.CREDIT_QUERY)
    assert client.post(add, figures).status_code == 302
    assert b.credit_reports.get().inquiries_3m == 1
