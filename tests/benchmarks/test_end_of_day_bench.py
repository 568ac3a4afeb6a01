"""The end-of-day benchmark still builds its data, runs and cleans up (at a tiny scale), so it
cannot rot between the times someone runs it for real."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from benchdb import database_exists, run_on_sqlite, run_script, server_connection

SCRIPT = Path(__file__).with_name("end_of_day.py")
ROWS_CHANGED = {
    "instalments_due",
    "instalments_overdue",
    "penalty_transactions",
    "loans_dpd_changed",
    "loans_cured",
}


@pytest.mark.postgres
def test_benchmark_measures_engine_and_floors_and_drops_its_database():
    result, pid = run_script(SCRIPT, 300)
    assert result["loans"] == 300
    assert result["instalments"] == 3000
    assert 0 < result["seconds"] < 10
    assert 0 < result["floor_seconds"] < 10
    assert 0 < result["write_floor_seconds"] < 10
    # Seconds are rounded to the millisecond: at this scale a floor of a few milliseconds
    # moves its ratio a lot, so each ratio is checked against the bounds that rounding allows.
    for ratio, floor in (("ratio", "floor_seconds"), ("write_ratio", "write_floor_seconds")):
        low = (result["seconds"] - 0.0005) / (result[floor] + 0.0005)
        high = (result["seconds"] + 0.0005) / max(result[floor] - 0.0005, 1e-6)
        assert 0.99 * low <= result[ratio] <= 1.01 * high, (ratio, result)
    # Building 300 loans takes a moment, and far less than the benchmark's own time limit.
    assert 0 < result["build_seconds"] < 120
    assert result["postgres_version"][:2].isdigit()
    # Engine and both floors left the same end state, and the day had work of every kind.
    assert result["same_result"] is True
    assert set(result["rows_changed"]) == ROWS_CHANGED
    assert all(n > 0 for n in result["rows_changed"].values()), result["rows_changed"]
    assert not database_exists(f"bench_eod_{pid}")


def bench(*args: str) -> dict:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--runs", "1", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1, run.stdout
    return json.loads(lines[0])


@pytest.mark.postgres
def test_a_kept_database_is_measured_again_as_built():
    name = f"bench_eod_kept_{os.getpid()}"
    try:
        built = bench("--loans", "200", "--keep", "--db", name)
        assert database_exists(name)
        again = bench("--reuse", name)
        # The kept database is as built (the day not yet run): the same day's work again.
        assert again["loans"] == built["loans"] == 200
        assert again["rows_changed"] == built["rows_changed"]
        assert again["same_result"] is True
        assert again["build_seconds"] is None
        assert database_exists(name)
    finally:
        with server_connection() as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_benchmark_refuses_sqlite(tmp_path):
    bench = run_on_sqlite(SCRIPT, tmp_path)
    assert bench.returncode == 2
    assert "needs PostgreSQL" in bench.stderr
    assert bench.stdout == ""
