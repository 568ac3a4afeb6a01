r"""Benchmark: every back-office list page (and the dashboard) at scale, against a floor of the
same page's own SQL run directly.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python tests/benchmarks/admin_lists.py --loans 1000000 [--runs 5] \
        [--keep [--db NAME]] [--reuse NAME]

PostgreSQL only (exit 2 otherwise). It creates and migrates its own database (`perf_bench_<pid>`,
or --db NAME) and builds N loans with assessments, applications, instalments, ledger rows,
repayments, SMS, collection cases, contact attempts and audit events (admin_lists_data.py;
personal data encrypted with the configured key, so pages decrypt and mask as in production).
--keep keeps it; --reuse NAME measures a kept database again without rebuilding (it is
migrated first, so new indexes apply).

Each page is found by its model (a page whose model or admin does not exist yet is skipped,
with the reason under "skipped") and requested through Django's test client as a superuser:
its first page, one filtered page and one search (where it has a search box). Each URL is
requested once to warm up, then --runs times (default 5); its SQL is captured once and run
again directly on a cursor, --runs times, as the floor (SELECTs only; what the page does
beyond its SQL is Python: rendering, decrypting, masking).

Prints one JSON line: {"loans": N, "pages": {"<page>" | "<page>:filtered" | "<page>:search":
{"median_ms", "queries", "floor_ms", "ratio", "status"}}, "slowest_ms", "slowest", "skipped",
"build_seconds", "postgres_version"}. Progress goes to stderr.
"""

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from benchdb import database, log, needs_postgresql  # noqa: E402
from django.apps import apps  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib import admin  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402

from loans.models.borrowers import mobile_index  # noqa: E402


@dataclass(frozen=True)
class Page:
    name: str
    model: str  # app_label.model_name; "" for the dashboard
    filtered: str = ""  # a query string
    search: str = ""  # "person": the borrower's blind index; else a template for ?q=


PAGES = [
    Page("dashboard", ""),
    Page("borrowers", "loans.borrower", "credit_line__status__exact=frozen", "person"),
    Page("assessments", "loans.creditassessment", "review=pending", "person"),
    Page("lines", "loans.creditline", "status__exact=frozen", "person"),
    Page("applications", "loans.loanapplication", "status__exact=pending_review", "person"),
    Page("contracts", "loans.contract", "status__exact=signed", "BENCH{contract_id:012d}"),
    Page("loans", "loans.loan", "bucket__exact=M1", "person"),
    Page("instalments", "loans.instalment", "status__exact=overdue", "person"),
    Page("transactions", "loans.loantransaction", "kind__exact=repayment", "person"),
    Page("repayments", "loans.repayment", "channel__exact=alipay", "BENCH-R{repayment_id}"),
    Page("sms", "notifications.smsmessage", "status__exact=failed", "person"),
    Page("cases", "collections.collectioncase", "bucket__exact=M2", "person"),
    Page("contacts", "collections.contactattempt", "allowed__exact=0", "person"),
    Page("audit", "loans.auditevent", "action__exact=payment.post"),
    Page("proposals", "loans.approval", "status__exact=proposed"),
    Page("bureau", "loans.bureaureportcandidate", "bucket__exact=M3", "person"),
    Page("write-offs", "loans.writeoffcandidate", "bucket__exact=M4%2B", "person"),
]


def urls(page: Page, target: dict) -> tuple[dict, str]:
    """{variant: url} of a page, or ({}, why it is skipped)."""
    if not page.model:
        return {page.name: reverse("admin:index")}, ""
    try:
        model = apps.get_model(page.model)
    except LookupError:
        return {}, f"no model {page.model} yet"
    if not admin.site.is_registered(model):
        return {}, f"{page.model} has no admin page yet"
    if model._meta.db_table not in connection.introspection.table_names():
        return {}, f"no table {model._meta.db_table} (migrations not applied?)"
    try:
        base = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    except NoReverseMatch:
        return {}, f"{page.model} has no list page"
    found = {page.name: base}
    if page.filtered:
        found[f"{page.name}:filtered"] = f"{base}?{page.filtered}"
    model_admin = admin.site._registry[model]
    if page.search and model_admin.search_fields:
        if page.search == "person":
            found[f"{page.name}:search"] = f"{base}?bi={mobile_index(target['mobile'])}"
        else:
            found[f"{page.name}:search"] = f"{base}?q={page.search.format(**target)}"
    return found, ""


def floor_ms(queries: list[str]) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute(sql)
            cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def measure(client: Client, url: str, runs: int) -> dict:
    response = client.get(url)  # warm-up: caches, the session, the plan
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    # A copy now: the next request empties the connection's query log the slice is read from.
    queries = [q["sql"] for q in captured.captured_queries]
    selects = [sql for sql in queries if sql.lstrip()[:6] == "SELECT"]
    times, floors = [], []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        floors.append(floor_ms(selects))
    median, floor = statistics.median(times), statistics.median(floors)
    return {
        "median_ms": round(median, 1),
        "queries": len(queries),
        "floor_ms": round(floor, 1),
        "ratio": round(median / floor, 2) if floor else None,
        "status": response.status_code,
    }


def measure_all(runs: int) -> tuple[dict, dict]:
    user = get_user_model().objects.get(username="bench-admin")
    client = Client()
    client.force_login(user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT borrower_id, mobile, contract_id, repayment_id FROM bench_target")
        row = cursor.fetchone()
    target = dict(zip(["borrower_id", "mobile", "contract_id", "repayment_id"], row, strict=True))
    results, skipped = {}, {}
    for page in PAGES:
        found, why = urls(page, target)
        if why:
            skipped[page.name] = why
            log(f"{page.name}: skipped ({why})")
        for variant, url in found.items():
            results[variant] = measure(client, url, runs)
            log(f"{variant}: {results[variant]}")
    return results, skipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, help="build this many loans (not with --reuse)")
    parser.add_argument("--runs", type=int, default=5, help="requests per URL (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--db", help="name of the database to build (default perf_bench_<pid>)")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database again")
    args = parser.parse_args()
    if bool(args.loans) == bool(args.reuse):
        parser.error("give either --loans N (build) or --reuse NAME (a kept database)")
    if needs_postgresql():
        return 2
    # As in production: no query log (CaptureQueriesContext switches it on for its one request).
    settings.DEBUG = False
    name = args.reuse or args.db or f"perf_bench_{os.getpid()}"
    build_seconds = None
    with database(name, create=not args.reuse, keep=args.keep):
        if not args.reuse:
            from admin_lists_data import build

            started = time.monotonic()
            user = get_user_model().objects.create_superuser("bench-admin", password="!")
            build(args.loans, superuser=user)
            build_seconds = round(time.monotonic() - started, 1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM loans_loan")
            loans = cursor.fetchone()[0]
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        pages, skipped = measure_all(args.runs)
        slowest = max(pages, key=lambda variant: pages[variant]["median_ms"])
        print(
            json.dumps(
                {
                    "loans": loans,
                    "pages": pages,
                    "slowest_ms": pages[slowest]["median_ms"],
                    "slowest": slowest,
                    "skipped": skipped,
                    "build_seconds": build_seconds,
                    "postgres_version": version,
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
