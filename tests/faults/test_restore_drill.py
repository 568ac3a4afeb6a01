"""Restore drill: the demo business (borrowers, loans, collections, a day's end) dumped with
pg_dump and restored with pg_restore into a fresh database is whole: reconcile_loans finds no
difference, every borrower's name and mobile decrypt, and /verify/ still confirms an old SMS.
Restored without the PII keys it was written with, the personal data cannot be read: the keys
are part of the backup, kept apart from the dump."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from .support import database_url

pytestmark = pytest.mark.postgres
DRILL = Path(__file__).with_name("drill.py")
ROOT = DRILL.parents[2]


def server():
    s = settings.DATABASES["default"]
    return psycopg.connect(
        dbname="postgres",
        host=s.get("HOST") or None,
        port=s.get("PORT") or None,
        user=s.get("USER") or None,
        password=s.get("PASSWORD") or None,
        autocommit=True,
    )


def pg_args() -> list[str]:
    s = settings.DATABASES["default"]
    return [
        "-h",
        s.get("HOST") or "127.0.0.1",
        "-p",
        str(s.get("PORT") or 5432),
        "-U",
        s.get("USER") or "postgres",
    ]


def drill(step: str, database: str, *args: str, timeout: float) -> dict:
    done = subprocess.run(
        [sys.executable, str(DRILL), step, *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(database)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(*command: str, timeout: float = 120) -> None:
    password = settings.DATABASES["default"].get("PASSWORD")
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr[-3000:]


def copy_database(template: str, name: str, *, timeout: float = 30) -> None:
    """CREATE DATABASE … TEMPLATE, which needs the template to have no other session. The
    template is this test process's own test database, so any session still on it is one an
    earlier test in this process left behind (a live server's thread, say): end those, then
    retry (bounded)."""
    deadline = time.perf_counter() + timeout
    with server() as s:
        while True:
            try:
                s.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return
            except psycopg.errors.ObjectInUse:
                if time.perf_counter() > deadline:
                    raise
                s.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    [template],
                )
                time.sleep(0.5)


@pytest.mark.django_db(transaction=True)
def test_a_dump_restored_into_a_fresh_database_reconciles_decrypts_and_verifies(tmp_path):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed (apt-get install postgresql-client)")
    suffix = os.getpid()
    source, restored = f"h_faults_src_{suffix}", f"h_faults_restored_{suffix}"
    dump = tmp_path / "backup.dump"
    # The source starts as a copy of the freshly migrated test database (migrations, groups,
    # SMS templates: what `migrate` leaves), which saves running every migration again.
    template = connection.settings_dict["NAME"]
    connection.close()
    try:
        copy_database(template, source)
        built = drill("build", source, timeout=240)
        assert len(built["borrowers"]) >= 10 and all(ok for *_, ok in built["borrowers"])
        phone, code = built["sms"]

        run("pg_dump", *pg_args(), "-Fc", "-f", str(dump), source)
        with server() as s:
            s.execute(f'CREATE DATABASE "{restored}"')
        run("pg_restore", *pg_args(), "--no-owner", "-d", restored, str(dump))

        checked = drill("check", restored, phone, code, timeout=120)
        assert checked == {
            "reconciled": True,
            "borrowers": built["borrowers"],  # names and mobiles read back, search still works
            "verify": "genuine",
            # Without the PII key the data was written with, no name, ID number or mobile can
            # be read; without its blind-index key, no text can be verified any more.
            "with_another_pii_key": "ImproperlyConfigured",
            "with_another_index_key": "not_found",
        }
    finally:
        with server() as s:
            for name in (source, restored):
                s.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
