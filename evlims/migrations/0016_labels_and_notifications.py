"""Label templates for thermal cryo-label printers, and notifications with each person's preferences."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0015_display_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="LabelTemplate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("version", models.PositiveIntegerField(default=1, editable=False)),
                (
                    "size",
                    models.CharField(
                        choices=[
                            ("cryo-1.28x0.5", "Cryo tube label 1.28 × 0.5 in (32.5 × 12.7 mm)"),
                            ("cryo-1.05x0.5", "Small cryo tube label 1.05 × 0.5 in (26.7 × 12.7 mm)"),
                            ("cap-1x1", "Cap or box-top label 1 × 1 in (25.4 × 25.4 mm)"),
                            ("rack-2x1", "Rack or box label 2 × 1 in (50.8 × 25.4 mm)"),
                        ],
                        default="cryo-1.28x0.5",
                        max_length=20,
                        verbose_name="Label size",
                    ),
                ),
                (
                    "dpi",
                    models.PositiveSmallIntegerField(
                        choices=[(203, "203 dpi (8 dots/mm)"), (300, "300 dpi (12 dots/mm)")],
                        default=203,
                        verbose_name="Printer resolution",
                    ),
                ),
                (
                    "symbology",
                    models.CharField(
                        choices=[("datamatrix", "Data Matrix"), ("qr", "QR code")],
                        default="datamatrix",
                        max_length=12,
                        verbose_name="Symbol",
                    ),
                ),
                ("fields", models.JSONField(default=list, verbose_name="Printed lines")),
                ("printer_host", models.CharField(blank=True, max_length=253, verbose_name="Printer address")),
                (
                    "printer_port",
                    models.PositiveIntegerField(
                        default=9100,
                        validators=[
                            django.core.validators.MinValueValidator(9100),
                            django.core.validators.MaxValueValidator(9109),
                        ],
                        verbose_name="Printer port",
                    ),
                ),
                (
                    "lab",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="label_template", to="evlims.lab"
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="Notification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("review_submitted", "Review submitted"),
                            ("review_verified", "Review verified"),
                            ("review_rejected", "Review rejected"),
                            ("review_approved", "Review approved"),
                            ("approval_voided", "Approval voided"),
                            ("control_rule_broken", "Control rule broken"),
                        ],
                        max_length=30,
                    ),
                ),
                ("title", models.CharField(max_length=200)),
                ("body", models.TextField(blank=True)),
                ("link", models.CharField(blank=True, max_length=300)),
                ("key", models.CharField(blank=True, max_length=120)),
                ("in_app", models.BooleanField(default=True)),
                ("email", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("read_at", models.DateTimeField(blank=True, null=True)),
                ("emailed_at", models.DateTimeField(blank=True, null=True)),
                ("email_error", models.CharField(blank=True, max_length=300)),
                (
                    "lab",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="evlims.lab"),
                ),
                (
                    "recipient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "indexes": [models.Index(fields=["recipient", "read_at"], name="evlims_notice_unread")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("key", ""), _negated=True),
                        fields=("recipient", "key"),
                        name="evlims_notice_once_per_event",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="NotificationPreference",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("review_submitted", "Review submitted"),
                            ("review_verified", "Review verified"),
                            ("review_rejected", "Review rejected"),
                            ("review_approved", "Review approved"),
                            ("approval_voided", "Approval voided"),
                            ("control_rule_broken", "Control rule broken"),
                        ],
                        max_length=30,
                    ),
                ),
                ("in_app", models.BooleanField(default=True, verbose_name="In the app")),
                ("email", models.BooleanField(default=True, verbose_name="By e-mail")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("user", "kind"), name="evlims_notice_preference_once")],
            },
        ),
    ]
