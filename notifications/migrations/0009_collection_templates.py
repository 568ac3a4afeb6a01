from django.db import migrations

# Frozen copies: migrations must not import texts that may change later. The signature and
# the verification code (with the pointer to /verify/) are added around every text when sent.
SAMPLE_VISIT = {
    "visit_date": "2026-03-20",
    "window_start": "10:00",
    "window_end": "12:00",
    "staff_number": "C0012",
    "visitor_name": "李*",
    "service_phone": "95384",
}
SAMPLE_OVERDUE = {
    "days_past_due": 12,
    "total": "1086.47",
    "principal": "948.36",
    "interest": "135.98",
    "penalty": "2.13",
    "service_phone": "95384",
}

TEMPLATES = [
    ("visit_notice", "上门拜访告知 Home visit notice", "transactional",
     "尊敬的客户，我司工作人员将于{{ visit_date }} {{ window_start }}至{{ window_end }}上门拜访，与您沟通借款还款事宜。本次上门已提前告知，来访人员工号{{ staff_number }}，姓名{{ visitor_name }}，将出示工作证并文明沟通，不会有任何威胁或骚扰。您可在官网 /verify/ 用本短信核验码查验本短信及来访人员，如需改约请致电{{ service_phone }}。",
     "Dear customer, a member of our staff will visit you on {{ visit_date }} between {{ window_start }} and {{ window_end }} to talk about repaying your loan. This visit is announced in advance: the visitor is staff number {{ staff_number }}, name {{ visitor_name }}, will show a staff card and will speak with you politely, with no threats or pressure. Check this text and the visitor on our website at /verify/ with the code at the end of this text; to change the date call {{ service_phone }}.",
     SAMPLE_VISIT),
    ("complaint_ack", "投诉异议受理 Complaint received", "transactional",
     "您提交的投诉或异议已受理，受理编号{{ reference }}。我们将在{{ target_days }}日内书面答复您；处理期间暂停对您的催收联系。如有疑问请致电{{ service_phone }}。",
     "We have received your complaint or dispute, reference {{ reference }}. We will answer you in writing within {{ target_days }} days; until then all collection contact with you is paused. Questions: {{ service_phone }}.",
     {"reference": "TS00000012", "target_days": 15, "service_phone": "95384"}),
    ("hardship_decided", "协商还款结果 Hardship plan decided", "transactional",
     "您就借款合同{{ contract_number }}提出的协商还款申请{% if approved %}已获批准：{{ plan_summary }}。请按新的还款计划按时还款，计划履行期间暂停催收。{% else %}未获批准，原还款计划不变。{% endif %}如有疑问请致电{{ service_phone }}。",
     "Your request for a hardship plan on loan contract {{ contract_number }} {% if approved %}is approved: {{ plan_summary }}. Please pay by the new schedule; collection is paused while the plan is kept.{% else %}was not approved; your repayment schedule stays as it was.{% endif %} Questions: {{ service_phone }}.",
     {"approved": True, "contract_number": "WL2026011500000001", "plan_summary": "剩余各期还款日顺延30天，减免罚息¥120.00", "service_phone": "95384"}),
    ("collection_reminder", "催收还款提醒 Collection reminder", "collection",
     "尊敬的客户，您的借款已逾期{{ days_past_due }}天，逾期金额¥{{ total }}（本金¥{{ principal }}，利息¥{{ interest }}，罚息¥{{ penalty }}）。请尽快通过绑定银行卡、微信支付、支付宝或本行客户端还款。如有困难可申请协商还款，客服{{ service_phone }}。",
     "Dear customer, your loan is {{ days_past_due }} days overdue: ¥{{ total }} (principal ¥{{ principal }}, interest ¥{{ interest }}, penalty interest ¥{{ penalty }}). Please repay soon by your bound bank card, WeChat Pay, Alipay or our portal. If you cannot pay, you may ask for a hardship plan. Service: {{ service_phone }}.",
     SAMPLE_OVERDUE),
    ("collection_call_back", "请回电 Please call us", "collection",
     "尊敬的客户，我们有关于您借款的事宜需要与您沟通，请致电我司官方客服电话{{ service_phone }}。请以官方号码为准，勿拨打其他号码。",
     "Dear customer, we need to talk with you about your loan. Please call our official service number {{ service_phone }}, and no other number.",
     {"service_phone": "95384"}),
]
CODES = [code for code, *_ in TEMPLATES]


def seed(apps, schema_editor):
    SmsTemplate = apps.get_model("notifications", "SmsTemplate")
    for code, name, purpose, zh, en, sample in TEMPLATES:
        SmsTemplate.objects.get_or_create(
            code=code,
            defaults={"name": name, "purpose": purpose, "body_zh": zh, "body_en": en, "sample_context": sample},
        )


def unseed(apps, schema_editor):
    apps.get_model("notifications", "SmsTemplate").objects.filter(code__in=CODES).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0008_lifecycle_templates")]

    operations = [migrations.RunPython(seed, unseed)]
