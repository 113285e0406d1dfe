# Reserved for indexes or columns the full metric recompute needs (performance round two).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0025_result_ingest_speed"),
    ]

    operations = []
