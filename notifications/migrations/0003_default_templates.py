from django.db import migrations

SAMPLE_DUE = {"instalment_number": 3, "term": 10, "amount": "1084.34", "due_date": "2026-03-15", "days": 3, "service_phone": "95384"}
SAMPLE_OVERDUE = {"overdue_since": "2026-03-16", "days_past_due": 3, "principal": "948.36", "interest": "135.98", "penalty": "2.13", "total": "1086.47", "pay_by": "2026-03-18", "service_phone": "95384"}

TEMPLATES = [
    ("due_reminder", "还款提醒 Due reminder", "transactional",
     "尊敬的客户，您的借款第{{ instalment_number }}/{{ term }}期应还¥{{ amount }}将于{{ due_date }}{% if days == 0 %}（今天）{% endif %}到期。请保持绑定银行卡余额充足以便自动扣款，也可通过微信支付、支付宝或本行客户端还款。客服{{ service_phone }}",
     "Dear customer, instalment {{ instalment_number }}/{{ term }} of ¥{{ amount }} is due on {{ due_date }}{% if days == 0 %} (today){% endif %}. Keep enough money on your bound bank card for the automatic debit, or repay by WeChat Pay, Alipay or our portal. Service: {{ service_phone }}",
     SAMPLE_DUE),
    ("overdue_notice", "逾期提醒 Overdue notice", "collection",
     "尊敬的客户，您的借款自{{ overdue_since }}起逾期，逾期金额¥{{ total }}（本金¥{{ principal }}，利息¥{{ interest }}，罚息¥{{ penalty }}）。请于{{ pay_by }}当日结束前通过银行卡、微信支付、支付宝或本行客户端还款，即可停止计收罚息、避免影响个人征信。客服{{ service_phone }}",
     "Dear customer, your loan has been overdue since {{ overdue_since }}: ¥{{ total }} (principal ¥{{ principal }}, interest ¥{{ interest }}, penalty interest ¥{{ penalty }}). Pay by the end of {{ pay_by }} by bank card, WeChat Pay, Alipay or our portal to stop further penalty interest and keep it off your credit record. Service: {{ service_phone }}",
     SAMPLE_OVERDUE),
    ("pre_report_notice", "征信报送前告知 Credit report notice", "collection",
     "尊敬的客户，您的借款已逾期¥{{ total }}。根据《征信业管理条例》，如未于{{ pay_by }}当日结束前还清，逾期信息将报送金融信用信息基础数据库。可通过银行卡、微信支付、支付宝或本行客户端还款。客服{{ service_phone }}",
     "Dear customer, ¥{{ total }} of your loan is overdue. Under the Credit Reporting Regulation, unless it is repaid by the end of {{ pay_by }}, the overdue record will be reported to the credit reference centre. Repay by bank card, WeChat Pay, Alipay or our portal. Service: {{ service_phone }}",
     SAMPLE_OVERDUE),
    ("application_approved", "借款审批通过 Application approved", "transactional",
     "您申请的¥{{ amount }}借款已审批通过，请登录本行客户端阅读并签署借款合同。",
     "Your application to borrow ¥{{ amount }} is approved. Log in to our portal to read and sign the contract.",
     {"amount": "10000.00"}),
    ("application_review", "借款人工审核 Application in review", "transactional",
     "您申请的¥{{ amount }}借款已提交人工审核，结果将短信通知您。",
     "Your application to borrow ¥{{ amount }} is being reviewed by our staff; we will text you the result.",
     {"amount": "60000.00"}),
    ("application_rejected", "借款未获批准 Application rejected", "transactional",
     "很抱歉，您申请的¥{{ amount }}借款暂未获批准。如有疑问请致电{{ service_phone }}。",
     "We are sorry: your application to borrow ¥{{ amount }} was not approved. Questions: {{ service_phone }}.",
     {"amount": "10000.00", "service_phone": "95384"}),
    ("contract_signed", "合同已签署 Contract signed", "transactional",
     "您已签署借款合同{{ contract_number }}，借款金额¥{{ amount }}，年化利率{{ apr }}%。",
     "You have signed loan contract {{ contract_number }} for ¥{{ amount }}, APR {{ apr }}%.",
     {"contract_number": "WL2026011500000001", "amount": "10000.00", "apr": "18.00"}),
    ("loan_disbursed", "放款成功 Loan disbursed", "transactional",
     "您的借款¥{{ amount }}已发放至您的银行卡，首期还款日{{ first_due_date }}，应还¥{{ first_payment }}。",
     "Your loan of ¥{{ amount }} has been paid to your bank card. First instalment ¥{{ first_payment }} due on {{ first_due_date }}.",
     {"amount": "10000.00", "first_due_date": "2026-02-15", "first_payment": "1084.34"}),
    ("repayment_received", "还款成功 Repayment received", "transactional",
     "已收到您{{ value_date }}的还款¥{{ amount }}。{% if settled %}您的借款已全部结清。{% else %}剩余本金¥{{ remaining }}。{% endif %}",
     "We received your payment of ¥{{ amount }} on {{ value_date }}. {% if settled %}Your loan is fully repaid.{% else %}Remaining principal ¥{{ remaining }}.{% endif %}",
     {"amount": "1084.34", "value_date": "2026-02-15", "settled": False, "remaining": "9065.66"}),
    ("loan_settled", "借款结清 Loan settled", "transactional",
     "您的借款¥{{ principal }}已于{{ settled_on }}全部结清，感谢您的信任。",
     "Your loan of ¥{{ principal }} was fully repaid on {{ settled_on }}. Thank you.",
     {"principal": "10000.00", "settled_on": "2026-11-15"}),
]

CADENCE = [("due", -3, None), ("due", -1, None), ("due", 0, None), ("overdue", 1, None), ("overdue", 3, None), ("overdue", 7, 7)]


def seed(apps, schema_editor):
    SmsTemplate = apps.get_model("notifications", "SmsTemplate")
    CadenceStep = apps.get_model("notifications", "CadenceStep")
    for code, name, purpose, zh, en, sample in TEMPLATES:
        SmsTemplate.objects.get_or_create(
            code=code,
            defaults={"name": name, "purpose": purpose, "body_zh": zh, "body_en": en, "sample_context": sample},
        )
    for kind, offset, repeat in CADENCE:
        CadenceStep.objects.get_or_create(kind=kind, offset_days=offset, defaults={"repeat_every_days": repeat})


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_templates_and_cadence")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
