# Reserved for indexes or columns result ingestion needs (performance round two).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0024_standardization_corrections"),
    ]

    operations = []
