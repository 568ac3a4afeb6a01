"""Domain signals: how `loans` tells the other apps what happened.

Sent only after the transaction that made the change commits, so a receiver never sees (or
texts a borrower about) something that was rolled back. Receivers connect in AppConfig.ready.

- credit_assessed(assessment): an assessment was stored (automated or overridden).
- credit_line_changed(credit_line, event): a line was opened, re-assessed, frozen, unfrozen or
  closed.
- application_decided(application), contract_signed(contract), loan_disbursed(loan),
  repayment_posted(repayment), repayment_reversed(repayment), loan_settled(loan).
"""

from django.dispatch import Signal

credit_assessed = Signal()
credit_line_changed = Signal()

# Lending. Each receives the named object as a keyword argument.
application_decided = Signal()  # application: approved, waiting for review, or rejected
contract_signed = Signal()  # contract
loan_disbursed = Signal()  # loan
repayment_posted = Signal()  # repayment
repayment_reversed = Signal()  # repayment
loan_settled = Signal()  # loan

# Portal login: a one-time code to text to the borrower (the code travels only in memory).
login_code_requested = Signal()  # borrower, code, request_id
