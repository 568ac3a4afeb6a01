"""The borrower's loans: every loan, active first, with its status, what it still owes and
when the next instalment is due."""

from django.shortcuts import render
from django.utils import timezone

from loans import selectors

from ..decorators import borrower_required


@borrower_required
def loan_list(request):
    summaries = selectors.borrower_loans(borrower=request.borrower, on=timezone.localdate())
    return render(request, "portal/loans.html", {"summaries": summaries})
