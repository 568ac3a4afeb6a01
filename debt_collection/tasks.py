"""Scheduled and on-demand work (django-q2). Thin: work out the date, call the service."""

from loans.models import BusinessDay

from .receivers import after_business_day


def sync_last_business_day() -> str:
    """Run the after-end-of-day work again for the last business date processed (it is
    idempotent): for an operator, when the run after end of day failed."""
    last = BusinessDay.objects.order_by("-business_date").first()
    if last is None:
        return "no business date processed yet"
    counts = after_business_day(business_date=last.business_date)
    return f"{last.business_date}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
