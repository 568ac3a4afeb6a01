"""Domain signals: how `loans` tells the other apps what happened.

Sent only after the transaction that made the change commits, so a receiver never sees (or
texts a borrower about) something that was rolled back. Receivers connect in AppConfig.ready.

- credit_assessed(assessment): an assessment was stored (automated or overridden).
- credit_line_changed(credit_line, event): a line was opened, re-assessed, frozen, unfrozen or
  closed.
"""

from django.dispatch import Signal

credit_assessed = Signal()
credit_line_changed = Signal()
