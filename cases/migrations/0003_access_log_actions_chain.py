"""Access log: action type and reason, a keyed hash chain, and (PostgreSQL) a trigger that refuses UPDATE
and DELETE except the retention purge. Existing rows are chained in (at, id) order."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TRIGGER = """
CREATE OR REPLACE FUNCTION cases_piiaccesslog_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('yeongye.allow_access_log_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the personal data access log is append-only (%% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS cases_piiaccesslog_append_only ON cases_piiaccesslog;
CREATE TRIGGER cases_piiaccesslog_append_only BEFORE UPDATE OR DELETE ON cases_piiaccesslog
    FOR EACH ROW EXECUTE FUNCTION cases_piiaccesslog_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS cases_piiaccesslog_append_only ON cases_piiaccesslog;
DROP FUNCTION IF EXISTS cases_piiaccesslog_append_only();
"""


def chain_existing(apps, schema_editor):
    from cases.access_log import GENESIS, row_digest

    Log = apps.get_model("cases", "PiiAccessLog")
    prev, seq, batch = GENESIS, 0, []
    for row in Log.objects.order_by("at", "id").iterator(chunk_size=5000):
        seq += 1
        row.seq, row.prev_hash = seq, prev
        row.row_hash = row_digest(
            seq=seq,
            at=row.at,
            user_id=row.user_id,
            client_id=row.client_id,
            action=row.action,
            view=row.view,
            ip_address=row.ip_address,
            reason=row.reason,
            prev_hash=prev,
        )
        prev = row.row_hash
        batch.append(row)
        if len(batch) >= 5000:
            Log.objects.bulk_update(batch, ["seq", "prev_hash", "row_hash"])
            batch = []
    if batch:
        Log.objects.bulk_update(batch, ["seq", "prev_hash", "row_hash"])


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_client_phone_last4_fk_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="piiaccesslog",
            name="action",
            field=models.CharField(
                choices=[
                    ("read", "Read"),
                    ("create", "Create"),
                    ("update", "Update"),
                    ("delete", "Delete"),
                    ("print", "Print"),
                    ("download", "Download"),
                ],
                default="read",
                max_length=10,
                verbose_name="action",
            ),
        ),
        migrations.AddField(
            model_name="piiaccesslog",
            name="reason",
            field=models.CharField(blank=True, max_length=500, verbose_name="reason"),
        ),
        migrations.AddField(
            model_name="piiaccesslog",
            name="seq",
            field=models.BigIntegerField(null=True, verbose_name="sequence"),
        ),
        migrations.AddField(
            model_name="piiaccesslog", name="prev_hash", field=models.CharField(default="", max_length=64)
        ),
        migrations.AddField(
            model_name="piiaccesslog", name="row_hash", field=models.CharField(default="", max_length=64)
        ),
        migrations.AlterField(
            model_name="piiaccesslog",
            name="at",
            field=models.DateTimeField(db_index=True, verbose_name="at"),
        ),
        migrations.AlterField(
            model_name="piiaccesslog",
            name="client",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="cases.client",
                verbose_name="client",
            ),
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="piiaccesslog",
            name="seq",
            field=models.BigIntegerField(unique=True, verbose_name="sequence"),
        ),
        migrations.AlterField(model_name="piiaccesslog", name="prev_hash", field=models.CharField(max_length=64)),
        migrations.AlterField(model_name="piiaccesslog", name="row_hash", field=models.CharField(max_length=64)),
        migrations.AddIndex(
            model_name="piiaccesslog",
            index=models.Index(fields=["user", "-at"], name="pii_log_user_at"),
        ),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
