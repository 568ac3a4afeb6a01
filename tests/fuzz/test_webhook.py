"""The gateway's webhooks and the public /verify/ page under hostile input: forged calls, and
validly signed calls whose fields are anything at all. Each is answered 4xx (or applied, when
it is a genuine result) and logged; the ledger moves only for an accepted one."""

import json
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from loans.gateway import signing
from loans.models import DebitAttempt, GatewayNotification, LoanTransaction, Repayment
from tests.loans.test_gateway import (  # noqa: F401 - fixtures
    attempt,
    card,
    loan,
    recording_gateway,
)

from .strategies import (
    FUZZ,
    assert_no_500,
    counts,
    each_example,
    hostile_amount,
    hostile_id,
    hostile_text,
    hostile_value,
)

pytestmark = pytest.mark.django_db
Outcome = GatewayNotification.Outcome
URLS = ["/gateway/webhook/", "/gateway/refunds/webhook/"]
LEDGER = (Repayment, LoanTransaction)

json_scalar = st.one_of(
    hostile_value,
    st.none(),
    st.booleans(),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True, allow_infinity=True),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(hostile_text, inner)),
    max_leaves=6,
)


def hostile_event(gateway_ref: str):
    """A charge result whose every field may be wrong, the right reference often kept so that
    the checks after the lookup are reached too."""
    return st.fixed_dictionaries(
        {
            "event_id": st.one_of(st.just("evt-1"), json_value),
            "gateway_ref": st.one_of(st.just(gateway_ref), json_value),
            "status": st.one_of(st.sampled_from(["succeeded", "failed"]), json_value),
            "amount": st.one_of(hostile_amount, json_value),
            "failure_reason": st.one_of(st.just(""), json_value),
        },
        optional={"paid_at": json_value, "extra": json_value},
    )


def post(client, url, body: bytes, *, signature: str, timestamp: str, content_type=None):
    return client.generic(
        "POST",
        url,
        data=body,
        content_type=content_type or "application/json",
        headers={"X-Signature": signature, "X-Timestamp": timestamp},
    )


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=300), json_value.map(lambda v: json.dumps(v).encode())),
    signature=st.one_of(hostile_text, st.text("0123456789abcdef", min_size=64, max_size=64)),
    timestamp=st.one_of(hostile_id, hostile_text),
    url=st.sampled_from(URLS),
    content_type=st.sampled_from(["application/json", "text/plain", "application/json; x=\x01"]),
)
def test_a_call_not_signed_by_the_gateway_is_refused_and_logged(
    attempt,  # noqa: F811
    body,
    signature,
    timestamp,
    url,
    content_type,
):
    client = Client(raise_request_exception=False)
    with each_example():
        before = counts(*LEDGER)
        response = post(
            client, url, body, signature=signature, timestamp=timestamp, content_type=content_type
        )
        assert_no_500(response)
        assert response.status_code in (400, 401)
        log = GatewayNotification.objects.get()
        assert log.outcome in (Outcome.FORGED, Outcome.MALFORMED, Outcome.STALE)
        assert counts(*LEDGER) == before
        attempt.refresh_from_db()
        assert attempt.status == DebitAttempt.Status.REQUESTED


@FUZZ
@given(data=st.data(), url=st.sampled_from(URLS), raw=st.booleans())
def test_a_signed_call_with_hostile_fields_is_answered_and_only_a_good_one_posts(
    attempt,  # noqa: F811
    data,
    url,
    raw,
):
    payload = data.draw(hostile_event(attempt.gateway_ref))
    body = json.dumps(payload).encode()
    if raw:  # what json.dumps would have escaped, sent as it is
        body = body.replace(b"\\u0000", b"\x00")
    ts = data.draw(
        st.one_of(st.just(int(time.time())), st.integers(-(10**30), 10**30), st.just(10**400))
    )
    signature = signing.sign(body, ts, settings.PAYMENT_GATEWAY_WEBHOOK_SECRET)
    client = Client(raise_request_exception=False)
    with each_example():
        before = counts(*LEDGER)
        response = post(client, url, body, signature=signature, timestamp=str(ts))
        assert_no_500(response)
        log = GatewayNotification.objects.get()
        attempt.refresh_from_db()
        if log.outcome != Outcome.ACCEPTED:
            assert 400 <= response.status_code < 500
            assert counts(*LEDGER) == before
            assert attempt.status == DebitAttempt.Status.REQUESTED
        elif url == URLS[0] and payload["status"] == "succeeded":
            # Genuine and well-formed: exactly the signed amount is posted, once.
            repayment = Repayment.objects.get()
            assert repayment.amount == Decimal(str(payload["amount"]))
            assert attempt.status == DebitAttempt.Status.SUCCEEDED


@FUZZ
@given(phone=hostile_value, code=hostile_value)
def test_verify_page_answers_every_input_without_an_error(db, phone, code):
    client = Client(raise_request_exception=False)
    with each_example():
        response = client.post("/verify/", {"phone": phone, "code": code})
        assert_no_500(response)
        assert response.status_code in (200, 429)
        form = response.context["form"]
        if not form.is_valid():
            assert form.errors  # an empty field is asked for again, on the page
        assert client.get("/verify/", {"phone": phone}).status_code == 200


def test_a_signed_timestamp_no_float_can_hold_is_stale(attempt):  # noqa: F811
    body = json.dumps({"event_id": "evt-1", "gateway_ref": attempt.gateway_ref}).encode()
    ts = 10**400
    signature = signing.sign(body, ts, settings.PAYMENT_GATEWAY_WEBHOOK_SECRET)
    response = post(Client(), URLS[0], body, signature=signature, timestamp=str(ts))
    assert response.status_code == 401
    assert GatewayNotification.objects.get().outcome == Outcome.STALE
