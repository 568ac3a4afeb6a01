"""A real `manage.py qcluster` (django-q2, ORM broker) in a process group of its own, sending
through the Tencent backend to a fake API: for the kill test and the send-out benchmark."""

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def cluster_env(*, database: str, fake, workers: int = 2, **settings) -> dict[str, str]:
    """The environment of a cluster on PostgreSQL database `database` sending to `fake`;
    `settings` are more variables (SMS_CONCURRENCY=…)."""
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARIABLES}
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        DJANGO_SETTINGS_MODULE="config.settings",
        REDIS_URL="",  # the ORM broker
        LOG_LEVEL="WARNING",
        Q_WORKERS=str(workers),
        SMS_BACKEND="notifications.backends.tencent.SmsBackend",
        TENCENT_SMS_ENDPOINT=fake.endpoint,
        TENCENT_SMS_SCHEME="http",
        TENCENT_SMS_SECRET_ID=fake.secret_id,
        TENCENT_SMS_SECRET_KEY=fake.secret_key,
        TENCENT_SMS_SDK_APP_ID=fake.app_id,
        TENCENT_SMS_SIGN_NAME="微众银行",
        TENCENT_SMS_TEMPLATE_ID="2100001",
    )
    env.update({k: str(v) for k, v in settings.items()})
    return env


def start_cluster(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers die with it
        )


def kill_cluster(process: subprocess.Popen, sig: int = signal.SIGKILL, wait: float = 30) -> None:
    """Signal the cluster's whole process group (by its id), then SIGKILL the group, so no
    worker outlives it, once the leader has exited or `wait` seconds have passed."""
    _signal_group(process, sig)
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process, signal.SIGKILL)
    process.wait(timeout=wait)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
