"""The admin says whose back office it is, in the staff member's language, never "Django
administration"."""

import re

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "name"), [("en", "微粒贷 back office"), ("zh-hans", "微粒贷小额贷款后台")]
)
@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/admin/loans/loan/"])
def test_every_admin_page_carries_the_back_office_name(client, language, name, path):
    if path != "/admin/login/":
        client.force_login(factories.staff(superuser=True))
    page = client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert name in re.search(r"<title>(.*?)</title>", page, flags=re.S).group(1)
    assert name in page.split('id="site-name"', 1)[1][:300]
    assert "Django administration" not in page and "Django site admin" not in page
