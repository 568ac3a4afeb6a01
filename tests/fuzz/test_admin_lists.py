"""Every admin list with a hostile search (`q`), hostile filter, ordering and page parameters,
and the search box that posts to it: a list, a redirect or a 400, never a 500. The admin
answers an unknown filter with its own "?e=1" redirect."""

import pytest
from django.contrib import admin
from django.contrib.admin import SimpleListFilter
from django.test import Client
from django.urls import NoReverseMatch, reverse
from hypothesis import given
from hypothesis import strategies as st

from tests import factories

from .strategies import FUZZ, ODD_IDS, ODD_TEXT, assert_no_500, each_example, hostile_value

pytestmark = pytest.mark.django_db
LOOKUPS = ["exact", "gte", "lt", "isnull", "in", "id__exact"]


def _lists():
    """(changelist URL name, filter parameters, search URL name or None) of each admin."""
    found = []
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        name = f"admin:{meta.app_label}_{meta.model_name}"
        try:
            reverse(f"{name}_changelist")
        except NoReverseMatch:
            continue
        params = []
        for entry in model_admin.list_filter:
            if isinstance(entry, type) and issubclass(entry, SimpleListFilter):
                params.append(entry.parameter_name)
                continue
            field = entry[0] if isinstance(entry, tuple | list) else entry
            params.extend(f"{field}__{lookup}" for lookup in LOOKUPS)
        try:
            reverse(f"{name}_search")
            search = f"{name}_search"
        except NoReverseMatch:
            search = None
        found.append((f"{name}_changelist", params, search))
    return sorted(found)


LISTS = _lists()


@pytest.fixture
def staff_client(db):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(factories.staff(superuser=True))
    factories.loan()  # something in the lists, so that filters and search really run
    return client


@FUZZ
@given(data=st.data(), listed=st.sampled_from(LISTS))
def test_list_parameters(staff_client, data, listed):
    name, filters, _search = listed
    names = st.sampled_from([*filters, "o", "p", "all", "e", "_to_field", "q"])
    params = data.draw(st.dictionaries(names, hostile_value, min_size=1, max_size=4))
    with each_example():
        response = staff_client.get(reverse(name), params)
        assert_no_500(response)
        assert response.status_code in (200, 302, 400, 403, 404)


def test_every_list_and_its_search_box_take_odd_text(staff_client):
    """Each list once with every odd search term, and its search box posted the same."""
    failures = []
    for name, _filters, search in LISTS:
        for term in [ODD_TEXT[1], ODD_TEXT[3], "²", ODD_IDS[4], "%_\\'\""]:
            for url, method in [(reverse(name), "get"), (search and reverse(search), "post")]:
                if url is None:
                    continue
                response = getattr(staff_client, method)(url, {"q": term})
                if response.status_code >= 500:
                    failures.append((name, method, term[:20]))
    assert not failures
