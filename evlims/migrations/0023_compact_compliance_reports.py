# Reserved for the compact storage of compliance reports (performance round two).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0022_flow_gate_imports_and_data_sharing"),
    ]

    operations = []
