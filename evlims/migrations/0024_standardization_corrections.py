# Reserved for corrections to standardization records (tracer readouts, pipetting uncertainty).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0023_compact_compliance_reports"),
    ]

    operations = []
