import django.db.models.deletion
from decimal import Decimal

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0015_borrower_address"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="loan",
            name="accrual_stopped_on",
            field=models.DateField(
                blank=True, null=True, verbose_name="interest and penalty stopped on"
            ),
        ),
        migrations.AlterField(
            model_name="loantransaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("disbursement", "Disbursement"),
                    ("repayment", "Repayment"),
                    ("penalty", "Penalty accrual"),
                    ("waiver", "Waiver"),
                    ("reversal", "Reversal"),
                    ("write_off", "Write-off"),
                    ("refund", "Refund"),
                    ("recovery", "Recovery"),
                    ("reschedule", "Schedule revision"),
                ],
                max_length=12,
                verbose_name="kind",
            ),
        ),
        migrations.CreateModel(
            name="ScheduleRevision",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True, db_index=True, verbose_name="revised at"
                    ),
                ),
                ("as_of", models.DateField(verbose_name="as of")),
                ("reason", models.CharField(max_length=300, verbose_name="reason")),
                ("kinds", models.JSONField(default=list, verbose_name="operations")),
                (
                    "extension_days",
                    models.PositiveSmallIntegerField(
                        blank=True, null=True, verbose_name="due dates moved by (days)"
                    ),
                ),
                (
                    "new_term",
                    models.PositiveSmallIntegerField(
                        blank=True, null=True, verbose_name="new plan over (months)"
                    ),
                ),
                (
                    "penalty_waived",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        max_digits=14,
                        verbose_name="penalty waived",
                    ),
                ),
                (
                    "interest_waived",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        max_digits=14,
                        verbose_name="interest waived",
                    ),
                ),
                (
                    "apr_percent",
                    models.DecimalField(
                        decimal_places=2, max_digits=6, verbose_name="APR of the revised schedule (%)"
                    ),
                ),
                (
                    "old_instalments",
                    models.JSONField(default=list, verbose_name="instalments before"),
                ),
                (
                    "new_instalments",
                    models.JSONField(default=list, verbose_name="instalments after"),
                ),
                ("old_terms", models.JSONField(default=dict, verbose_name="loan terms before")),
                ("new_terms", models.JSONField(default=dict, verbose_name="loan terms after")),
                (
                    "by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="approved by",
                    ),
                ),
                (
                    "loan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="schedule_revisions",
                        to="loans.loan",
                        verbose_name="loan",
                    ),
                ),
            ],
            options={
                "verbose_name": "schedule revision",
                "verbose_name_plural": "schedule revisions",
                "ordering": ["loan_id", "-created_at", "-id"],
                "default_permissions": ("view",),
            },
        ),
    ]
