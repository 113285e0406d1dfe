"""Stored evaluations' report and document compressed with LZ4 on PostgreSQL (docs/performance.md, "Stored
evaluations written as plain rows").

PostgreSQL compresses a large JSON value before it keeps it out of line (TOAST); its default method, pglz, took
about 1.6 s of the server's CPU for the reports of 10,000 evaluations, LZ4 about 0.2 s, for a stored report of
about the same size. Only values written from now on are compressed the new way; both methods are read alike, so
nothing is rewritten and what a reader gets is unchanged. Skipped where the server was built without LZ4 and on
other databases.
"""

from django.db import migrations

TABLE = "evlims_complianceevaluation"
COLUMNS = ("report", "document")


def _set_compression(method: str):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT %s = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'", [method]
            )
            row = cursor.fetchone()
        if not (row and row[0]):
            return
        for column in COLUMNS:
            schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN {column} SET COMPRESSION {method}")

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0024_metric_recompute_speed"),
    ]

    operations = [
        migrations.RunPython(_set_compression("lz4"), _set_compression("pglz"), elidable=True),
    ]
