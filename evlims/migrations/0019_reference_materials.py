# Reference-material lots, spikes, tracer readouts and dilution series (docs/standardization.md).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0018_flow_cytometry"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DilutionSeries",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "technique",
                    models.CharField(
                        choices=[
                            ("nta", "Nanoparticle tracking analysis"),
                            ("nanoflow", "Nano-flow cytometry"),
                            ("trps", "Tunable resistive pulse sensing"),
                        ],
                        max_length=12,
                    ),
                ),
                ("measured_at", models.DateTimeField()),
                ("points", models.JSONField(help_text='[{"dilution_factor": 100, "readings": [particles/mL, …]}, …]')),
                ("notes", models.TextField(blank=True)),
                (
                    "instrument",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="evlims.instrument",
                    ),
                ),
                (
                    "lab",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="dilution_series", to="evlims.lab"
                    ),
                ),
                (
                    "preparation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="dilution_series",
                        to="evlims.evpreparation",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "dilution series",
                "ordering": ["-measured_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="ReferenceMaterialLot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "material",
                    models.CharField(help_text="e.g. rEV (recombinant GFP EVs), Geeurickx et al. 2019", max_length=120),
                ),
                ("lot_number", models.CharField(max_length=60)),
                ("supplier", models.CharField(blank=True, max_length=120)),
                (
                    "readout",
                    models.CharField(
                        choices=[
                            ("fluorescent_nta", "Fluorescent NTA count"),
                            ("gfp_elisa", "GFP ELISA"),
                            ("rt_qpcr", "RT-qPCR copies"),
                            ("nanoflow", "Nano-flow gated count"),
                        ],
                        max_length=20,
                    ),
                ),
                ("assigned_value", models.FloatField(help_text="The lot's assigned concentration, in the unit below.")),
                (
                    "assigned_uncertainty",
                    models.FloatField(
                        help_text="Standard uncertainty (k=1) of the assigned value, same unit.",
                        verbose_name="Standard uncertainty",
                    ),
                ),
                (
                    "unit",
                    models.CharField(
                        choices=[
                            ("particles/mL", "particles/mL"),
                            ("particles/µL", "particles/µL"),
                            ("copies/mL", "copies/mL"),
                            ("copies/µL", "copies/µL"),
                            ("events/mL", "events/mL"),
                            ("events/µL", "events/µL"),
                            ("pg/mL", "pg/mL"),
                            ("ng/mL", "ng/mL"),
                        ],
                        max_length=20,
                    ),
                ),
                ("expires_on", models.DateField(blank=True, null=True)),
                (
                    "storage",
                    models.CharField(blank=True, help_text="e.g. −80 °C, single-use 10 µL vials", max_length=200),
                ),
                (
                    "certificate",
                    models.CharField(
                        blank=True, help_text="Certificate or value assignment reference.", max_length=200
                    ),
                ),
                (
                    "lab",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="reference_lots", to="evlims.lab"
                    ),
                ),
            ],
            options={
                "ordering": ["lab", "material", "lot_number"],
            },
        ),
        migrations.CreateModel(
            name="Spike",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("amount", models.FloatField(help_text="A volume of the lot, or an amount in the lot's own unit.")),
                (
                    "amount_unit",
                    models.CharField(
                        choices=[
                            ("µL", "µL"),
                            ("mL", "mL"),
                            ("particles", "particles"),
                            ("copies", "copies"),
                            ("events", "events"),
                            ("pg", "pg"),
                            ("ng", "ng"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "matrix",
                    models.CharField(help_text="What the lot was spiked into, e.g. blood plasma.", max_length=80),
                ),
                ("spiked_at", models.DateTimeField()),
                ("notes", models.TextField(blank=True)),
                (
                    "aliquot",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="spikes",
                        to="evlims.aliquot",
                    ),
                ),
                (
                    "lab",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="spikes", to="evlims.lab"
                    ),
                ),
                (
                    "lot",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="spikes",
                        to="evlims.referencemateriallot",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="spikes",
                        to="evlims.isolationrun",
                    ),
                ),
                (
                    "spiked_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-spiked_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="TracerReadout",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("value", models.FloatField(help_text="Measured in the preparation, in the unit below.")),
                (
                    "standard_uncertainty",
                    models.FloatField(
                        blank=True,
                        help_text="Standard uncertainty (k=1) of the value, same unit; e.g. SD/√n of replicates.",
                        null=True,
                    ),
                ),
                ("replicates", models.PositiveSmallIntegerField(default=1)),
                (
                    "unit",
                    models.CharField(
                        choices=[
                            ("particles/mL", "particles/mL"),
                            ("particles/µL", "particles/µL"),
                            ("copies/mL", "copies/mL"),
                            ("copies/µL", "copies/µL"),
                            ("events/mL", "events/mL"),
                            ("events/µL", "events/µL"),
                            ("pg/mL", "pg/mL"),
                            ("ng/mL", "ng/mL"),
                            ("particles", "particles"),
                            ("copies", "copies"),
                            ("events", "events"),
                            ("pg", "pg"),
                            ("ng", "ng"),
                        ],
                        max_length=20,
                    ),
                ),
                ("measured_at", models.DateTimeField()),
                ("notes", models.TextField(blank=True)),
                (
                    "lab",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="tracer_readouts", to="evlims.lab"
                    ),
                ),
                (
                    "preparation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tracer_readouts",
                        to="evlims.evpreparation",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "spike",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="readouts", to="evlims.spike"
                    ),
                ),
            ],
            options={
                "ordering": ["-measured_at", "-id"],
            },
        ),
        migrations.AddConstraint(
            model_name="referencemateriallot",
            constraint=models.UniqueConstraint(fields=("lab", "material", "lot_number"), name="evlims_reflot_unique"),
        ),
        migrations.AddConstraint(
            model_name="referencemateriallot",
            constraint=models.CheckConstraint(
                condition=models.Q(("assigned_value__gt", 0)), name="evlims_reflot_value_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="referencemateriallot",
            constraint=models.CheckConstraint(
                condition=models.Q(("assigned_uncertainty__gte", 0)), name="evlims_reflot_u_nonnegative"
            ),
        ),
        migrations.AddConstraint(
            model_name="spike",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("aliquot__isnull", False), ("run__isnull", True)),
                    models.Q(("aliquot__isnull", True), ("run__isnull", False)),
                    _connector="OR",
                ),
                name="evlims_spike_one_target",
            ),
        ),
        migrations.AddConstraint(
            model_name="spike",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="evlims_spike_amount_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="tracerreadout",
            constraint=models.CheckConstraint(
                condition=models.Q(("value__gte", 0)), name="evlims_tracer_value_nonnegative"
            ),
        ),
    ]
