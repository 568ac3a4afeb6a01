"""What the benchmarks share: a throwaway PostgreSQL database of their own, progress output,
and (for their tests) running a script and checking it cleaned up."""

import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

STARTED = time.perf_counter()  # time-machine moves time.monotonic(), not this


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def server_connection():
    from django.conf import settings

    s = settings.DATABASES["default"]
    return psycopg.connect(
        dbname="postgres",
        host=s.get("HOST") or None,
        port=s.get("PORT") or None,
        user=s.get("USER") or None,
        password=s.get("PASSWORD") or None,
        autocommit=True,
    )


def h(seed: int, modulus: int) -> str:
    """SQL for a deterministic pseudo-random integer in [0, modulus) per series number i."""
    return f"mod(abs(hashint4extended(i, {seed})), {modulus})::int"


# Days past due → bucket, written independently of the engine so the floor checks it.
BUCKET = (
    "CASE WHEN {0} <= 0 THEN 'current' WHEN {0} <= 30 THEN 'M1' WHEN {0} <= 60 THEN 'M2' "
    "WHEN {0} <= 90 THEN 'M3' ELSE 'M4+' END"
)


def needs_postgresql() -> bool:
    """True (after saying so on stderr) when the configured database is not PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        print("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return True
    return False


@contextmanager
def database(name: str, *, create: bool, keep: bool):
    """Point Django at `name` (created first when `create`), migrated; drop it afterwards when
    it was created here and is not kept."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections

    if create:
        with server_connection() as server:
            server.execute(f'CREATE DATABASE "{name}"')
        log(f"created database {name}")
    connection.close()
    settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = name
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield name
    finally:
        connections.close_all()
        if create and not keep:
            with server_connection() as server:
                server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            log(f"dropped database {name}")
        else:
            log(f"kept database {name}")


def own_database(prefix: str, *, keep: bool):
    """Create, migrate and point Django at `<prefix>_<pid>`; drop it afterwards unless `keep`."""
    import os

    return database(f"{prefix}_{os.getpid()}", create=True, keep=keep)


# --- For the benchmarks' own tests ------------------------------------------------------------


def run_script(script: Path, loans: int) -> tuple[dict, int]:
    """Run a benchmark script; its one JSON line and its process id (names its database)."""
    bench = subprocess.Popen(
        [sys.executable, str(script), "--loans", str(loans)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = bench.communicate(timeout=120)
    assert bench.returncode == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0]), bench.pid


def database_exists(name: str) -> bool:
    with server_connection() as server:
        return bool(
            server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchall()
        )


def run_on_sqlite(script: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}"}
    return subprocess.run(
        [sys.executable, str(script), "--loans", "10"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
