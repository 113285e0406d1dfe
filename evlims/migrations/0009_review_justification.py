from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0008_evidence_write_paths"),
    ]

    operations = [
        migrations.AddField(
            model_name="review",
            name="justification",
            field=models.TextField(blank=True),
        ),
    ]
