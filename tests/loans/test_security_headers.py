"""Every page sends a Content-Security-Policy; pages with personal or money data are never
stored by a browser or a proxy (DESIGN §7)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User

from portal.session import BORROWER_SESSION_KEY
from tests.loans.test_gateway import loan  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def signed_in(client, borrower_id):
    session = client.session
    session[BORROWER_SESSION_KEY] = borrower_id
    session.save()
    return client


def assert_strict_csp(response):
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_private_portal_pages_are_no_store_and_have_a_csp(client, loan):  # noqa: F811
    signed_in(client, loan.borrower_id)
    number = loan.contract.number
    for url in [
        "/credit/",
        f"/loans/{loan.pk}/",
        f"/contracts/{number}/",
        f"/contracts/{number}/download/",
        "/borrow/",
    ]:
        response = client.get(url)
        assert response.status_code in (200, 302), url
        assert "no-store" in response["Cache-Control"], url
        assert_strict_csp(response)


def test_public_pages_have_a_csp_too(client):
    for url in ["/", "/login/", "/apply/", "/verify/", "/admin/login/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_csp(response)
        assert "no-store" in response["Cache-Control"], url


def test_admin_pages_are_no_store_with_a_csp(client, loan):  # noqa: F811
    client.force_login(User.objects.create_superuser("root", password="x"))
    for url in ["/admin/", f"/admin/loans/loan/{loan.pk}/change/", "/admin/loans/borrower/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert_strict_csp(response)


def test_production_settings_pass_the_deploy_check():
    """`manage.py check --deploy` with DEBUG off and real secrets: no warning at all."""
    # The browser tests allow async-unsafe ORM calls in this process; a server never would.
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + Fernet.generate_key().decode(),
        "PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PII_BLIND_INDEX_KEY": "test-blind-index-key",
        "PAYMENT_GATEWAY_WEBHOOK_SECRET": "test-webhook-secret",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_no_template_or_admin_code_carries_inline_style_or_script():
    """The CSP refuses inline style and script; a page that has some is broken for real users
    (the browser tests catch the pages they visit, this catches the rest)."""
    root = Path(__file__).resolve().parents[2]
    inline = re.compile(r"<style|style=\"|<script(?![^>]*\bsrc=)(?![^>]*application/json)")
    offenders = [
        str(path.relative_to(root))
        for pattern in ("templates/**/*.html", "*/admin/*.py", "*/views/*.py", "*/views.py")
        for path in root.glob(pattern)
        if ".venv" not in path.parts and inline.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
