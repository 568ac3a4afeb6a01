"""The role matrix: for every admin page and action, what each of the six staff groups may do.

Written out in full on purpose: a permission granted or lost by accident changes a line here.
Each entry reads "<rights> <actions>": v view, a add, c change, d delete, then the list actions
(bulk delete aside). A page not listed is not open to the group at all. The superuser is the
setup role: every page and every action. The auditor only reads; a collector sees only their
own cases."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from loans.roles import (
    AUDITOR,
    COLLECTION_SUPERVISOR,
    COLLECTOR,
    CUSTOMER_SERVICE,
    GROUPS,
    LOAN_OPERATIONS,
    RISK_OFFICER,
)
from tests import factories

pytestmark = pytest.mark.django_db

# Actions that change nothing: the auditor may run them.
READ_ONLY_ACTIONS = {"rerun"}

EXPECTED = {
    RISK_OFFICER: {
        "loans.approval": "v approve,claim,reject,release",
        "loans.approvalthreshold": "v",
        "loans.borrower": "vc assess_credit",
        "loans.bureaureportcandidate": "v",
        "loans.businessday": "v",
        "loans.contract": "v",
        "loans.creditassessment": "v claim,override,release,rerun",
        "loans.creditline": "v freeze,reassess,unfreeze",
        "loans.creditlineevent": "v",
        "loans.creditreport": "va",
        "loans.instalment": "v",
        "loans.loan": "v",
        "loans.loanapplication": "v approve,claim,reject,release",
        "loans.loanproduct": "v",
        "loans.registrationattempt": "v",
        "loans.repayment": "v",
        "loans.writeoff": "va approve,reject",
        "loans.writeoffcandidate": "v",
    },
    LOAN_OPERATIONS: {
        "django_q.schedule": "v",
        "loans.approval": "v approve,claim,reject,release",
        "loans.approvalthreshold": "v",
        "loans.bankcard": "vc unbind",
        "loans.borrower": "vac assess_credit",
        "loans.bureaureportcandidate": "v",
        "loans.businessday": "v",
        "loans.contract": "v",
        "loans.creditassessment": "v rerun",
        "loans.creditline": "v freeze,reassess,unfreeze",
        "loans.creditlineevent": "v",
        "loans.creditreport": "v",
        "loans.debitattempt": "v",
        "loans.gatewaynotification": "v",
        "loans.instalment": "v",
        "loans.loan": "v post_payment",
        "loans.loanapplication": "v approve,cancel,claim,disburse,reject,release",
        "loans.loanproduct": "vac",
        "loans.loantransaction": "v",
        "loans.refund": "va approve,reject,send_again",
        "loans.repayment": "v reverse",
        "loans.writeoff": "v",
        "loans.writeoffcandidate": "v",
        "notifications.cadencestep": "vc",
        "notifications.smsmessage": "v retry",
        "notifications.smstemplate": "vac",
    },
    CUSTOMER_SERVICE: {
        "collections.complaint": "va",
        "collections.contactrestriction": "va",
        "loans.approval": "v",
        "loans.borrower": "v",
        "loans.bureaureportcandidate": "v",
        "loans.contract": "v",
        "loans.creditassessment": "v record_review_request,rerun",
        "loans.creditline": "v",
        "loans.creditlineevent": "v",
        "loans.creditreport": "v",
        "loans.instalment": "v",
        "loans.loan": "v",
        "loans.loanapplication": "v",
        "loans.refund": "v",
        "loans.repayment": "v",
        "notifications.smsmessage": "v",
    },
    COLLECTOR: {
        "collections.bannedphrase": "v",
        "collections.collectioncase": "v",
        "collections.complaint": "a",
        "collections.contactrestriction": "a",
        "collections.hardshipplan": "v",
        "collections.homevisit": "v report",
        "loans.approval": "v",
        "loans.borrower": "v",
        "loans.creditline": "v",
        "loans.instalment": "v",
        "loans.loan": "v",
        "loans.repayment": "v",
    },
    COLLECTION_SUPERVISOR: {
        "collections.bannedphrase": "v",
        "collections.calloutcome": "v",
        "collections.collectioncase": "v reassign",
        "collections.collector": "vac",
        "collections.complaint": "va resolve",
        "collections.contactattempt": "v",
        "collections.contactrestriction": "va lift",
        "collections.hardshipplan": "v approve,reject",
        "collections.homevisit": "v approve,reject,report",
        "loans.approval": "v approve,claim,reject,release",
        "loans.borrower": "v",
        "loans.creditline": "v",
        "loans.instalment": "v",
        "loans.loan": "v",
        "loans.repayment": "v",
        "loans.writeoff": "v approve,reject",
        "loans.writeoffcandidate": "v",
    },
    AUDITOR: {
        "collections.bannedphrase": "v",
        "collections.calloutcome": "v",
        "collections.collectioncase": "v",
        "collections.collector": "v",
        "collections.complaint": "v",
        "collections.contactattempt": "v",
        "collections.contactrestriction": "v",
        "collections.hardshipplan": "v",
        "collections.homevisit": "v",
        "django_q.schedule": "v",
        "loans.approval": "v",
        "loans.approvalthreshold": "v",
        "loans.auditevent": "v",
        "loans.bankcard": "v",
        "loans.borrower": "v",
        "loans.bureaureportcandidate": "v",
        "loans.businessday": "v",
        "loans.contract": "v",
        "loans.creditassessment": "v rerun",
        "loans.creditline": "v",
        "loans.creditlineevent": "v",
        "loans.creditreport": "v",
        "loans.debitattempt": "v",
        "loans.gatewaynotification": "v",
        "loans.instalment": "v",
        "loans.loan": "v",
        "loans.loanapplication": "v",
        "loans.loanproduct": "v",
        "loans.loantransaction": "v",
        "loans.piiaccesslog": "v",
        "loans.refund": "v",
        "loans.registrationattempt": "v",
        "loans.repayment": "v",
        "loans.writeoff": "v",
        "loans.writeoffcandidate": "v",
        "notifications.cadencestep": "v",
        "notifications.smsmessage": "v",
        "notifications.smstemplate": "v",
    },
}


def request_for(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def rights(user) -> dict[str, str]:
    """What the admin itself grants `user`, in EXPECTED's notation."""
    request = request_for(user)
    found = {}
    for model, model_admin in admin.site._registry.items():
        checks = [
            ("v", model_admin.has_view_permission),
            ("a", model_admin.has_add_permission),
            ("c", model_admin.has_change_permission),
            ("d", model_admin.has_delete_permission),
        ]
        granted = "".join(letter for letter, may in checks if may(request))
        if granted:
            actions = sorted(a for a in model_admin.get_actions(request) if a != "delete_selected")
            label = f"{model._meta.app_label}.{model._meta.model_name}"
            found[label] = granted + (" " + ",".join(actions) if actions else "")
    return found


