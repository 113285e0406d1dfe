# Reserved for indexes or columns the metric recompute and result ingestion need (performance round two).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0024_standardization_corrections"),
    ]

    operations = []
