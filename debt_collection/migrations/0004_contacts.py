"""Who lifted a contact restriction; the starting list of banned phrases: words that never
reach a borrower in free text (compliance edits the list in the admin; the guard matches them
case-insensitively and with spaces and punctuation removed, so one entry covers "爆 通讯录");
and the contact log's append-only triggers made to fire in every session, a replication-role
session included (`SET session_replication_role = replica` would otherwise skip them)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PHRASES = {
    "threat": [
        "弄死",
        "打断腿",
        "砍",
        "要你好看",
        "上门堵你",
        "杀了你",
        "弄残你",
        "泼油漆",
        "找人收拾你",
        "后果自负",
        "kill you",
        "break your legs",
        "we know where you live",
        "you will regret",
    ],
    "insult": ["老赖", "废物", "垃圾", "不要脸", "去死", "deadbeat", "scum", "worthless"],
    "impersonation": [
        "法院传票",
        "公安局",
        "警察",
        "律师函",
        "立案",
        "拘留",
        "坐牢",
        "逮捕",
        "通缉",
        "检察院",
        "arrest",
        "police",
        "jail",
        "prison",
        "court summons",
    ],
    "third_party": [
        "爆通讯录",
        "通知你家人",
        "联系你单位",
        "告诉你朋友",
        "你父母",
        "你同事",
        "你领导",
        "we will tell your family",
        "your employer",
        "your family",
        "your friends",
        "contact list",
    ],
}


LOG_TABLES = ["collections_contactattempt", "collections_calloutcome"]


def fire_always(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in LOG_TABLES:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")


def fire_by_default(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in LOG_TABLES:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


def seed(apps, schema_editor):
    BannedPhrase = apps.get_model("collections", "BannedPhrase")
    for category, phrases in PHRASES.items():
        for phrase in phrases:
            BannedPhrase.objects.get_or_create(phrase=phrase, defaults={"category": category})


def unseed(apps, schema_editor):
    BannedPhrase = apps.get_model("collections", "BannedPhrase")
    seeded = [phrase for phrases in PHRASES.values() for phrase in phrases]
    BannedPhrase.objects.filter(phrase__in=seeded).delete()


class Migration(migrations.Migration):
    dependencies = [("collections", "0003_cases")]
    operations = [
        migrations.AddField(
            model_name="contactrestriction",
            name="lifted_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="lifted by",
            ),
        ),
        migrations.RunPython(seed, unseed),
        migrations.RunPython(fire_always, fire_by_default),
    ]
