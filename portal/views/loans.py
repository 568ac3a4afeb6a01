"""The borrower's loans: every loan, active first, with its status, what it still owes and
when the next instalment is due; and one loan's page: its figures, bills and ledger."""

from decimal import Decimal

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from loans import selectors

from .. import selectors as portal_selectors
from ..decorators import borrower_required

# The ledger rows shown on a loan's page, newest first: an overdue loan gets a penalty row per
# instalment every day, so the page shows the latest ones and says how many there are.
TRANSACTIONS_SHOWN = 60


def own_loan(request, pk: int):
    """(loan, its instalments, its summary today) for the signed-in borrower's loan `pk`;
    404 for anyone else's."""
    loan = portal_selectors.borrower_loan(borrower=request.borrower, pk=pk)
    if loan is None:
        raise Http404
    instalments = portal_selectors.loan_schedule(loan=loan)
    summary = selectors.summarise_loan(loan=loan, instalments=instalments, on=timezone.localdate())
    return loan, instalments, summary


@borrower_required
def loan_list(request):
    summaries = portal_selectors.borrower_loans(borrower=request.borrower, on=timezone.localdate())
    return render(request, "portal/loans.html", {"summaries": summaries})


@borrower_required
def loan_detail(request, pk: int):
    loan, instalments, summary = own_loan(request, pk)
    today = timezone.localdate()
    rows = selectors.instalment_rows(loan=loan, instalments=instalments, on=today)
    transactions, count = portal_selectors.latest_transactions(loan=loan, shown=TRANSACTIONS_SHOWN)
    context = {
        "loan": loan,
        "summary": summary,
        "figures": summary.figures,
        "rows": rows,
        "paid_total": sum((r.total_paid for r in rows), Decimal("0.00")),
        "transactions": transactions,
        "transaction_count": count,
        "transactions_shown": TRANSACTIONS_SHOWN,
    }
    return render(request, "portal/loan.html", context)
