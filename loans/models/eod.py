"""日终 (end of day): one row per business date processed, with the day's figures."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .borrowers import MONEY


class BusinessDay(models.Model):
    """Written in the same transaction as the day's changes: if it exists, the day is done,
    completely; if the run died, neither exists and the next run does the whole day."""

    business_date = models.DateField(_("business date"), unique=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    seconds = models.FloatField(_("seconds"))
    loans_current = models.PositiveIntegerField(_("current"), default=0)
    loans_m1 = models.PositiveIntegerField(_("M1"), default=0)
    loans_m2 = models.PositiveIntegerField(_("M2"), default=0)
    loans_m3 = models.PositiveIntegerField(_("M3"), default=0)
    loans_m4_plus = models.PositiveIntegerField(_("M4+"), default=0)
    write_off_candidates = models.PositiveIntegerField(_("write-off candidates"), default=0)
    overdue_principal = models.DecimalField(_("overdue principal"), default=0, **MONEY)
    overdue_interest = models.DecimalField(_("overdue interest"), default=0, **MONEY)
    overdue_penalty = models.DecimalField(_("overdue penalty"), default=0, **MONEY)
    penalty_accrued = models.DecimalField(_("penalty accrued today"), default=0, **MONEY)
    instalments_overdue = models.PositiveIntegerField(_("instalments newly overdue"), default=0)
    newly_overdue = models.PositiveIntegerField(_("loans newly overdue"), default=0)
    newly_cured = models.PositiveIntegerField(_("loans cured"), default=0)
    # The portfolio at the end of the day, for the dashboard: stored here so that no page
    # view scans the loans. Balance is outstanding principal of active loans.
    active_loans = models.PositiveIntegerField(_("active loans"), default=0)
    outstanding_principal = models.DecimalField(_("outstanding principal"), default=0, **MONEY)
    balance_current = models.DecimalField(_("balance current"), default=0, **MONEY)
    balance_m1 = models.DecimalField(_("balance M1"), default=0, **MONEY)
    balance_m2 = models.DecimalField(_("balance M2"), default=0, **MONEY)
    balance_m3 = models.DecimalField(_("balance M3"), default=0, **MONEY)
    balance_m4_plus = models.DecimalField(_("balance M4+"), default=0, **MONEY)
    disbursed_loans = models.PositiveIntegerField(_("loans disbursed the day before"), default=0)
    disbursed_amount = models.DecimalField(_("amount disbursed the day before"), default=0, **MONEY)

    class Meta:
        verbose_name = _("business day")
        verbose_name_plural = _("end-of-day runs")
        ordering = ["-business_date"]
        permissions = [("run_end_of_day", _("Can run end of day"))]

    def __str__(self) -> str:
        return str(self.business_date)
