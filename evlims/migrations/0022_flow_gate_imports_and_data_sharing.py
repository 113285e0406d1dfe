# Where an FCS file is shared (MIFlowCyt-EV's data sharing): repository, accession and address. Imported gates
# need no schema change (their file is named in each gate and count, stored as JSON).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0021_single_sign_on"),
    ]

    operations = [
        migrations.AddField(
            model_name="flowacquisition",
            name="data_accession",
            field=models.CharField(
                blank=True, help_text="e.g. FR-FCM-Z2ZY for FlowRepository", max_length=80, verbose_name="Accession"
            ),
        ),
        migrations.AddField(
            model_name="flowacquisition",
            name="data_repository",
            field=models.CharField(
                blank=True, help_text="e.g. FlowRepository", max_length=80, verbose_name="Data repository"
            ),
        ),
        migrations.AddField(
            model_name="flowacquisition",
            name="data_url",
            field=models.URLField(blank=True, max_length=300, verbose_name="Address of the shared data"),
        ),
    ]
