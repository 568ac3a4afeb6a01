"""The send-out benchmark still queues, sends through a real cluster, measures its floor and
cleans up (at a tiny scale), so it cannot rot between the times someone runs it for real."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from benchdb import database_exists

SCRIPT = Path(__file__).with_name("sms_sendout.py")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.postgres
def test_benchmark_sends_every_message_once_and_drops_its_database():
    bench = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--messages", "400", "--latency-ms", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = bench.communicate(timeout=300)
    assert bench.returncode == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    assert result["messages"] == result["accepted"] == result["requests"] == 400
    assert result["sent_twice"] == result["stuck"] == 0
    assert result["seconds"] > 0 and result["floor_seconds"] > 0
    assert result["ratio"] == pytest.approx(result["seconds"] / result["floor_seconds"], rel=0.1)
    assert (result["workers"], result["broker"]) == (2, "orm")
    assert not database_exists(f"bench_sms_{bench.pid}")


def test_benchmark_refuses_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}"}
    bench = run("--messages", "10", env=env)
    assert bench.returncode == 2
    assert "needs PostgreSQL" in bench.stderr
    assert bench.stdout == ""
