"""Staff work in the admin under the same strict Content-Security-Policy: its scripts (filters,
actions, date pickers, the inline forms) all load and run."""

import re

import pytest
from django.contrib.auth.models import User

from tests.loans.test_gateway import loan  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_works_under_the_csp(admin_page, live_server, loan):  # noqa: F811
    User.objects.create_superuser("root", password="a-long-pass-2026")
    page = admin_page
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "a-long-pass-2026")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))

    # A changelist: the action bar's script counts the selected rows.
    page.goto(f"{live_server.url}/admin/loans/loan/")
    page.check("#action-toggle")
    assert "1 of 1 selected" in page.inner_text(".action-counter")

    # A change page with date widgets: DateTimeShortcuts adds the calendar links.
    page.goto(f"{live_server.url}/admin/loans/borrower/add/")
    page.wait_for_selector(".datetimeshortcuts")
    page.goto(f"{live_server.url}/admin/loans/borrower/{loan.borrower_id}/change/")
    assert page.locator("#content").is_visible()
