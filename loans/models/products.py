"""Loan products: what can be borrowed, how it is repaid and what it may cost."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .. import pricing, schedules
from ..scorecard import MAX_CREDIT_LINE, MAX_DAILY_RATE
from .borrowers import MONEY, RATE


class LoanProduct(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    methods = models.JSONField(
        _("repayment methods"),
        default=pricing.default_methods,
        help_text=_("Any of equal_instalment, equal_principal, interest_first."),
    )
    terms = models.JSONField(
        _("terms (months)"), default=pricing.default_terms, help_text=_("e.g. [5, 10, 20]")
    )
    min_amount = models.DecimalField(_("minimum draw"), default=Decimal("100"), **MONEY)
    # No draw can be larger than the largest credit line.
    max_amount = models.DecimalField(_("maximum draw"), default=MAX_CREDIT_LINE, **MONEY)
    amount_step = models.DecimalField(_("draw in multiples of"), default=Decimal("100"), **MONEY)
    max_daily_rate = models.DecimalField(
        _("highest daily rate"),
        default=MAX_DAILY_RATE,
        validators=[MinValueValidator(Decimal("0"))],
        **RATE,
    )
    penalty_multiplier = models.DecimalField(
        _("penalty multiplier"), max_digits=4, decimal_places=2, default=Decimal("1.50")
    )
    grace_days = models.PositiveSmallIntegerField(_("grace days"), default=1)
    # 出账 (billing): an instalment's bill opens this many days before its due date; paying
    # then pays the bill in full, not a prepayment (DESIGN §4 "Bills and paying early").
    bill_days = models.PositiveSmallIntegerField(
        _("bill opens (days before due)"),
        default=7,
        db_default=7,  # set-based inserts (benchmarks, bulk loads) get it too
        validators=[MaxValueValidator(27)],
        help_text=_("Must leave the bill inside its own month: at most 27 days."),
    )
    upfront_fee_percent = models.DecimalField(
        # xgettext:no-python-format
        _("upfront fee (% of amount)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    auto_approve_max_amount = models.DecimalField(
        _("approve automatically up to"),
        default=Decimal("50000"),
        help_text=_("Larger draws go to the manual review queue."),
        **MONEY,
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems = pricing.product_problems(
            methods=self.methods,
            terms=self.terms,
            min_amount=self.min_amount,
            max_amount=self.max_amount,
            amount_step=self.amount_step,
            max_daily_rate=self.max_daily_rate,
            upfront_fee_percent=self.upfront_fee_percent,
            penalty_multiplier=self.penalty_multiplier,
        )
        if problems:
            raise ValidationError(
                {p.field: PRODUCT_PROBLEMS[p.code] % _problem_params(p) for p in problems}
            )

    def upfront_fee(self, amount: Decimal) -> Decimal:
        return pricing.upfront_fee(amount, self.upfront_fee_percent)

    @property
    def method_choices(self) -> list[tuple[str, str]]:
        labels = dict(METHOD_LABELS)
        return [(m, labels[m]) for m in self.methods]


METHOD_LABELS = [
    (schedules.RepaymentMethod.EQUAL_INSTALMENT.value, _("Equal instalments (等额本息)")),
    (schedules.RepaymentMethod.EQUAL_PRINCIPAL.value, _("Equal principal (等额本金)")),
    (schedules.RepaymentMethod.INTEREST_FIRST.value, _("Interest first (先息后本)")),
]


PRODUCT_PROBLEMS = {
    "methods": _("Choose at least one of equal_instalment, equal_principal, interest_first."),
    "terms": _("Terms are a list of whole months between 1 and 60, e.g. [5, 10, 20]."),
    "interest_first_term": _(
        "Interest first (先息后本) is only allowed for terms of at most %(max)s months."
    ),
    "amount_range": _("The minimum draw must be positive and not above the maximum."),
    "amount_step": _("The minimum and maximum draw must be multiples of the draw step."),
    "penalty_multiplier": _("The penalty multiplier must be between 1 and 2."),
    "fee": _("The upfront fee must be at least 0%% and below %(max)s%% of the amount."),
    "daily_rate": _("The highest daily rate cannot be below 0."),
    "apr_cap": _(
        "This product could cost %(apr)s%% a year (APR, fees included: %(method)s over "
        "%(term)s months at the highest daily rate), above the %(cap)s%% cap. Lower the rate "
        "or the fee."
    ),
}


def _problem_params(problem: pricing.Problem) -> dict:
    params = dict(problem.params)
    if "method" in params:
        params["method"] = dict(METHOD_LABELS)[params["method"]]
    return params
