"""The portal load benchmark still builds its data, serves every page under gunicorn without an
error and cleans up (at a tiny scale, a second a page), so it cannot rot between real runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from benchdb import database_exists

SCRIPT = Path(__file__).with_name("portal_load.py")
PAGES = {"home", "loan", "bills", "repay", "repay_loan", "quote"}
FIGURES = {"requests_per_second", "p50_ms", "p99_ms", "errors"}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.postgres
def test_benchmark_serves_every_page_without_errors_and_cleans_up():
    bench = subprocess.run(
        [sys.executable, str(SCRIPT), "--borrowers", "40", "--seconds", "1"]
        + ["--concurrency", "2", "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bench.returncode == 0, bench.stderr
    lines = bench.stdout.strip().splitlines()
    assert len(lines) == 1, bench.stdout
    result = json.loads(lines[0])
    assert set(result["pages"]) == PAGES
    for name, page in [*result["pages"].items(), ("floor", result["floor"])]:
        assert FIGURES <= set(page), name
        assert page["errors"] == 0, (name, page)
        assert page["requests"] > 0 and page["requests_per_second"] > 0, (name, page)
        assert 0 < page["p50_ms"] <= page["p99_ms"], (name, page)
    # The top level is the bills page, and the ratio is the floor's rate over it.
    assert {k: result[k] for k in FIGURES} == {k: result["pages"]["bills"][k] for k in FIGURES}
    assert result["ratio"] == pytest.approx(
        result["floor"]["requests_per_second"] / result["requests_per_second"], rel=0.02
    )
    assert result["floor"]["path"] in {"/healthz", "/bench-floor-no-such-page/"}
    assert result["borrowers"] == result["sessions"] == 40
    assert result["instalments"] > 0 and result["client_cpu_seconds"] > 0
    # gunicorn was stopped and the database dropped.
    server = int(bench.stderr.split("gunicorn pid ")[1].split()[0])
    assert not pid_alive(server)
    pid = int(bench.stderr.split("created database bench_portal_")[1].split()[0])
    assert not database_exists(f"bench_portal_{pid}")


def test_benchmark_refuses_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}"}
    bench = subprocess.run(
        [sys.executable, str(SCRIPT), "--borrowers", "10"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bench.returncode == 2
    assert "needs PostgreSQL" in bench.stderr
    assert bench.stdout == ""
