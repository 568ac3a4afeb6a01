import re

from django.db import migrations, models

# What the automatic rejection wrote into the decision note: the failed rules' codes, joined
# by ", " (e.g. "income, debt_to_income").
CODES_NOTE = re.compile(r"[a-z][a-z0-9_]*(, [a-z][a-z0-9_]*)*")


def _auto_rejected(LoanApplication):
    # Only that code path rejects with review_reason "not_eligible", and no one decides it.
    return LoanApplication.objects.filter(
        status="rejected", review_reason="not_eligible", decided_by__isnull=True
    )


def codes_out_of_the_note(apps, schema_editor):
    LoanApplication = apps.get_model("loans", "LoanApplication")
    moved = []
    for application in _auto_rejected(LoanApplication).exclude(decision_note="").iterator():
        if CODES_NOTE.fullmatch(application.decision_note):
            application.reason_codes = application.decision_note.split(", ")
            application.decision_note = ""
            moved.append(application)
    LoanApplication.objects.bulk_update(moved, ["reason_codes", "decision_note"], batch_size=500)


def codes_back_into_the_note(apps, schema_editor):
    LoanApplication = apps.get_model("loans", "LoanApplication")
    moved = []
    for application in _auto_rejected(LoanApplication).filter(decision_note="").iterator():
        if application.reason_codes:
            application.decision_note = ", ".join(application.reason_codes)[:300]
            moved.append(application)
    LoanApplication.objects.bulk_update(moved, ["decision_note"], batch_size=500)


class Migration(migrations.Migration):
    """An application rejected as no longer eligible keeps the failed rules' codes in a field
    of their own; the decision note is left to what staff write."""

    dependencies = [
        ("loans", "0012_refunds_write_off"),
    ]

    operations = [
        migrations.AddField(
            model_name="loanapplication",
            name="reason_codes",
            field=models.JSONField(
                blank=True,
                db_default=models.Value([], output_field=models.JSONField()),
                default=list,
                verbose_name="why not eligible",
            ),
        ),
        migrations.RunPython(codes_out_of_the_note, codes_back_into_the_note),
    ]
