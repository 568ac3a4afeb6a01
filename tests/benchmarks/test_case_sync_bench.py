"""The case-sync benchmark still builds its data, runs both days against their floors and
cleans up (at a tiny scale), so it cannot rot between the times someone runs it for real."""

from pathlib import Path

import pytest
from benchdb import database_exists, run_on_sqlite, run_script

SCRIPT = Path(__file__).with_name("case_sync.py")
COUNTS = {"opened", "updated", "closed", "assigned"}


@pytest.mark.postgres
def test_benchmark_measures_both_days_against_their_floors_and_drops_its_database():
    result, pid = run_script(SCRIPT, 600)
    assert result["loans"] == 600
    assert 0 < result["overdue_loans"] < 600
    first, second = result["days"]["first"], result["days"]["second"]
    for day in (first, second):
        assert 0 < day["seconds"] < 10 and 0 < day["floor_seconds"] < 10
        assert set(day["counts"]) == COUNTS
    # The headline is the slower day; its ratio is rounded from millisecond figures.
    slower = max(first, second, key=lambda day: day["seconds"])
    assert (result["seconds"], result["floor_seconds"]) == (
        slower["seconds"],
        slower["floor_seconds"],
    )
    assert result["ratio"] == pytest.approx(result["seconds"] / result["floor_seconds"], rel=0.3)
    # The first day opens and assigns a case for every loan past its grace days; the second
    # updates them, closes those paid up or settled, and opens those that passed it since.
    assert first["counts"]["opened"] == first["counts"]["assigned"] > 0
    assert first["counts"]["updated"] == first["counts"]["closed"] == 0
    assert all(second["counts"][n] > 0 for n in ("updated", "closed", "opened"))
    assert result["counts"] == first["counts"]
    # Engine and floor left the same cases and timeline entries, day after day.
    assert result["same_result"] is True
    assert result["postgres_version"][:2].isdigit()
    assert not database_exists(f"bench_cases_{pid}")


def test_benchmark_refuses_sqlite(tmp_path):
    bench = run_on_sqlite(SCRIPT, tmp_path)
    assert bench.returncode == 2
    assert "needs PostgreSQL" in bench.stderr
    assert bench.stdout == ""
