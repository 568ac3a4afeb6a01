"""Bank cards proved before money moves: the card's number (encrypted, with a blind index),
its holder, when it was verified, pending bindings waiting for their texted code, the card a
disbursement was paid to, and why a draw was cancelled."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F

import loans.fields


def cards_bound_so_far_were_verified_by_the_gateway(apps, schema_editor):
    # Until now a card was recorded only once the gateway had bound it and given us its token,
    # so it was proved there; keeping them usable keeps auto-debit collecting from them.
    BankCard = apps.get_model("loans", "BankCard")
    BankCard.objects.filter(verified_at__isnull=True).update(verified_at=F("bound_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0010_bill_days"),
    ]

    operations = [
        migrations.AddField(
            model_name="bankcard",
            name="holder_name",
            field=loans.fields.EncryptedTextField(blank=True, verbose_name="card holder"),
        ),
        migrations.AddField(
            model_name="bankcard",
            name="number",
            field=loans.fields.EncryptedTextField(blank=True, verbose_name="card number"),
        ),
        migrations.AddField(
            model_name="bankcard",
            name="number_index",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="bankcard",
            name="verified_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="verified at"),
        ),
        migrations.RunPython(
            cards_bound_so_far_were_verified_by_the_gateway, migrations.RunPython.noop
        ),
        migrations.AddConstraint(
            model_name="bankcard",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("unbound_at__isnull", True), models.Q(("number_index", ""), _negated=True)
                ),
                fields=("number_index",),
                name="bankcard_number_bound_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="bankcard",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("is_default", False), ("verified_at__isnull", False), _connector="OR"
                ),
                name="bankcard_default_is_verified",
            ),
        ),
        migrations.CreateModel(
            name="CardBinding",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("bank_name", models.CharField(max_length=50, verbose_name="bank")),
                (
                    "number",
                    loans.fields.EncryptedTextField(blank=True, verbose_name="card number"),
                ),
                ("number_index", models.CharField(db_index=True, editable=False, max_length=64)),
                ("holder_name", loans.fields.EncryptedTextField(verbose_name="card holder")),
                ("last4", models.CharField(max_length=4, verbose_name="last 4 digits")),
                ("make_default", models.BooleanField(default=True, verbose_name="make default")),
                ("code_hash", models.CharField(editable=False, max_length=64)),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True, db_index=True, verbose_name="requested at"
                    ),
                ),
                ("expires_at", models.DateTimeField(verbose_name="code expires at")),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="tries")),
                ("used_at", models.DateTimeField(blank=True, null=True, verbose_name="used at")),
                (
                    "ip_address",
                    models.GenericIPAddressField(blank=True, null=True, verbose_name="IP address"),
                ),
                (
                    "borrower",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="card_bindings",
                        to="loans.borrower",
                        verbose_name="borrower",
                    ),
                ),
                (
                    "card",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="binding",
                        to="loans.bankcard",
                        verbose_name="bank card",
                    ),
                ),
            ],
            options={
                "verbose_name": "card binding",
                "verbose_name_plural": "card bindings",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["borrower", "-created_at"], name="loans_cardb_borrowe_903a17_idx"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="loantransaction",
            name="bank_card",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="loan_transactions",
                to="loans.bankcard",
                verbose_name="bank card",
            ),
        ),
        migrations.AddField(
            model_name="loanapplication",
            name="cancel_reasons",
            field=models.JSONField(
                blank=True,
                db_default=models.Value([], output_field=models.JSONField()),
                default=list,
                verbose_name="why cancelled",
            ),
        ),
    ]
