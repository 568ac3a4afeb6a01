"""The end-of-day benchmark still builds its data, runs and cleans up (at a tiny scale), so it
cannot rot between the times someone runs it for real."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

SCRIPT = Path(__file__).with_name("end_of_day.py")
ROWS_CHANGED = {
    "instalments_due",
    "instalments_overdue",
    "penalty_transactions",
    "loans_dpd_changed",
    "loans_cured",
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
def test_benchmark_measures_engine_and_floor_and_drops_its_database():
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
    assert result["loans"] == 300
    assert result["instalments"] == 3000
    assert 0 < result["seconds"] < 10
    assert 0 < result["floor_seconds"] < 10
    # seconds are rounded to the millisecond: at this scale that moves the ratio by up to ~15 %
    assert result["ratio"] == pytest.approx(result["seconds"] / result["floor_seconds"], rel=0.2)
    assert result["build_seconds"] >= 0
    assert result["postgres_version"][:2].isdigit()
    # Engine and floor left the same end state, and the day had work of every kind.
    assert result["same_result"] is True
    assert set(result["rows_changed"]) == ROWS_CHANGED
    assert all(n > 0 for n in result["rows_changed"].values()), result["rows_changed"]
    assert databases_named(f"bench_eod_{bench.pid}") == []


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
