"""Starting and stopping the project's own processes (gunicorn, qcluster) from a test, with
production-like environments and bounded waits."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production machine: DEBUG off, real-looking secrets."""
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PII_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "PAYMENT_GATEWAY_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "backoffice.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://backoffice.example.com",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # Set for the browser tests' live server in this process; never on a production machine.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(overrides)
    return env


def current_database_url() -> str:
    """DATABASE_URL of the database this test runs against (pytest-django's test_… copy)."""
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{s['NAME']}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before {what}")
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def start(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    """In its own session, so a last-resort SIGKILL can reach the children too."""
    with log.open("wb") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(proc: subprocess.Popen, *, sig: int, timeout: float = 60) -> None:
    """Ask politely by PID (`sig`), then SIGKILL the process group after the deadline.
    django-q2 clusters get SIGINT: a SIGTERM to the group can deadlock them (django-q2 #346)."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
