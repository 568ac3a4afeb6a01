"""The reminders benchmark still builds its data, queues, sends, checks itself and cleans up (at
a tiny scale), so it cannot rot between the times someone runs it for real."""

from pathlib import Path

import pytest
from benchdb import database_exists, run_on_sqlite, run_script

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


@pytest.mark.postgres
def test_benchmark_queues_and_sends_the_days_reminders_and_drops_its_database():
    result, pid = run_script(SCRIPT, 300)
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
    assert not database_exists(f"bench_reminders_{pid}")


def test_benchmark_refuses_sqlite(tmp_path):
    bench = run_on_sqlite(SCRIPT, tmp_path)
    assert bench.returncode == 2
    assert "needs PostgreSQL" in bench.stderr
    assert bench.stdout == ""
