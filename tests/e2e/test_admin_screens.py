"""The back office as its staff see it on a 1400×900 desktop, on the demo data: the dashboard,
a collector's queue and one of their cases, a borrower's timeline and the audit trail. Each
page is saved under build/screenshots/admin/ for a person to look at, and must fit the screen's
width without a horizontal scroll bar."""

import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from debt_collection.models import CollectionCase
from loans.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)  # end of day commits
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots" / "admin"
WIDTH = 1400


@pytest.fixture
def demo():
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed with the test
    call_command("load_demo_data", "--force", stdout=devnull)
    call_command("load_collections_demo", "--force", stdout=devnull)
    devnull.close()


def sign_in(page, live_server, username):
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/"))


def shot(page, name):
    """Save the page and check it reads on the screen: no server error, no sideways scroll."""
    text = page.inner_text("body")
    assert "Server Error" not in text and "Traceback" not in text, name
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= WIDTH, f"{name} is {scroll_width} px wide"
    # A list's own box scrolls sideways when its columns do not fit: they must.
    hidden = page.evaluate(
        "(() => { const box = document.querySelector('#changelist .results');"
        " return box ? box.scrollWidth - box.clientWidth : 0; })()"
    )
    assert hidden <= 0, f"{name}: {hidden} px of the list's columns are out of sight"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    return text


def test_the_back_office_screens_read_well(admin_page, live_server, demo):
    page = admin_page

    sign_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/admin/")
    text = shot(page, "dashboard_supervisor")
    assert "PAR30" in text or "PAR 30" in text

    sign_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/admin/")
    text = shot(page, "dashboard")
    assert "PAR30" in text or "PAR 30" in text
    # The whole home, charts included (they are below the first screen).
    assert page.locator("svg").count() >= 3
    page.screenshot(path=str(SHOTS / "dashboard_full.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/loans/loan/")
    shot(page, "loans_list")

    sign_in(page, live_server, "collector")
    page.goto(f"{live_server.url}/admin/")
    shot(page, "collector_queue")
    case = CollectionCase.objects.filter(assigned_to__user__username="collector").first()
    page.goto(f"{live_server.url}/admin/collections/collectioncase/{case.pk}/change/")
    text = shot(page, "case")
    assert f"#{case.pk}" in text

    sign_in(page, live_server, "service")
    page.goto(f"{live_server.url}/admin/loans/borrower/{case.borrower_id}/timeline/")
    text = shot(page, "borrower_timeline")
    assert "Traceback" not in text

    sign_in(page, live_server, "auditor")
    page.goto(f"{live_server.url}/admin/loans/auditevent/")
    text = shot(page, "audit_trail")
    assert "audit" in text.lower()
