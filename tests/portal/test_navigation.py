"""The signed-in header: on every page once signed in, never before; the home page knows who
is there."""

import pytest
from django.urls import reverse

from tests import factories
from tests.portal.test_titles import sign_in

pytestmark = pytest.mark.django_db
NAV = ['href="/credit/"', 'href="/loans/"', 'href="/repay/"', 'href="/help/"', 'href="/messages/"']


def nav_of(response) -> str:
    html = response.content.decode()
    start = html.find('<nav class="nav"')
    return html[start : html.find("</nav>", start)] if start >= 0 else ""


@pytest.mark.parametrize("name", ["home", "calculator", "my_credit", "loans", "repay", "help"])
def test_every_page_has_the_signed_in_header(client, name):
    sign_in(client, factories.loan().borrower)
    response = client.get(reverse(f"portal:{name}"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    nav = nav_of(response)
    assert all(link in nav for link in NAV), nav
    assert 'action="/logout/"' in nav and "Sign out" in nav


def test_signed_out_there_is_no_header_and_home_offers_to_apply(client):
    response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en")
    assert nav_of(response) == ""
    assert "Check my credit line" in response.content.decode()


def test_the_home_page_knows_a_signed_in_borrower(client):
    sign_in(client, factories.loan().borrower)
    page = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Go to my credit" in page and "Check my credit line" not in page
