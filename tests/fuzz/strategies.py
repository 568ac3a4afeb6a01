"""Hostile values for every field a borrower, staff member or caller can send, and the checks
every fuzz test makes of the answer: never a 500, a refusal is shown (form errors) or a
400/404, and a refused input writes nothing."""

import traceback
from contextlib import contextmanager

from django.core.cache import cache
from django.db import transaction
from django.utils.html import escape
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Reproducible in CI and quick on a slow machine: a few dozen examples per form.
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LONG = "长" * 10_000
ODD_TEXT = [
    "\x00",
    "a\x00b",
    "%00",
    LONG,
    "x" * 10_001,
    "\u202eevil\u202c",  # right-to-left override
    "\u200f\u200e",  # RTL / LTR marks
    "e\u0301\u0301\u0301",  # stacked combining accents
    "😀👨‍👩‍👧",
    "１２３４５６",  # full-width digits
    "٣٤٥",  # Arabic-Indic digits
    "\ufeffBOM",
    "\r\n\t",
    "   ",
    "",
    "<script>alert(1)</script>",
    "'; DROP TABLE loans_loan; --",
    "{{ settings.SECRET_KEY }}",
    "%(amount)s %s {0}",
    "../../etc/passwd",
    "\\x00",
    "\U0010ffff",
]
# Anything a browser can send: every code point but lone surrogates (not encodable).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
hostile_text = st.one_of(st.sampled_from(ODD_TEXT), any_text)

ODD_AMOUNTS = [
    "-1",
    "-0.01",
    "0",
    "-0",
    "0.001",
    "1.2345678",
    "1e9999",
    "1E+5",
    "1e-9999",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "9" * 400,
    "9" * 30 + ".99",
    "999999999999.99",
    "１０００",
    "1,000.00",
    "¥500",
    "+5",
    "0x10",
    " 100 ",
    "100\x00",
    "5..5",
    "½",
]
hostile_amount = st.one_of(
    st.sampled_from(ODD_AMOUNTS),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)

ODD_DATES = [
    "2026-02-30",
    "2026-02-29",
    "0000-01-01",
    "0001-01-01",
    "99999-01-01",
    "9999-12-31",
    "2026-13-01",
    "2026-00-10",
    "-2026-01-01",
    "２０２６-０３-０１",
    "2026-03-01\x00",
    "yesterday",
    "1-1-1",
]
hostile_date = st.one_of(st.sampled_from(ODD_DATES), st.dates().map(lambda d: d.isoformat()))

ODD_TIMES = ["25:00", "23:60", "00:00", "23:59:59.999999", "noon", "-1:00", "\x00"]
hostile_time = st.one_of(st.sampled_from(ODD_TIMES), st.times().map(lambda t: t.isoformat()))

ODD_IDS = ["0", "-1", "abc", "1.5", "9" * 25, "1\x00", "", " ", "１", "²", "٣", "1e3", "0x1"]
hostile_id = st.one_of(st.sampled_from(ODD_IDS), st.integers(-(2**70), 2**70).map(str))

# Any field at all: each form's own fields get one of these, whatever the field is.
hostile_value = st.one_of(hostile_text, hostile_amount, hostile_date, hostile_id)


def hostile_form(fields, **overrides):
    """A dict of `fields` -> hostile values, each field sometimes left out."""
    value = st.one_of(hostile_value, st.none())
    data = st.fixed_dictionaries(
        {name: overrides.get(name, value) for name in fields},
    )
    return data.map(lambda d: {k: v for k, v in d.items() if v is not None})


def mutated(valid: dict, typed: dict | None = None):
    """A form that would be accepted, with up to three of its fields replaced by a hostile
    value (of the field's own kind where `typed` gives one) or left out: the checks behind
    the form's own are reached too."""
    typed = typed or {}

    @st.composite
    def build(draw):
        chosen = draw(st.lists(st.sampled_from(sorted(valid)), max_size=3, unique=True))
        data = dict(valid)
        for name in chosen:
            value = draw(st.one_of(typed.get(name, hostile_value), hostile_value, st.none()))
            if value is None:
                data.pop(name)
            else:
                data[name] = value
        return data

    return build()


@contextmanager
def each_example():
    """One example's writes, undone after it (and its rate-limit counts): the next example
    starts from the same rows."""
    cache.clear()
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def assert_no_500(response) -> None:
    if response.status_code >= 500:
        exc = getattr(response, "exc_info", None)
        detail = "".join(traceback.format_exception(*exc)) if exc else response.content[:2000]
        raise AssertionError(f"status {response.status_code}:\n{detail}")


def shown_errors(response, form_key: str = "form") -> list[str]:
    """The messages of a re-shown form, each checked to be on the page."""
    form = response.context[form_key]
    messages = [str(m) for errors in form.errors.values() for m in errors]
    html = response.content.decode()
    missing = [m for m in messages if escape(m) not in html]
    assert not missing, f"errors not shown on the page: {missing}"
    return messages


def counts(*models) -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in models}


def form_fields(response) -> tuple[dict, list[str]]:
    """The values the page would post unchanged, and every field a person can type into."""
    data, names = {}, []
    forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        forms.append(formset.management_form)
        forms.extend(formset.forms)
    for form in forms:
        for bound in form:
            if bound.field.disabled:
                continue
            names.append(bound.html_name)
            value = bound.value()
            if value is None or value is False:
                continue
            data[bound.html_name] = "on" if value is True else value
    return data, names
