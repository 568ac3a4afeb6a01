r"""Benchmark: the borrower portal under gunicorn, signed-in pages driven by concurrent clients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python tests/benchmarks/portal_load.py [--borrowers 10000] [--seconds 10] \
        [--concurrency 8] [--workers 2] [--keep]

PostgreSQL only (exit 2 otherwise). It creates and migrates its own database
(`bench_portal_<pid>`) and builds one loan per borrower with its instalments, repayments, ledger
rows, SMS and collection cases (admin_lists_data.py: ~5 % overdue, personal data real Fernet
tokens under a key made for the run). It signs in a few thousand borrowers by writing their
sessions directly (no SMS), collects the static files into a temporary STATIC_ROOT, and starts
gunicorn on a free port of 127.0.0.1 with production settings (DEBUG off, its own secret key,
PII keys and webhook secret, ALLOWED_HOSTS=127.0.0.1; requests say X-Forwarded-Proto: https as
the TLS proxy in front would) and --workers sync workers, ignoring any gunicorn.conf.py.

Each page is then driven for --seconds by --concurrency client threads (http.client; sync
workers close the connection after each answer, so every request connects again, as behind a
proxy without keep-alive upstream). Every request carries another borrower's session cookie.
The floor is the same load on GET /healthz when the project answers it, else on a 404.

Prints one JSON line: the bills page (/loans/: every loan with its next bill and what is
overdue) as `requests_per_second`, `p50_ms`, `p99_ms`, `errors` at the top level; `pages` with
the same four for every page driven; `floor` with them and its path; `ratio` (floor rps /
bills rps). The clients run on the same cores as gunicorn and PostgreSQL: `client_cpu_seconds`
is the CPU they used, next to `seconds_measured` and `cpus`. Every page also says what one
request cost in CPU: `server_cpu_ms` (gunicorn's workers), `db_cpu_ms` (the PostgreSQL backends
serving them), `client_cpu_ms`; `cpu_bound_rps` is the bills page's rate were the cores its
own (cpus × 1000 / the three), which other load on the machine does not change. Progress goes
to stderr.
gunicorn is stopped by its PID and the database dropped (unless --keep).
"""

import argparse
import base64
import http.client
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

# Production settings for this process and gunicorn alike: the data is encrypted under the
# same key the pages decrypt with.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "PII_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "PII_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
    "PAYMENT_GATEWAY_WEBHOOK_SECRET": secrets.token_urlsafe(32),
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(PRODUCTION)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from benchdb import log, needs_postgresql, own_database, server_connection  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402

from portal.session import BORROWER_SESSION_KEY  # noqa: E402

MAX_SESSIONS = 5000
QUOTE = "/quote/?amount=10000&term=10&method=equal_principal"
FLOOR_404 = "/bench-floor-no-such-page/"
STARTUP_SECONDS = 60
REQUEST_TIMEOUT = 30


def sign_in(count: int, borrowers: int) -> list[tuple[str, int]]:
    """`count` sessions of borrowers spread over the whole portfolio: (session key, loan id).
    Written in one statement; the data is what SessionStore itself stores."""
    step = max(borrowers // count, 1)
    chosen = list(range(1, borrowers + 1, step))[:count]
    store = SessionStore()
    keys = [secrets.token_hex(16) for _ in chosen]  # 32 chars, as Django's own keys
    data = [store.encode({BORROWER_SESSION_KEY: pk}) for pk in chosen]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_session (session_key, session_data, expire_date)"
            " SELECT k, d, now() + interval '1 day' FROM unnest(%s::text[], %s::text[]) AS t(k, d)",
            [keys, data],
        )
        # Borrower i has loan i (admin_lists_data).
        cursor.execute(
            "SELECT b, min(l.id) FROM unnest(%s::bigint[]) AS b"
            " JOIN loans_loan l ON l.borrower_id = b GROUP BY b ORDER BY b",
            [chosen],
        )
        loan_of = dict(cursor.fetchall())
    return [(key, loan_of[pk]) for key, pk in zip(keys, chosen, strict=True) if pk in loan_of]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(tmp: Path) -> dict:
    """Production settings with STATIC_ROOT in the temporary directory (settings fix it in
    the repository, where collectstatic must not write)."""
    (tmp / "bench_portal_settings.py").write_text(
        f"from config.settings import *  # noqa: F403\nSTATIC_ROOT = {str(tmp / 'static')!r}\n"
    )
    return {
        **os.environ,
        **PRODUCTION,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "bench_portal_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp), str(ROOT)]),
    }


