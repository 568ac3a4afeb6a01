"""The ready lists: write-off candidates (DPD over the threshold, not written off) with a link
to propose each, and credit-bureau report candidates (overdue past the grace days and the
notice day) with what a report would say; both exportable like every list."""

from datetime import date

import pytest
from django.urls import reverse

from loans import delinquency
from loans.models import Instalment, Loan, WriteOff
from loans.roles import LOAN_OPERATIONS, RISK_OFFICER
from tests import factories

pytestmark = pytest.mark.django_db
WRITE_OFFS = reverse("admin:loans_writeoffcandidate_changelist")
BUREAU = reverse("admin:loans_bureaureportcandidate_changelist")


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def overdue(dpd: int, **fields) -> Loan:
    loan = factories.loan(on=date(2026, 1, 15))
    Loan.objects.filter(pk=loan.pk).update(
        days_past_due=dpd, bucket=delinquency.bucket_for(dpd), **fields
    )
    if dpd:
        Instalment.objects.filter(loan=loan, number=1).update(status=Instalment.Status.OVERDUE)
    return loan


def listed(client, url) -> list[int]:
    response = client.get(url)
    assert response.status_code == 200
    return sorted(row.pk for row in response.context["cl"].result_list)


def test_write_off_candidates_are_past_the_threshold_and_link_to_a_proposal(client):
    beyond = overdue(delinquency.WRITE_OFF_DPD + 1, write_off_candidate=True)
    proposed = overdue(200, write_off_candidate=True)
    overdue(delinquency.WRITE_OFF_DPD, write_off_candidate=False)
    overdue(250, write_off_candidate=True, status=Loan.Status.WRITTEN_OFF)
    user = factories.staff(RISK_OFFICER)
    WriteOff.objects.create(loan=proposed, reason="r", days_past_due=200, proposed_by=user)
    client.force_login(user)

    assert listed(client, WRITE_OFFS) == sorted([beyond.pk, proposed.pk])
    page = client.get(WRITE_OFFS).content.decode()
    assert f"{reverse('admin:loans_writeoff_add')}?loan={beyond.pk}" in page
    assert f"?loan={proposed.pk}" not in page  # already awaiting approval
    assert reverse("admin:loans_loan_change", args=[beyond.pk]) in page
    assert WRITE_OFFS in client.get(reverse("admin:index")).content.decode()

    client.force_login(factories.staff(LOAN_OPERATIONS))  # may see, may not propose
    page = client.get(WRITE_OFFS).content.decode()
    assert "Propose write-off" not in page
    exported = b"".join(client.get(WRITE_OFFS, {"_export": "csv"}).streaming_content)
    assert exported.decode("utf-8").count("\n") == 3  # header and two loans


def test_bureau_candidates_are_overdue_past_grace_and_the_notice_day(client):
    reported = overdue(5)
    overdue(1)  # the notice goes out today: no report before tomorrow
    overdue(0)
    overdue(40, status=Loan.Status.SETTLED)
    client.force_login(factories.staff(LOAN_OPERATIONS))

    assert listed(client, BUREAU) == [reported.pk]
    response = client.get(BUREAU)
    row = response.context["cl"].result_list[0]
    first = Instalment.objects.get(loan=reported, number=1)
    assert row.principal_overdue == first.principal_due - first.principal_paid
    assert row.total_overdue == (row.principal_overdue + row.interest_overdue + row.penalty_overdue)
    page = response.content.decode()
    assert reported.borrower.masked_id_number in page
    assert reported.borrower.id_number not in page
    exported = b"".join(client.get(BUREAU, {"_export": "csv"}).streaming_content).decode()
    assert reported.borrower.masked_id_number in exported
    assert f"{first.due_date.replace(day=first.due_date.day + 1)}" in exported
