"""CSV export of back-office lists: exactly the filtered rows, all pages, masked unless the user
may reveal and asks (with a reason, on the audit trail), streamed row by row, safe to open in a
spreadsheet, a fixed number of queries whatever the number of rows."""

import csv
import io
from datetime import date

import pytest
from django.db import connection
from django.db.models.query import QuerySet
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loans.admin import exports
from loans.admin.borrowers import BorrowerAdmin
from loans.exports import BOM, csv_chunks, safe_cell
from loans.models import AuditEvent, Borrower
from loans.roles import AUDITOR, CUSTOMER_SERVICE, LOAN_OPERATIONS
from tests import factories

pytestmark = pytest.mark.django_db
BORROWERS = reverse("admin:loans_borrower_changelist")


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def women_and_a_man():
    women = [
        factories.borrower(name=name, id_number=factories.id_number(male=False))
        for name in ("王小红", "李娜娜", "赵敏敏")
    ]
    man = factories.borrower(name="张三丰")
    return women, man


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :])))


def test_the_export_holds_exactly_the_filtered_rows_of_every_page_masked(client, monkeypatch):
    women, man = women_and_a_man()
    monkeypatch.setattr(BorrowerAdmin, "list_per_page", 1)  # three pages on screen
    client.force_login(factories.staff(LOAN_OPERATIONS))

    page = client.get(BORROWERS, {"sex__exact": "F"})
    assert page.status_code == 200
    link = page.context["export_csv_url"]
    assert "sex__exact=F" in link and "_export=csv" in link
    assert "export_full_url" not in page.context  # no reveal permission

    response = client.get(BORROWERS + link)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["ID", "name", "mobile", "resident ID number"]
    assert "timeline" not in header
    assert sorted(int(r[0]) for r in body) == sorted(b.pk for b in women)
    text = "\n".join(",".join(r) for r in body)
    for woman in women:
        assert woman.name not in text and woman.mobile not in text
        assert woman.id_number not in text
        assert woman.masked_mobile in text and woman.masked_name in text
    assert man.masked_name not in text

    event = AuditEvent.objects.get(action="export.csv")
    assert "sex__exact=F" in event.summary
    assert event.after["full_details"] is False
    assert not AuditEvent.objects.filter(action="pii.export").exists()


def test_a_search_by_id_number_exports_that_borrower_and_logs_no_number(client):
    women, _ = women_and_a_man()
    target = women[1]
    client.force_login(factories.staff(LOAN_OPERATIONS))
    found = client.post(reverse("admin:loans_borrower_search"), {"q": target.id_number})
    listing = client.get(found["Location"])
    link = listing.context["export_csv_url"]
    assert target.id_number not in link and target.mobile not in link

    rows = read_csv(client.get(BORROWERS + link))
    assert [int(r[0]) for r in rows[1:]] == [target.pk]
    event = AuditEvent.objects.get(action="export.csv")
    logged = f"{event.summary} {event.after}"
    assert target.id_number not in logged and "(ID number or mobile)" in logged


def test_full_details_need_the_reveal_permission_a_reason_and_are_logged(client):
    women, _ = women_and_a_man()
    client.force_login(factories.staff(AUDITOR))
    assert client.get(BORROWERS, {"_export": "csv"}).status_code == 200  # auditors export
    assert client.get(BORROWERS, {"_export": "csv_full"}).status_code == 403
    assert not AuditEvent.objects.filter(action="pii.export").exists()

    client.force_login(factories.staff(CUSTOMER_SERVICE))
    page = client.get(BORROWERS, {"sex__exact": "F"})
    url = BORROWERS + page.context["export_full_url"]
    asked = client.get(url)
    assert asked.status_code == 200 and "form" in asked.context  # asks why first
    assert client.post(url, {"reason": ""}).status_code == 200  # no reason, no export
    assert not AuditEvent.objects.filter(action="pii.export").exists()

    rows = read_csv(client.post(url, {"reason": "Court order 2026-17"}))
    body = "\n".join(",".join(r) for r in rows[1:])
    for woman in women:
        assert woman.name in body and woman.mobile in body and woman.id_number in body
    event = AuditEvent.objects.get(action="pii.export")
    assert "Court order 2026-17" in event.summary and "sex__exact=F" in event.summary
    assert AuditEvent.objects.filter(action="export.csv").count() == 2


def test_rows_are_streamed_from_an_iterator_after_the_header(client, monkeypatch):
    women_and_a_man()
    calls = []
    original = QuerySet.iterator

    def spy(self, chunk_size=None):
        calls.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    client.force_login(factories.staff(LOAN_OPERATIONS))
    response = client.get(BORROWERS, {"_export": "csv"})
    chunks = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as before_rows:
        header = next(chunks).decode("utf-8")
    assert header.startswith(BOM + "ID,")
    assert not any("loans_borrower" in q["sql"] for q in before_rows.captured_queries)
    assert calls == []  # no row has been read yet
    rest = b"".join(chunks).decode("utf-8")
    assert rest.count("\n") == Borrower.objects.count()
    assert calls == [exports.CHUNK_SIZE]


def test_cells_a_spreadsheet_would_run_are_quoted_and_numbers_kept(client):
    factories.product(code="evil", name='=HYPERLINK("http://x","pay")')
    factories.product(code="plus", name="+1+2")
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell("微粒贷") == "微粒贷"
    client.force_login(factories.staff(LOAN_OPERATIONS))
    rows = read_csv(client.get(reverse("admin:loans_loanproduct_changelist"), {"_export": "csv"}))
    names = {r[0]: r[1] for r in rows[1:]}
    assert names["evil"] == '\'=HYPERLINK("http://x","pay")'
    assert names["plus"] == "'+1+2"
    # Money stays a plain, unquoted decimal.
    text = "".join(csv_chunks(["a"], [[exports.plain(__import__("decimal").Decimal("-12.50"))]]))
    assert text.endswith("-12.50\r\n")


def test_the_query_count_does_not_grow_with_the_rows(client):
    client.force_login(factories.staff(LOAN_OPERATIONS))
    url = reverse("admin:loans_loan_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = read_csv(client.get(url, {"_export": "csv"}))
        return len(captured), len(rows) - 1

    factories.loan(on=date(2026, 1, 15))
    few, n_few = queries()
    for _ in range(3):
        factories.loan(on=date(2026, 1, 15))
    many, n_many = queries()
    assert (n_few, n_many) == (1, 4)
    assert many == few


def test_an_unknown_export_or_bad_filter_is_a_clear_400(client):
    client.force_login(factories.staff(LOAN_OPERATIONS))
    client.raise_request_exception = False
    assert client.get(BORROWERS, {"_export": "xlsx"}).status_code == 400
    assert client.get(BORROWERS, {"_export": "csv", "nope__gt": "1"}).status_code == 400
    assert client.get(BORROWERS, {"_export": "csv", "q": "a\x00b"}).status_code == 400
