"""Domain signals: how `loans` tells the other apps what happened.

Sent only after the transaction that made the change commits, so a receiver never sees (or
texts a borrower about) something that was rolled back. Receivers connect in AppConfig.ready.

- credit_assessed(assessment): an assessment was stored (automated or overridden).
- credit_line_changed(credit_line, event): a line was opened, re-assessed, frozen, unfrozen or
  closed.
- application_decided(application), contract_signed(contract), loan_disbursed(loan,
  bank_card), repayment_posted(repayment), repayment_reversed(repayment), loan_settled(loan).
  A payment on a written-off loan is a recovery (`repayment.recovery`): repayment_posted is
  sent for it too, but nothing was allocated and the loan owes nothing on its books.
- refund_paid(refund): the gateway paid a refund to the borrower's card; refund_failed(refund):
  it did not (`refund.failure_reason`), and the money is back in the loan's "to refund".
- loan_written_off(loan, write_off): a write-off was approved; the loan is closed on the books
  but the borrower still owes `write_off.total` less later recoveries, so its collections
  case stays open for recovery.
- application_cancelled(application, reasons): a draw was cancelled before disbursement and
  its reservation released. `reasons` is the list of `CancelReason` codes (also stored on
  `application.cancel_reasons`): ["borrower_request"] when the borrower (or staff for them)
  walked away; otherwise the lending checks it failed at signing or disbursement.
- business_day_closed(business_day): end of day committed a business date (the BusinessDay
  row, `business_day.business_date`); receivers bring their own records up to date with the
  day's overdue state.
- login_code_requested(borrower, code, request_id): text this login code to the borrower.
- registration_code_requested(mobile, code, request_id): text this code to a mobile that
  belongs to no borrower yet, to prove it before registering. There is no Borrower row.
- card_verification_code_requested(borrower, code, request_id, bank_name, last4): text this
  code to the borrower's mobile to prove the card they are binding (bank and last 4 digits, to
  name it in the text; the full number never travels in a signal).

The code signals are sent after the response has gone out (`loans.after_response`); the
code travels only in memory and must reach nothing but the SMS provider.
"""

from django.dispatch import Signal

credit_assessed = Signal()
credit_line_changed = Signal()

# Lending. Each receives the named object as a keyword argument.
application_decided = Signal()  # application: approved, waiting for review, or rejected
contract_signed = Signal()  # contract
loan_disbursed = Signal()  # loan, bank_card (the verified card it was paid to)
application_cancelled = Signal()  # application, reasons (CancelReason codes)
repayment_posted = Signal()  # repayment
repayment_reversed = Signal()  # repayment
loan_settled = Signal()  # loan
loan_written_off = Signal()  # loan, write_off

# End of day (日终): one business date's run committed.
business_day_closed = Signal()  # business_day

# Refunds of money paid beyond everything owed.
refund_paid = Signal()  # refund
refund_failed = Signal()  # refund

# Portal login: a one-time code to text to the borrower (the code travels only in memory).
login_code_requested = Signal()  # borrower, code, request_id
# Registration: a one-time code to text to an unregistered mobile (normalised, 11 digits).
registration_code_requested = Signal()  # mobile, code, request_id
# Card binding: a one-time code to text to the borrower to prove the card (绑卡验证).
card_verification_code_requested = Signal()  # borrower, code, request_id, bank_name, last4
