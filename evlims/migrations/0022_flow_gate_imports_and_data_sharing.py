# Operations are filled in by the change that needs them; until then this step changes nothing.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0021_single_sign_on"),
    ]

    operations = []
