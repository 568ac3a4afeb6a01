"""What collections does when `loans` says something happened (connected in AppConfig.ready).

Every handler runs after the change committed (the signals are sent on commit)."""

from datetime import date

from loans import signals

from . import promises, sync
from .services import hardship


def after_business_day(*, business_date: date) -> dict:
    """Right after end of day: the case sync (open, update, close, assign), the promises
    whose date has passed, then the hardship plans (lapsed or completed)."""
    counts = sync.sync_cases(business_date=business_date)
    counts.update(promises.evaluate_promises(business_date=business_date))
    counts.update(hardship.check_plans(business_date=business_date))
    return counts


def on_business_day_closed(sender, business_day, **kwargs):
    after_business_day(business_date=business_day.business_date)


def on_repayment_posted(sender, repayment, **kwargs):
    promises.record_repayment(repayment=repayment)


def on_repayment_reversed(sender, repayment, **kwargs):
    promises.record_reversal(repayment=repayment)


def connect() -> None:
    signals.business_day_closed.connect(
        on_business_day_closed, dispatch_uid="collections-business-day-closed"
    )
    signals.repayment_posted.connect(
        on_repayment_posted, dispatch_uid="collections-repayment-posted"
    )
    signals.repayment_reversed.connect(
        on_repayment_reversed, dispatch_uid="collections-repayment-reversed"
    )
