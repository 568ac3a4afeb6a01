from django.db import migrations

# Frozen copies: migrations must not import texts that may change later.
NEW = [
    ("application_cancelled", "借款已取消 Draw cancelled", "transactional",
     "您申请的¥{{ amount }}借款已取消，额度已恢复。原因：{{ reasons }}。如有疑问请致电{{ service_phone }}。",
     "Your draw of ¥{{ amount }} was cancelled and your credit restored. Reason: {{ reasons }}. Questions: {{ service_phone }}.",
     {"amount": "2000.00", "reasons": "您的额度已冻结。", "service_phone": "95384"}),
    ("refund_paid", "退款成功 Refund paid", "transactional",
     "您多还的¥{{ amount }}已退回至您的{{ card }}银行卡。如有疑问请致电{{ service_phone }}。",
     "The ¥{{ amount }} you paid beyond what you owed has been returned to your bank card {{ card }}. Questions: {{ service_phone }}.",
     {"amount": "120.00", "card": "招商银行尾号1234", "service_phone": "95384"}),
    ("recovery_received", "核销后还款 Payment on a written-off loan", "transactional",
     "已收到您{{ value_date }}的还款¥{{ amount }}，尚欠¥{{ owed }}。如有疑问请致电{{ service_phone }}。",
     "We received your payment of ¥{{ amount }} on {{ value_date }}; ¥{{ owed }} is still owed. Questions: {{ service_phone }}.",
     {"amount": "300.00", "value_date": "2026-11-15", "owed": "8700.00", "service_phone": "95384"}),
]
OLD_DISBURSED_ZH = "您的借款¥{{ amount }}已发放至您的银行卡，首期还款日{{ first_due_date }}，应还¥{{ first_payment }}。"
OLD_DISBURSED_EN = "Your loan of ¥{{ amount }} has been paid to your bank card. First instalment ¥{{ first_payment }} due on {{ first_due_date }}."
NEW_DISBURSED_ZH = "您的借款¥{{ amount }}已发放至您的{{ card }}银行卡，首期还款日{{ first_due_date }}，应还¥{{ first_payment }}。"
NEW_DISBURSED_EN = "Your loan of ¥{{ amount }} has been paid to your bank card {{ card }}. First instalment ¥{{ first_payment }} due on {{ first_due_date }}."


def seed(apps, schema_editor):
    SmsTemplate = apps.get_model("notifications", "SmsTemplate")
    for code, name, purpose, zh, en, sample in NEW:
        SmsTemplate.objects.get_or_create(
            code=code,
            defaults={"name": name, "purpose": purpose, "body_zh": zh, "body_en": en, "sample_context": sample},
        )
    # The disbursement text names the card now; a text staff have edited is left alone.
    disbursed = SmsTemplate.objects.filter(code="loan_disbursed", body_zh=OLD_DISBURSED_ZH).first()
    if disbursed:
        disbursed.body_zh = NEW_DISBURSED_ZH
        if disbursed.body_en == OLD_DISBURSED_EN:
            disbursed.body_en = NEW_DISBURSED_EN
        disbursed.sample_context = {**disbursed.sample_context, "card": "招商银行尾号1234"}
        disbursed.save()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0007_sms_to_applicants")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
