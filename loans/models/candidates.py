"""Ready lists of loans that need a decision, as proxies of `Loan` so that each has its own
entry in the admin index and the list and CSV export every back-office list has.

- Write-off candidates (核销): the rule is `loans.services.write_offs.write_off_candidates`.
- Credit-bureau report candidates (征信上报): the loans a negative report would cover today.
"""

from django.db import models
from django.db.models.functions import Greatest
from django.utils.translation import gettext_lazy as _

from .. import delinquency
from .lending import Loan

# The pre-report notice (征信业管理条例 Art. 15) is texted on a loan's first overdue day; a
# report may follow at least one day later, so a loan is reported from DPD 2 on, and never
# while it is within its grace days (DESIGN §4: paid by the end of the day after its due date,
# never reported).
NOTICE_DAYS = 1


class BureauCandidateManager(models.Manager):
    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .filter(
                status=Loan.Status.ACTIVE,
                bucket__in=delinquency.OVERDUE_BUCKETS,
                days_past_due__gt=Greatest(models.F("grace_days"), models.Value(NOTICE_DAYS)),
            )
        )


class WriteOffCandidate(Loan):
    class Meta:
        proxy = True
        verbose_name = _("write-off candidate")
        verbose_name_plural = _("write-off candidates")


class BureauReportCandidate(Loan):
    objects = BureauCandidateManager()

    class Meta:
        proxy = True
        verbose_name = _("credit-bureau report candidate")
        verbose_name_plural = _("credit-bureau report candidates")
