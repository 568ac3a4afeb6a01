"""The production stack for real: collectstatic, gunicorn with gunicorn.conf.py and
production settings against this test's PostgreSQL database, whitenoise serving the files."""

import http.client
import json
import signal
import subprocess

import pytest

from .procs import (
    PYTHON,
    ROOT,
    current_database_url,
    free_port,
    production_env,
    start,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HOST = "backoffice.example.com"
YEAR = 365 * 24 * 3600


def get(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Host": HOST, **headers})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


@pytest.fixture
def web(tmp_path):
    """gunicorn on a free port; yields (port, staticfiles manifest); stopped by PID."""
    port = free_port()
    env = production_env(
        DATABASE_URL=current_database_url(),
        ALLOWED_HOSTS=f"{HOST},127.0.0.1",
        STATIC_ROOT=str(tmp_path / "static"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
    )
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    log = tmp_path / "gunicorn.log"
    proc = start([PYTHON, "-m", "gunicorn"], env=env, log=log)
    try:

        def healthy() -> bool:
            try:
                return get(port, "/healthz", Host="127.0.0.1").status == 200
            except OSError:
                return False

        wait_for(healthy, timeout=120, what="gunicorn to answer /healthz", proc=proc)
        yield port, manifest, log
    finally:
        stop(proc, sig=signal.SIGTERM)  # gunicorn's graceful shutdown


def test_gunicorn_serves_the_probe_the_static_files_and_the_portal(web):
    port, manifest, log = web
    probe = get(port, "/healthz", Host="127.0.0.1")  # plain HTTP, as the load balancer
    assert probe.status == 200
    assert json.loads(probe.body) == {"status": "ok", "database": True}

    https = {"X-Forwarded-Proto": "https"}  # as the TLS proxy forwards every request
    css = get(port, f"/static/{manifest['portal/portal.css']}", **https)
    assert css.status == 200
    assert b"{" in css.body
    cache = dict(
        part.strip().split("=", 1)
        for part in css.headers["Cache-Control"].split(",")
        if "=" in part
    )
    assert int(cache["max-age"]) >= YEAR  # hashed name: cached for ever, a change renames it
    assert "immutable" in css.headers["Cache-Control"]

    # Behind the TLS proxy the portal answers; straight plain HTTP is sent to HTTPS.
    home = get(port, "/", **https)
    assert home.status == 200
    assert home.headers["Strict-Transport-Security"].startswith("max-age=")
    assert f"/static/{manifest['portal/portal.css']}".encode() in home.body
    plain = get(port, "/")
    assert plain.status == 301
    assert plain.headers["Location"] == f"https://{HOST}/"

    assert "GET /healthz HTTP/1.1" in log.read_text()  # the access log is on
