"""The stored report's digest beside the report (docs/performance.md, "Ninth pass").

A forced refresh writes the evaluations of every preparation again; on PostgreSQL the write parsed each new report
as JSON and compared it with the stored one, to keep the stored value when they are equal: about 2 s of the
server's time for 10,000 reports. With the digest of the report's text stored beside it, equal digests keep the
stored report without parsing it. Existing evaluations start with an empty digest (unknown): their next write
compares the report as before and stores its digest.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0025_compliance_batch_speed"),
    ]

    operations = [
        migrations.AddField(
            model_name="complianceevaluation",
            name="report_digest",
            field=models.CharField(
                blank=True,
                default="",
                help_text="SHA-256 of the stored report's JSON text; empty if unknown.",
                max_length=64,
            ),
        ),
    ]
