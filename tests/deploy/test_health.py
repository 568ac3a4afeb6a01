"""GET /healthz: what a load balancer sees, with the database up and down."""

import json
import subprocess

import pytest

from .procs import PYTHON, ROOT, free_port, production_env

pytestmark = pytest.mark.django_db


def test_healthy_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True}
    # Nothing a cache could keep, and no session or CSRF cookie handed to the probe.
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_a_probe_may_use_head(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_plain_http_probe_is_not_redirected_to_https(client, settings):
    """Behind the TLS proxy the probe speaks plain HTTP; every other page is redirected."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    assert client.get("/").status_code == 301
    assert client.get("/healthz").status_code == 200


def test_production_settings_exempt_the_probe_from_the_https_redirect():
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.SECURE_SSL_REDIRECT, settings.SECURE_REDIRECT_EXEMPT]))"
    )
    out = subprocess.run(
        [PYTHON, "-c", code],
        cwd=ROOT,
        env=production_env(DJANGO_SETTINGS_MODULE="config.settings"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, ["^healthz$"]]


def test_unavailable_when_the_database_does_not_answer():
    """A process whose database is gone (nothing listens on its port) answers 503."""
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz'); print(r.status_code, r.content.decode())"
    )
    env = production_env(
        DEBUG="true",
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/gone",
        ALLOWED_HOSTS="testserver",
    )
    out = subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    status, body = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert json.loads(body) == {"status": "unavailable", "database": False}
