"""A template may use only what the code sending it provides (its sample data and the service
number): a misspelt name is refused on save instead of texting "逾期元" to every borrower."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from notifications.models import SmsTemplate
from tests import factories

pytestmark = pytest.mark.django_db


def test_every_template_we_ship_passes_the_check():
    templates = list(SmsTemplate.objects.all())
    assert len(templates) >= 10
    for template in templates:
        template.full_clean()


def overdue_template() -> SmsTemplate:
    return SmsTemplate.objects.get(code="overdue_notice")


@pytest.mark.parametrize("field", ["body_zh", "body_en"])
def test_a_misspelt_variable_is_refused_and_named(field):
    template = overdue_template()
    assert "total" in template.sample_context
    setattr(template, field, getattr(template, field) + " {{ totl }}")
    with pytest.raises(ValidationError) as refused:
        template.full_clean()
    (message,) = refused.value.message_dict[field]
    assert "totl" in message and "total" in message


def test_names_inside_tags_are_checked_too():
    template = overdue_template()
    template.body_en += "{% if paid_in_ful %} thanks{% endif %}"
    with pytest.raises(ValidationError, match="paid_in_ful"):
        template.full_clean()


def test_what_the_sender_provides_and_the_service_number_are_allowed():
    template = overdue_template()
    name = sorted(template.sample_context)[0]
    template.body_en += f" {{{{ {name} }}}} {{{{ service_phone }}}}"
    template.full_clean()


def test_staff_cannot_widen_what_a_template_may_use(client):
    client.force_login(factories.staff(superuser=True))
    template = overdue_template()
    url = reverse("admin:notifications_smstemplate_change", args=[template.pk])
    page = client.get(url).content.decode()
    assert 'name="sample_context"' not in page
