"""The reminders benchmark still builds its data, queues, checks itself and cleans up (at a tiny
scale), so it cannot rot between the times someone runs it for real. And the fast rendering it
measures gives, text for text, what the template itself renders."""

from pathlib import Path

import pytest
from benchdb import database_exists, run_on_sqlite, run_script

from notifications.models import SmsTemplate
from notifications.texts import Stencil

SCRIPT = Path(__file__).with_name("reminders.py")
KEYS = {
    "loans",
    "messages",
    "seconds",
    "messages_per_second",
    "floor_seconds",
    "ratio",
    "build_seconds",
}


@pytest.mark.postgres
def test_benchmark_queues_the_days_reminders_and_drops_its_database():
    result, pid = run_script(SCRIPT, 300)
    assert KEYS <= set(result)
    assert result["loans"] == 300
    assert result["messages"] > 0
    assert result["floor_seconds"] > 0
    # Seconds are rounded to 0.1 ms and the floor takes a few ms at this scale.
    assert result["ratio"] == pytest.approx(result["seconds"] / result["floor_seconds"], rel=0.05)
    # The benchmark checked itself: the count it expected, each text as SQL writes it, the
    # phones left encrypted, nothing queued twice.
    checks = result["checks"]
    assert checks["expected_messages"] == result["messages"]
    assert checks["all_queued"] is True
    assert checks["texts_differing_from_sql"] == 0
    assert checks["phones_not_the_borrowers_ciphertext"] == 0
    assert checks["phone_decrypts"] is True
    assert checks["requeued_on_second_run"] == 0
    assert not database_exists(f"bench_reminders_{pid}")


def test_benchmark_refuses_sqlite(tmp_path):
    bench = run_on_sqlite(SCRIPT, tmp_path)
    assert bench.returncode == 2
    assert "needs PostgreSQL" in bench.stderr
    assert bench.stdout == ""


DUE_ZH = (
    "尊敬的客户，您的借款第{{ instalment_number }}/{{ term }}期应还¥{{ amount }}将于"
    "{{ due_date }}{% if days == 0 %}（今天）{% endif %}到期。{% if auto_debit is False %}"
    "您已关闭自动扣款。{% else %}请保持绑定银行卡余额充足。{% endif %}客服{{ service_phone }}"
)
DUE_EN = (
    "Instalment {{ instalment_number }}/{{ term }} of ¥{{ amount }} is due on {{ due_date }}"
    "{% if days == 0 %} (today){% endif %}. {% if auto_debit is False %}Auto-debit is off."
    "{% else %}Keep money on your card.{% endif %} Service: {{ service_phone }}"
)
EDITED = [
    # Braces and a leading space in the text itself, a name both printed and tested.
    " {x} ¥{{ amount }} {% if amount %}有{{ amount }}{% else %}无{% endif %} {{ days }} ",
    # A filter, a loop, a dotted name: rendered the ordinary way.
    "¥{{ amount|default:'0.00' }}，第{{ term|add:1 }}期",
    "{% for c in amount %}{{ c }}-{% endfor %}",
    "{{ amount.upper }} {{ missing }}",
    "{% if days > 2 and not auto_debit %}晚{% elif days == 1 %}一{% endif %}{{ auto_debit }}",
]
CONTEXTS = [
    {
        "instalment_number": 3,
        "term": 10,
        "amount": "1084.34",
        "due_date": "2026-03-15",
        "days": 3,
        "auto_debit": True,
        "service_phone": "95384",
    },
    {
        "instalment_number": 1,
        "term": 6,
        "amount": "0.50",
        "due_date": "2026-03-12",
        "days": 0,
        "auto_debit": False,
        "service_phone": "95384",
    },
    # True and 1 are equal keys in a dict, yet print differently.
    {
        "instalment_number": 10,
        "term": 12,
        "amount": "{0}{}",
        "due_date": "2026-03-13",
        "days": True,
        "auto_debit": 1,
        "service_phone": "95384",
    },
    {
        "instalment_number": 2,
        "term": 3,
        "amount": "",
        "due_date": "2026-03-14",
        "days": 1,
        "service_phone": 95384,
    },
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("body", [DUE_ZH, DUE_EN, *EDITED])
def test_fast_rendering_gives_exactly_what_the_template_renders(body, language):
    template = SmsTemplate(code="t", body_zh=body, body_en=body)
    stencil = Stencil(template, language)
    for context in CONTEXTS * 2:  # the second time from what the stencil has kept
        assert stencil.render(context) == template.render(context, language=language)
