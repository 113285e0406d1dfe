"""Inter-laboratory comparisons: schemes, rounds, participants, items and the results reported on them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0019_reference_materials"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ComparisonScheme",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("code", models.CharField(max_length=40)),
                ("name", models.CharField(max_length=200)),
                (
                    "quantity",
                    models.CharField(
                        choices=[
                            ("particles_per_ml", "Particle concentration (particles/mL)"),
                            ("protein_ug_per_ml", "Protein concentration (µg/mL)"),
                            ("size_mode_nm", "Size mode (nm)"),
                            ("d50_nm", "Size median (nm)"),
                        ],
                        max_length=40,
                    ),
                ),
                ("description", models.TextField(blank=True)),
                (
                    "lab",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="comparison_schemes", to="evlims.lab"
                    ),
                ),
            ],
            options={
                "ordering": ["lab", "code"],
            },
        ),
        migrations.CreateModel(
            name="ComparisonRound",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("code", models.CharField(max_length=40)),
                (
                    "material",
                    models.CharField(
                        help_text="The pooled or reference material the items were drawn from.", max_length=200
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Being prepared"),
                            ("shipped", "Items sent, results awaited"),
                            ("closed", "Closed and scored"),
                        ],
                        default="open",
                        max_length=8,
                    ),
                ),
                (
                    "assigned_from",
                    models.CharField(
                        choices=[
                            ("consensus", "Robust consensus of the participants (Algorithm A)"),
                            ("reference", "Reference value"),
                        ],
                        default="consensus",
                        max_length=10,
                    ),
                ),
                ("reference_value", models.FloatField(blank=True, null=True)),
                (
                    "reference_uncertainty",
                    models.FloatField(blank=True, null=True, verbose_name="Reference value standard uncertainty"),
                ),
                ("sigma_pt", models.FloatField(verbose_name="Standard deviation for proficiency assessment (σ_pt)")),
                (
                    "sigma_pt_basis",
                    models.CharField(
                        blank=True,
                        help_text="Where σ_pt comes from (ISO 13528 §8).",
                        max_length=300,
                        verbose_name="Basis of σ_pt",
                    ),
                ),
                (
                    "coverage_factor",
                    models.FloatField(default=2.0, verbose_name="Coverage factor k of the assigned value"),
                ),
                (
                    "homogeneity_pairs",
                    models.JSONField(blank=True, default=list, help_text="[[first, second], …] per item."),
                ),
                ("stability_before", models.JSONField(blank=True, default=list)),
                ("stability_after", models.JSONField(blank=True, default=list)),
                ("results_due", models.DateField(blank=True, null=True)),
                ("shipped_at", models.DateTimeField(blank=True, null=True)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                ("assigned_value", models.FloatField(blank=True, null=True)),
                ("assigned_uncertainty", models.FloatField(blank=True, null=True)),
                ("robust_mean", models.FloatField(blank=True, null=True)),
                ("robust_sd", models.FloatField(blank=True, null=True)),
                (
                    "lab",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="evlims.lab"),
                ),
                (
                    "scheme",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="rounds", to="evlims.comparisonscheme"
                    ),
                ),
                (
                    "reference_lot",
                    models.ForeignKey(
                        blank=True,
                        help_text="The coordinating lab's reference-material lot whose assigned value is the reference value.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="evlims.referencemateriallot",
                    ),
                ),
            ],
            options={
                "ordering": ["scheme", "code"],
            },
        ),
        migrations.CreateModel(
            name="RoundParticipant",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("code", models.CharField(max_length=20)),
                (
                    "lab",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="evlims.lab"),
                ),
                (
                    "round",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="participants",
                        to="evlims.comparisonround",
                    ),
                ),
            ],
            options={
                "ordering": ["round", "code"],
            },
        ),
        migrations.CreateModel(
            name="RoundItem",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("code", models.CharField(max_length=40)),
                (
                    "shipping",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("custody", "Handed over on site (custody recorded)"),
                            ("kit", "Sent as a kit with a manifest"),
                        ],
                        max_length=8,
                    ),
                ),
                ("shipped_at", models.DateTimeField(blank=True, null=True)),
                (
                    "aliquot",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="evlims.aliquot",
                    ),
                ),
                (
                    "lab",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="evlims.lab"),
                ),
                (
                    "round",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="items", to="evlims.comparisonround"
                    ),
                ),
                (
                    "participant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="items", to="evlims.roundparticipant"
                    ),
                ),
            ],
            options={
                "ordering": ["round", "code"],
            },
        ),
        migrations.CreateModel(
            name="RoundResult",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("value", models.FloatField()),
                (
                    "standard_uncertainty",
                    models.FloatField(blank=True, null=True, verbose_name="Standard uncertainty u(x)"),
                ),
                ("coverage_factor", models.FloatField(default=2.0, verbose_name="Coverage factor k")),
                ("method", models.CharField(blank=True, max_length=200)),
                (
                    "item",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="result", to="evlims.rounditem"
                    ),
                ),
                (
                    "lab",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="evlims.lab"),
                ),
                (
                    "measurement",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="evlims.measurement",
                    ),
                ),
                (
                    "reported_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["item"],
            },
        ),
        migrations.AddConstraint(
            model_name="comparisonscheme",
            constraint=models.UniqueConstraint(fields=("lab", "code"), name="evlims_scheme_code_unique_per_lab"),
        ),
        migrations.AddConstraint(
            model_name="comparisonround",
            constraint=models.UniqueConstraint(fields=("scheme", "code"), name="evlims_round_code_unique"),
        ),
        migrations.AddConstraint(
            model_name="roundparticipant",
            constraint=models.UniqueConstraint(fields=("round", "lab"), name="evlims_participant_once_per_round"),
        ),
        migrations.AddConstraint(
            model_name="roundparticipant",
            constraint=models.UniqueConstraint(fields=("round", "code"), name="evlims_participant_code_unique"),
        ),
        migrations.AddConstraint(
            model_name="rounditem",
            constraint=models.UniqueConstraint(fields=("round", "code"), name="evlims_round_item_code_unique"),
        ),
    ]
