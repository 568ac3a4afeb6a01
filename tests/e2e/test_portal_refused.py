"""An applicant we cannot lend to is told why, in words, and may ask a person to look again."""

import pytest

from loans.models import CreditAssessment, Decision
from tests import factories

from .portal_helpers import apply_for_a_line, shot, texted_after

pytestmark = pytest.mark.django_db(transaction=True)


class TroubledBureau:
    source = "e2e"

    def pull(self, *, id_number):
        from loans.bureau import BureauReport

        # Two accounts overdue now, a bad 24-month record.
        return BureauReport(2, 120, 1, 90)


def test_a_refused_applicant_sees_the_reasons(page, live_server, settings, registration_codes):
    settings.CREDIT_BUREAU_BACKEND = "tests.e2e.test_portal_refused.TroubledBureau"
    factories.product(code="weilidai", terms=[5, 10])
    page.goto(f"{live_server.url}/apply/")
    page.fill("#id_mobile", "13912347777")
    page.click("text=Text me a code")
    page.wait_for_selector("text=A code is on its way")
    ((_mobile, code),) = texted_after(registration_codes, 0)
    page.fill("#id_code", code)
    page.click("button[name=verify]")
    page.wait_for_selector("text=Step 2 of 2")
    apply_for_a_line(page, name="赵六", monthly_debts="0")
    shot(page, "refused-1-reasons")
    assessment = CreditAssessment.objects.get()
    assert assessment.decision == Decision.DECLINED
    text = page.inner_text("main")
    assert "overdue" in text.lower(), text
    # No line, so nothing to borrow; a person can be asked to review the decision.
    assert page.locator("text=Borrow").count() == 0 or "/borrow/" not in page.content()
    assert page.locator("form[action$='/credit/review/']").count() == 1