def database_url() -> str:
    s = settings.DATABASES["default"]
    auth = s.get("USER") or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    host = f"{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}"
    return f"postgres://{auth}@{host}/{s['NAME']}"


def start_gunicorn(env: dict, workers: int, tmp: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--config",
            "/dev/null",  # not ./gunicorn.conf.py: these flags are the whole configuration
            "--chdir",
            str(ROOT),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "60",
            "--log-level",
            "warning",
            "--error-logfile",
            str(tmp / "gunicorn.log"),
            "config.wsgi:application",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {(tmp / 'gunicorn.log').read_text()[-2000:]}")
        try:
            status, _ = get(port, FLOOR_404, None)
        except OSError:
            time.sleep(0.2)
            continue
        if status == 404:
            return server, port
        raise RuntimeError(f"gunicorn answered {status} for {FLOOR_404}")
    stop(server)
    raise RuntimeError("gunicorn did not answer in time")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    log(f"stopped gunicorn (pid {server.pid})")


def headers(session_key: str | None) -> dict:
    h = {"X-Forwarded-Proto": "https", "Accept-Language": "zh-hans"}
    if session_key:
        h["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session_key}"
    return h


def get(port: int, path: str, session_key: str | None, conn=None) -> tuple[int, bytes]:
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    conn.request("GET", path, headers=headers(session_key))
    response = conn.getresponse()
    return response.status, response.read()


def drive(port: int, paths: list, *, seconds: float, concurrency: int, server=None) -> dict:
    """`concurrency` threads GET the (path, session, expected status) triples round-robin (each
    thread its own slice) until `seconds` have passed: requests/s, latencies in ms, errors, and
    the CPU each request cost gunicorn's workers and PostgreSQL (the machine's other load
    slows the figures above; it does not change these)."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    deadline = time.perf_counter() + seconds
    started = threading.Barrier(concurrency + 1)

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        mine = paths[n::concurrency] or paths
        i = 0
        started.wait()
        while time.perf_counter() < deadline:
            path, session_key, expected = mine[i % len(mine)]
            i += 1
            t0 = time.perf_counter()
            try:
                status, _ = get(port, path, session_key, conn)
            except (OSError, http.client.HTTPException):
                conn.close()
                status = None
            latencies[n].append((time.perf_counter() - t0) * 1000)
            if status != expected:
                errors[n] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(concurrency)]
    for t in threads:
        t.start()
    cpu0, server0 = cpu_seconds(), server_cpu(server)
    t0 = time.perf_counter()
    started.wait()
    for t in threads:
        t.join(timeout=seconds + REQUEST_TIMEOUT + 10)
    elapsed = time.perf_counter() - t0
    client_cpu = cpu_seconds() - cpu0
    every = sorted(x for per in latencies for x in per)
    spent = cpu_spent(server0, server_cpu(server))
    return {
        **{f"{k}_cpu_ms": round(v * 1000 / max(len(every), 1), 2) for k, v in spent.items()},
        "requests_per_second": round(len(every) / elapsed, 1),
        "p50_ms": percentile(every, 50),
        "p99_ms": percentile(every, 99),
        "errors": sum(errors),
        "requests": len(every),
        "client_cpu_seconds": round(client_cpu, 2),
        "client_cpu_ms": round(client_cpu * 1000 / max(len(every), 1), 2),
    }


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc); 0 once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(server) -> dict:
    """CPU seconds so far of each gunicorn worker and of each PostgreSQL backend serving them,
    by kind and process id."""
    if server is None or not Path("/proc/self/stat").exists():
        return {}
    master, database = server
    children = Path(f"/proc/{master}/task/{master}/children")
    workers = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    with server_connection() as pg:
        backends = pg.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        ).fetchall()
    return {
        "server": {pid: proc_cpu(pid) for pid in workers},
        "db": {pid: proc_cpu(pid) for (pid,) in backends},
    }


def cpu_spent(before: dict, after: dict) -> dict:
    """CPU seconds spent between two `server_cpu` readings: a process started since counts
    from zero (a worker restarted, a connection opened again), one gone since is not seen."""
    return {
        kind: sum(cpu - before.get(kind, {}).get(pid, 0.0) for pid, cpu in pids.items())
        for kind, pids in after.items()
    }


def percentile(ordered: list[float], p: int) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, (len(ordered) * p + 99) // 100 - 1)], 1)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pages(sessions: list[tuple[str, int]]) -> dict[str, list]:
    """Every page driven: (path, session key, expected status) per request."""
    return {
        "home": [("/", key, 200) for key, _ in sessions],
        "loan": [(f"/loans/{loan}/", key, 200) for key, loan in sessions],
        "bills": [("/loans/", key, 200) for key, _ in sessions],
        "repay": [("/repay/", key, 200) for key, _ in sessions],
        "repay_loan": [(f"/loans/{loan}/repay/", key, 200) for key, loan in sessions],
        "quote": [(QUOTE, key, 200) for key, _ in sessions],
    }


def floor_path(port: int) -> tuple[str, int]:
    status, _ = get(port, "/healthz", None)
    return ("/healthz", 200) if status == 200 else (FLOOR_404, 404)


def measure(port: int, sessions, *, seconds: float, concurrency: int, server) -> dict:
    results = {}
    for name, paths in pages(sessions).items():
        for path, key, expected in paths[:3]:
            status, body = get(port, path, key)
            if status != expected:
                raise RuntimeError(f"{name}: {path} answered {status}: {body[:500]!r}")
        drive(port, paths, seconds=min(1.0, seconds / 4), concurrency=concurrency)  # warm-up
        results[name] = drive(port, paths, seconds=seconds, concurrency=concurrency, server=server)
        log(f"{name}: {json.dumps(results[name])}")
    path, expected = floor_path(port)
    floor = drive(
        port, [(path, None, expected)], seconds=seconds, concurrency=concurrency, server=server
    )
    floor["path"] = path
    log(f"floor {path}: {json.dumps(floor)}")
    return {"pages": results, "floor": floor}


def cpu_bound(page: dict) -> float | None:
    per_request = sum(page.get(f"{k}_cpu_ms", 0) for k in ("server", "db", "client"))
    return round(os.cpu_count() * 1000 / per_request, 1) if per_request else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--borrowers", type=int, default=10000, help="default 10000")
    parser.add_argument("--seconds", type=float, default=10, help="per page (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if needs_postgresql():
        return 2
    with own_database("bench_portal", keep=args.keep), tempfile.TemporaryDirectory() as tmp:
        from admin_lists_data import build

        started = time.monotonic()
        user = get_user_model().objects.create_superuser("bench-admin", password="!")
        build(args.borrowers, superuser=user)
        sessions = sign_in(min(args.borrowers, MAX_SESSIONS), args.borrowers)
        build_seconds = round(time.monotonic() - started, 1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM loans_instalment")
            instalments = cursor.fetchone()[0]
        connection.close()  # gunicorn's workers are the only clients from here on
        env = server_env(Path(tmp))
        log("collectstatic")
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
            env=env,
            check=True,
            timeout=300,
        )
        server, port = start_gunicorn(env, args.workers, Path(tmp))
        log(f"gunicorn pid {server.pid} on 127.0.0.1:{port}, {args.workers} sync workers")
        try:
            measured = measure(
                port,
                sessions,
                seconds=args.seconds,
                concurrency=args.concurrency,
                server=(server.pid, settings.DATABASES["default"]["NAME"]),
            )
        finally:
            stop(server)
        bills, floor = measured["pages"]["bills"], measured["floor"]
        every = [*measured["pages"].values(), floor]
        print(
            json.dumps(
                {
                    "page": "/loans/",
                    **{k: bills[k] for k in ("requests_per_second", "p50_ms", "p99_ms")},
                    "errors": bills["errors"],
                    "pages": measured["pages"],
                    "floor": floor,
                    "ratio": round(floor["requests_per_second"] / bills["requests_per_second"], 2)
                    if bills["requests_per_second"]
                    else None,
                    "borrowers": args.borrowers,
                    "loans": args.borrowers,
                    "instalments": instalments,
                    "sessions": len(sessions),
                    "concurrency": args.concurrency,
                    "workers": args.workers,
                    "seconds_measured": args.seconds * len(every),
                    "client_cpu_seconds": round(sum(p["client_cpu_seconds"] for p in every), 2),
                    "cpus": os.cpu_count(),
                    # What the bills page would reach with these cores to itself: all the
                    # CPU one request costs (workers, PostgreSQL, client) against the cores.
                    "cpu_bound_rps": cpu_bound(bills),
                    "build_seconds": build_seconds,
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
