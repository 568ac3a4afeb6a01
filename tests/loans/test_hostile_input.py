"""Hostile input to the public endpoints: a 400 or a 404 and a log row, never a 500.

NUL characters only break PostgreSQL (it cannot store them), so run these there too.
"""

import json
import time

import pytest
from django.conf import settings

from loans.gateway import signing
from loans.models import GatewayNotification, Repayment
from portal.session import BORROWER_SESSION_KEY
from tests.loans.test_gateway import (  # noqa: F401 - fixtures
    URL,
    attempt,
    card,
    deliver,
    loan,
    recording_gateway,
    succeeded,
)

pytestmark = pytest.mark.django_db
Outcome = GatewayNotification.Outcome


@pytest.mark.parametrize(
    "body",
    [
        b'{"event_id":"\\u0000"}',  # the JSON escape of NUL
        b'{"event_id":"\x00"}',  # a raw NUL byte
        b"\x00\x00\x00",
    ],
)
def test_nul_in_an_unsigned_body_is_refused_and_logged(client, body):
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={"X-Signature": "00" * 32, "X-Timestamp": str(int(time.time()))},
    )
    assert response.status_code == 401
    log = GatewayNotification.objects.get()
    assert log.outcome == Outcome.FORGED and "\x00" not in log.body


def test_nul_in_headers_is_logged_without_breaking_the_log(client):
    response = client.post(
        URL,
        data=b"{}",
        content_type="application/json",
        headers={"X-Signature": "ab\x00cd", "X-Timestamp": "1\x002", "User-Agent": "x\x00y"},
    )
    assert response.status_code == 401
    log = GatewayNotification.objects.get()
    assert all("\x00" not in value for value in log.headers.values())


@pytest.mark.parametrize("field", ["event_id", "gateway_ref", "failure_reason"])
def test_nul_in_a_signed_event_is_malformed(client, attempt, field):  # noqa: F811
    payload = {**succeeded(attempt), field: "evt\x00-1"}
    response = deliver(client, payload)
    assert response.status_code == 400
    log = GatewayNotification.objects.get()
    assert log.outcome == Outcome.MALFORMED and "control characters" in log.detail
    assert not Repayment.objects.exists()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_body_that_is_not_json_is_refused_and_logged(client, attempt, content_type):  # noqa: F811
    body = json.dumps(succeeded(attempt)).encode()
    ts = int(time.time())
    response = client.generic(
        "POST",
        URL,
        data=body,
        content_type=content_type,
        headers={
            "X-Signature": signing.sign(body, ts, settings.PAYMENT_GATEWAY_WEBHOOK_SECRET),
            "X-Timestamp": str(ts),
        },
    )
    assert response.status_code == 400
    log = GatewayNotification.objects.get()
    assert log.outcome == Outcome.MALFORMED and "application/json" in log.detail
    assert not Repayment.objects.exists()


@pytest.mark.parametrize(
    "path", ["/contracts/%00/", "/contracts/%00/download/", "/contracts/a%00b/", "/loans/%00/"]
)
def test_nul_in_portal_urls_is_a_404(client, loan, path):  # noqa: F811
    session = client.session
    session[BORROWER_SESSION_KEY] = loan.borrower_id  # signed in: the lookup really runs
    session.save()
    assert client.get(path).status_code == 404
    assert client.get(f"/contracts/{loan.contract.number}/").status_code == 200