@pytest.mark.parametrize("group", GROUPS)
def test_each_group_may_do_exactly_what_the_matrix_says(group):
    assert rights(factories.staff(group)) == EXPECTED[group]


def test_the_auditor_reads_everything_and_changes_nothing():
    for page, granted in EXPECTED[AUDITOR].items():
        letters, _, actions = granted.partition(" ")
        assert letters == "v", page
        assert set(filter(None, actions.split(","))) <= READ_ONLY_ACTIONS, page
    assert "loans.auditevent" in EXPECTED[AUDITOR]  # their home is the audit trail


def test_only_the_superuser_sets_up_the_business():
    setup = rights(factories.staff(superuser=True))
    assert set(setup) == {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    for page in ["collections.bannedphrase", "loans.approvalthreshold", "auth.user", "auth.group"]:
        assert "c" in setup[page], page
        assert all("c" not in EXPECTED[g].get(page, "").split(" ")[0] for g in GROUPS), page


def test_nobody_but_the_superuser_deletes_anything():
    for group in GROUPS:
        for page, granted in EXPECTED[group].items():
            assert "d" not in granted.split(" ")[0], (group, page)


def test_a_collector_sees_only_their_own_cases():
    from debt_collection.models import CollectionCase

    collector = factories.staff(COLLECTOR)
    model_admin = admin.site._registry[CollectionCase]
    query = str(model_admin.get_queryset(request_for(collector)).query)
    assert "assigned_to" in query or "collector" in query
    assert EXPECTED[COLLECTOR]["collections.collectioncase"] == "v"
    assert "loans.auditevent" not in EXPECTED[COLLECTOR]
    assert "loans.piiaccesslog" not in EXPECTED[COLLECTOR]
