from django.db import migrations

# Frozen copies: migrations must not import texts that may change later. Borrowers now choose
# auto-debit on or off (loans 0017): the due reminder no longer tells one who turned it off to
# keep money on the card for a debit that will not come. A text staff have edited is left
# alone. `auto_debit is False`: without the variable the text reads as before.
OLD_ZH = "尊敬的客户，您的借款第{{ instalment_number }}/{{ term }}期应还¥{{ amount }}将于{{ due_date }}{% if days == 0 %}（今天）{% endif %}到期。请保持绑定银行卡余额充足以便自动扣款，也可通过微信支付、支付宝或本行客户端还款。客服{{ service_phone }}"
OLD_EN = "Dear customer, instalment {{ instalment_number }}/{{ term }} of ¥{{ amount }} is due on {{ due_date }}{% if days == 0 %} (today){% endif %}. Keep enough money on your bound bank card for the automatic debit, or repay by WeChat Pay, Alipay or our portal. Service: {{ service_phone }}"
NEW_ZH = "尊敬的客户，您的借款第{{ instalment_number }}/{{ term }}期应还¥{{ amount }}将于{{ due_date }}{% if days == 0 %}（今天）{% endif %}到期。{% if auto_debit is False %}您已关闭自动扣款，请通过银行卡、微信支付、支付宝或本行客户端按时还款。{% else %}请保持绑定银行卡余额充足以便自动扣款，也可通过微信支付、支付宝或本行客户端还款。{% endif %}客服{{ service_phone }}"
NEW_EN = "Dear customer, instalment {{ instalment_number }}/{{ term }} of ¥{{ amount }} is due on {{ due_date }}{% if days == 0 %} (today){% endif %}. {% if auto_debit is False %}Auto-debit is off: please repay on time by bank card, WeChat Pay, Alipay or our portal.{% else %}Keep enough money on your bound bank card for the automatic debit, or repay by WeChat Pay, Alipay or our portal.{% endif %} Service: {{ service_phone }}"


def forward(apps, schema_editor):
    _swap(apps, (OLD_ZH, OLD_EN), (NEW_ZH, NEW_EN), auto_debit=True)


def backward(apps, schema_editor):
    _swap(apps, (NEW_ZH, NEW_EN), (OLD_ZH, OLD_EN), auto_debit=None)


def _swap(apps, old, new, *, auto_debit):
    SmsTemplate = apps.get_model("notifications", "SmsTemplate")
    template = SmsTemplate.objects.filter(code="due_reminder").first()
    if template is None:
        return
    changed = False
    for field, before, after in (("body_zh", old[0], new[0]), ("body_en", old[1], new[1])):
        if getattr(template, field) == before:
            setattr(template, field, after)
            changed = True
    if changed:
        sample = dict(template.sample_context or {})
        if auto_debit is None:
            sample.pop("auto_debit", None)
        else:
            sample["auto_debit"] = auto_debit
        template.sample_context = sample
        template.save()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0009_collection_templates")]

    operations = [migrations.RunPython(forward, backward)]
