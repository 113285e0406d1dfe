# Watched instrument folders: where an instrument PC drops its exports, and every file version seen there.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0016_labels_and_notifications"),
    ]

    operations = [
        migrations.AddField(
            model_name="instrument",
            name="watch_folder",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="instrument",
            name="watch_format",
            field=models.CharField(blank=True, default="auto", max_length=20),
        ),
        migrations.AddField(
            model_name="instrument",
            name="watch_plate_layout",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="evlims.platelayout",
            ),
        ),
        migrations.AddField(
            model_name="instrument",
            name="watch_read",
            field=models.CharField(
                blank=True, help_text="The absorbance plate to read (Gen5, EnVision).", max_length=120
            ),
        ),
        migrations.CreateModel(
            name="WatchedFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("name", models.CharField(help_text="The file's name in the watched folder.", max_length=255)),
                ("size_bytes", models.PositiveBigIntegerField()),
                (
                    "modified_ns",
                    models.BigIntegerField(help_text="Modification time as the folder reports it (ns since 1970)."),
                ),
                ("sha256", models.CharField(blank=True, max_length=64)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("waiting", "Waiting until completely written"),
                            ("ingested", "Ingested"),
                            ("duplicate", "Duplicate, not ingested again"),
                            ("failed", "Failed"),
                        ],
                        db_index=True,
                        default="waiting",
                        max_length=10,
                    ),
                ),
                ("reason", models.TextField(blank=True)),
                (
                    "ingestion",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="evlims.ingestion",
                    ),
                ),
                (
                    "instrument",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="watched_files",
                        to="evlims.instrument",
                    ),
                ),
                (
                    "lab",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="evlims.lab"),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["lab", "sha256"], name="evlims_watched_file_hash_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("instrument", "name", "size_bytes", "modified_ns"),
                        name="evlims_watched_file_version_unique",
                    )
                ],
            },
        ),
    ]
