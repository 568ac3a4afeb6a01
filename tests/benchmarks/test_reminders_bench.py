"""The reminders benchmark still builds its data, queues, sends, checks itself and cleans up (at
a tiny scale), so it cannot rot between the times someone runs it for real."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

SCRIPT = Path(__file__).with_name("reminders.py")
KEYS = {
    "loans",
    "messages",
    "seconds",
    "queue_seconds",
    "send_seconds",
    "messages_per_second",
    "floor_seconds",
    "ratio",
    "build_seconds",
}


def databases_named(name: str) -> list:
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname="postgres",
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
    ) as server:
        return server.execute(
            "SELECT datname FROM pg_database WHERE datname = %s", [name]
        ).fetchall()


@pytest.mark.postgres
def test_benchmark_queues_and_sends_the_days_reminders_and_drops_its_database():
    bench = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--loans", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = bench.communicate(timeout=120)
    assert bench.returncode == 0, err

    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    assert KEYS <= set(result)
    assert result["loans"] == 300
    assert result["messages"] > 0
    assert result["seconds"] == pytest.approx(
        result["queue_seconds"] + result["send_seconds"], abs=0.0002
    )
    assert result["floor_seconds"] > 0
    # Seconds are rounded to 0.1 ms and the floor takes a few ms at this scale.
    assert result["ratio"] == pytest.approx(result["seconds"] / result["floor_seconds"], rel=0.05)
    # The benchmark checked itself: the count it expected, all sent, nothing queued twice.
    checks = result["checks"]
    assert checks["expected_messages"] == result["messages"]
    assert checks["all_sent"] is True
    assert checks["requeued_on_second_run"] == 0
    assert databases_named(f"bench_reminders_{bench.pid}") == []


def test_benchmark_refuses_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}"}
    bench = subprocess.run(
        [sys.executable, str(SCRIPT), "--loans", "10"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bench.returncode == 2
    assert "needs PostgreSQL" in bench.stderr
    assert bench.stdout == ""
