"""Registering from the portal: the mobile is proven first, the name is checked against the ID
number, nothing says who is already a customer, and every step is rate-limited (DESIGN §7)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from loans import identity
from loans.admin.borrowers import BorrowerCreationForm
from loans.bureau import SandboxBureau
from loans.models import Borrower, Consent, CreditReport, LoginCode
from loans.models.borrowers import RegistrationAttempt
from loans.services.registration import not_verified_message
from portal import views
from tests import factories
from tests.portal import test_portal
from tests.portal.test_portal import application, prove_mobile, send_code

# The portal tests' fixtures: fresh rate-limit counters, and the codes the portal asked to text.
fresh_limits = test_portal.fresh_limits
texted = test_portal.texted

pytestmark = pytest.mark.django_db(transaction=True)
APPLY = "/apply/"
Outcome = RegistrationAttempt.Outcome


def nothing_about_anyone_is_stored():
    return not (
        Borrower.objects.exists()
        or Consent.objects.exists()
        or CreditReport.objects.exists()
        or RegistrationAttempt.objects.exists()
    )


def same_page(response, typed: str) -> str:
    """The page without its CSRF tokens and the number typed into it."""
    return re.sub(r'value="[^"]{40,}"', "", response.content.decode()).replace(typed, "…")


# --- (2) The mobile is proven before anything is stored -------------------------------------


def test_an_application_without_a_proven_mobile_stores_nothing(client, texted):
    response = client.post(APPLY, {**application(), "mobile": factories.mobile()})
    assert response.status_code == 200 and "code_form" in response.context
    assert nothing_about_anyone_is_stored() and texted == []
    assert "portal_borrower_id" not in client.session


def test_registering_texts_a_code_then_takes_the_details_for_the_proven_mobile(client, texted):
    sent = send_code(client, "139 1234 5678", HTTP_ACCEPT_LANGUAGE="en")
    assert sent.status_code == 200 and "A code is on its way" in sent.content.decode()
    # Only the number's blind index and a hash of the code are kept so far.
    assert texted == [("13912345678", texted[0][1], "registration")]
    assert re.fullmatch(r"\d{6}", texted[0][1])
    code_row = LoginCode.objects.get()
    assert texted[0][1] not in code_row.code_hash and code_row.used_at is None
    assert nothing_about_anyone_is_stored()

    proven = client.post(APPLY, {"mobile": "13912345678", "code": texted[0][1], "verify": "1"})
    assert proven.status_code == 302 and proven.url == APPLY  # no mobile in any URL
    # The session keeps the proof with the mobile encrypted, never in clear.
    proof = client.session["portal_mobile_proof"]
    assert "13912345678" not in str(proof) and set(proof) == {"index", "mobile", "at"}

    page = client.get(APPLY, HTTP_ACCEPT_LANGUAGE="en")
    form = page.context["form"]
    assert "mobile" not in form.fields and "139****5678" in page.content.decode()
    done = client.post(APPLY, application())
    assert done.status_code == 302 and done.url == reverse("portal:my_credit")
    borrower = Borrower.objects.get()
    assert borrower.mobile == "13912345678" and client.session["portal_borrower_id"] == borrower.pk
    attempt = RegistrationAttempt.objects.get()
    assert (attempt.outcome, attempt.identity_result, attempt.borrower) == (
        Outcome.OK,
        "match",
        borrower,
    )


def test_a_wrong_code_proves_nothing_and_five_wrong_tries_use_the_code_up(client, texted):
    send_code(client, "13912345678")
    code = texted[-1][1]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        bad = client.post(APPLY, {"mobile": "13912345678", "code": wrong, "verify": "1"})
        assert bad.status_code == 200 and bad.context["code_form"].errors["code"]
    late = client.post(APPLY, {"mobile": "13912345678", "code": code, "verify": "1"})
    assert late.status_code == 200 and late.context["code_form"].errors["code"]
    assert "portal_mobile_proof" not in client.session


def test_registration_codes_keep_the_login_limits(client, texted):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        send_code(client, "13912345678")
        again = send_code(client, "13912345678")
        assert again.context["code_form"].errors and len(texted) == 1
        clock.shift(timedelta(minutes=6))  # the code has expired
        expired = client.post(
            APPLY, {"mobile": "13912345678", "code": texted[-1][1], "verify": "1"}
        )
        assert expired.status_code == 200 and "portal_mobile_proof" not in client.session
        for _ in range(9):
            clock.shift(timedelta(minutes=2))
            send_code(client, "13912345678")
        assert len(texted) == 10
        clock.shift(timedelta(minutes=2))
        eleventh = send_code(client, "13912345678")
        assert eleventh.context["code_form"].errors and len(texted) == 10


def test_a_code_proving_an_unregistered_mobile_cannot_log_anyone_in(client, texted):
    send_code(client, "13912345678")
    response = client.post(
        reverse("portal:login"), {"mobile": "13912345678", "code": texted[-1][1], "verify": "1"}
    )
    assert response.status_code == 200 and response.context["form"].errors["code"]
    assert "portal_borrower_id" not in client.session


def test_the_proof_expires_after_30_minutes(client, texted):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        prove_mobile(client, texted)
        clock.shift(timedelta(minutes=29))
        assert "form" in client.get(APPLY).context
        clock.shift(timedelta(minutes=2))
        response = client.post(APPLY, application())
    assert "code_form" in response.context and nothing_about_anyone_is_stored()


def test_the_proof_is_used_once(client, texted):
    prove_mobile(client, texted)
    client.post(APPLY, application())
    assert Borrower.objects.count() == 1 and "portal_mobile_proof" not in client.session
    client.post(reverse("portal:logout"))
    # The proof is gone: the same browser cannot sign in again without a new code.
    again = client.get(APPLY)
    assert "code_form" in again.context
    assert client.get(reverse("portal:my_credit")).status_code == 302


def test_another_number_can_be_chosen_after_proving_one(client, texted):
    prove_mobile(client, texted)
    response = client.post(APPLY, {"restart": "1"})
    assert response.status_code == 302 and "code_form" in client.get(APPLY).context


# --- (2) The name is checked against the ID number -------------------------------------------


def test_the_sandbox_refuses_its_documented_test_identities():
    verifier = identity.SandboxIdentityVerifier()
    ok = factories.id_number()
    assert verifier.verify(name="王小明", id_number=ok).matched
    assert not verifier.verify(name="王测试不符", id_number=ok).matched
    for number in identity.SANDBOX_MISMATCH_ID_NUMBERS:
        assert not verifier.verify(name="王小明", id_number=number).matched
    with pytest.raises(identity.IdentityVerificationUnavailable):
        verifier.verify(name="王测试不可用", id_number=ok)
    assert isinstance(identity.get_identity_verifier(), identity.SandboxIdentityVerifier)


@pytest.mark.parametrize(
    "overrides",
    [{"name": "王测试不符"}, {"id_number": "110101198001010029"}],
    ids=["name", "id-number"],
)
def test_a_name_that_does_not_match_the_id_number_is_refused(client, texted, overrides):
    prove_mobile(client, texted)
    response = client.post(APPLY, application(**overrides))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [not_verified_message()]
    assert not Borrower.objects.exists() and not Consent.objects.exists()
    attempt = RegistrationAttempt.objects.get()
    assert (attempt.outcome, attempt.identity_result, attempt.identity_source) == (
        Outcome.IDENTITY_MISMATCH,
        "no_match",
        "sandbox",
    )


class RecordingVerifier(identity.BaseIdentityVerifier):
    """Says who it was asked about and whether a transaction was open at the time."""

    source = "recording"
    calls: list = []

    def verify(self, *, name, id_number):
        self.calls.append((name, id_number, connection.in_atomic_block))
        return identity.IdentityCheck(matched=True, source=self.source, reference="R-1")


class RecordingBureau(SandboxBureau):
    calls: list = []

    def pull(self, *, id_number):
        self.calls.append(connection.in_atomic_block)
        return super().pull(id_number=id_number)


def test_the_identity_backend_comes_from_the_setting_and_is_called_outside_a_transaction(
    client, texted, settings
):
    settings.IDENTITY_VERIFICATION_BACKEND = "tests.loans.test_registration.RecordingVerifier"
    settings.CREDIT_BUREAU_BACKEND = "tests.loans.test_registration.RecordingBureau"
    RecordingVerifier.calls.clear()
    RecordingBureau.calls.clear()
    prove_mobile(client, texted)
    data = application()
    client.post(APPLY, data)
    assert RecordingVerifier.calls == [("孙悟空", data["id_number"], False)]
    assert RecordingBureau.calls == [False]  # the bureau too: network calls come first
    attempt = RegistrationAttempt.objects.get()
    assert (attempt.identity_source, attempt.identity_reference) == ("recording", "R-1")


def test_an_identity_service_that_is_down_asks_to_retry_and_stores_no_borrower(client, texted):
    prove_mobile(client, texted)
    response = client.post(APPLY, application(name="王测试不可用"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "try again" in response.content.decode()
    assert not Borrower.objects.exists()
    assert RegistrationAttempt.objects.get().outcome == Outcome.CHECK_UNAVAILABLE


# --- (2) Rate limits -------------------------------------------------------------------------


def test_applications_are_limited_per_ip_address(client_factory, texted, settings):
    settings.PORTAL_APPLICATIONS_PER_IP_PER_HOUR = 2
    answers = []
    for _ in range(3):
        applicant = client_factory()
        prove_mobile(applicant, texted)
        answers.append(applicant.post(APPLY, application(), HTTP_ACCEPT_LANGUAGE="en"))
    assert [a.status_code for a in answers] == [302, 302, 429]
    assert "Too many applications" in answers[2].content.decode()
    assert Borrower.objects.count() == 2
    elsewhere = client_factory(REMOTE_ADDR="10.9.8.7")
    prove_mobile(elsewhere, texted)
    assert elsewhere.post(APPLY, application()).status_code == 302


def test_applications_are_limited_per_mobile(client, texted, settings):
    settings.PORTAL_APPLICATIONS_PER_MOBILE_PER_DAY = 2
    prove_mobile(client, texted)
    statuses = [client.post(APPLY, application(name="王测试不符")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert RegistrationAttempt.objects.count() == 2  # the third never reached the checks


@pytest.fixture
def client_factory():
    from django.test import Client

    return lambda **defaults: Client(**defaults)


# --- (10a) Codes are limited per IP address ----------------------------------------------------


def test_codes_are_limited_per_ip_address_for_login_and_registration(
    client_factory, texted, settings
):
    settings.PORTAL_CODES_PER_IP_PER_HOUR = 3
    client = client_factory()
    factories.borrower(mobile="13912340000")
    assert send_code(client, "13912345671").status_code == 200
    assert send_code(client, "13912345672").status_code == 200
    login = client.post(
        reverse("portal:login"), {"mobile": "13912340000", "send": "1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert login.status_code == 200 and login.context["sent"]
    over_login = client.post(
        reverse("portal:login"), {"mobile": "13912340000", "send": "1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    over_apply = send_code(client, "13912345673", HTTP_ACCEPT_LANGUAGE="en")
    assert over_login.status_code == 429 and over_apply.status_code == 429
    assert "Too many codes requested" in over_apply.content.decode()
    assert len(texted) == 3 and LoginCode.objects.count() == 3
    other = client_factory(REMOTE_ADDR="10.9.8.7")
    assert send_code(other, "13912345673").status_code == 200


# --- (3) Answers never say who is a customer -----------------------------------------------------


def test_a_borrower_who_registers_again_is_signed_in_after_proving_the_mobile(client, texted):
    borrower = factories.borrower(mobile="13912340000")
    known = send_code(client, "13912340000", HTTP_ACCEPT_LANGUAGE="en")
    unknown = send_code(client, "13912349999", HTTP_ACCEPT_LANGUAGE="en")
    # The same answer for anyone.
    assert same_page(known, "13912340000") == same_page(unknown, "13912349999")
    assert [purpose for _, _, purpose in texted] == ["login", "registration"]
    code = texted[0][1]
    response = client.post(
        APPLY,
        {"mobile": "13912340000", "code": code, "verify": "1"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302 and response.url == reverse("portal:my_credit")
    assert client.session["portal_borrower_id"] == borrower.pk
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "You already have an account with this number" in page
    assert Borrower.objects.count() == 1
    attempt = RegistrationAttempt.objects.get()
    assert (attempt.outcome, attempt.borrower) == (Outcome.ALREADY_REGISTERED, borrower)


def test_an_id_number_of_another_borrower_gets_the_same_answer_as_a_failed_check(
    client_factory, texted
):
    holder = factories.borrower(name="张三")
    answers = {}
    for case, overrides in {
        "taken": {"name": "张三", "id_number": holder.id_number},
        "mismatch": {"name": "张测试不符"},
    }.items():
        applicant = client_factory()
        prove_mobile(applicant, texted)
        response = applicant.post(APPLY, application(**overrides))
        answers[case] = (response.status_code, response.context["form"].errors)
    assert answers["taken"] == answers["mismatch"]
    assert answers["taken"][1] == {"__all__": [not_verified_message()]}
    assert Borrower.objects.count() == 1
    taken, mismatch = RegistrationAttempt.objects.order_by("at", "id")
    assert (taken.outcome, taken.identity_result, taken.borrower) == (
        Outcome.ID_TAKEN,
        "match",
        holder,
    )
    assert mismatch.outcome == Outcome.IDENTITY_MISMATCH
    # Staff see blind indexes only: no name, ID number or mobile in clear.
    for attempt in (taken, mismatch):
        stored = " ".join(str(getattr(attempt, f.attname)) for f in attempt._meta.concrete_fields)
        for secret in (holder.id_number, holder.mobile, "张三", *[m for m, _, _ in texted]):
            assert secret not in stored
    assert taken.id_number_index == holder.id_number_index


def test_registration_attempts_are_shown_to_staff_read_only(client, texted):
    holder = factories.borrower()
    prove_mobile(client, texted)
    client.post(APPLY, application(id_number=holder.id_number))
    attempt = RegistrationAttempt.objects.get()
    client.force_login(factories.staff(superuser=True))
    listing = client.get(
        reverse("admin:loans_registrationattempt_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    )
    page = listing.content.decode()
    assert listing.status_code == 200 and "ID number belongs to another borrower" in page
    assert holder.id_number not in page and holder.mobile not in page
    assert client.get(reverse("admin:loans_registrationattempt_add")).status_code == 403
    change = reverse("admin:loans_registrationattempt_change", args=[attempt.pk])
    client.post(change, {"outcome": "ok"})
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.ID_TAKEN


def test_staff_adding_a_borrower_are_still_told_plainly_that_the_id_is_taken():
    holder = factories.borrower()
    form = BorrowerCreationForm(
        data={
            "name": "钱七",
            "id_number": holder.id_number,
            "mobile": factories.mobile(),
            "monthly_income": "9000",
            "monthly_debt_payments": "0",
            "civil_capacity": "full",
        }
    )
    with translation.override("en"):
        assert not form.is_valid()
    assert "already registered" in " ".join(form.errors["id_number"])


# --- (10b) Known and unknown numbers: the same work before the answer ----------------------------


@pytest.mark.parametrize(
    "view, path, sends_to_unknown",
    [(views.login, "/login/", False), (views.apply, "/apply/", True)],
    ids=["login", "apply"],
)
def test_the_answer_does_the_same_work_for_known_and_unknown_numbers(
    rf, texted, sms_outbox, view, path, sends_to_unknown
):
    factories.borrower(mobile="13912340000")
    counts, responses = {}, {}
    numbers = {"known": "13912340000", "unknown": "13912349999"}
    for case, mobile in numbers.items():
        request = rf.post(path, {"mobile": mobile, "send": "1"})
        request.session = SessionStore()
        with CaptureQueriesContext(connection) as queries:
            responses[case] = view(request)
        counts[case] = len(queries)
    assert counts["known"] == counts["unknown"]
    pages = [same_page(responses[case], number) for case, number in numbers.items()]
    assert pages[0] == pages[1]
    # Nothing has been texted while the answer was being made ...
    assert texted == [] and sms_outbox == []
    for response in responses.values():
        response.close()  # what the server does once the answer has gone out
    # ... and the texts go out afterwards.
    expected = [("13912340000", "login")] + ([("13912349999", "registration")] * sends_to_unknown)
    assert [(m, purpose) for m, _, purpose in texted] == expected
    phones = [m.phone for m in sms_outbox]
    assert "13912340000" in phones
    if not sends_to_unknown:
        assert "13912349999" not in phones  # login never texts a number that is nobody's
