# Flow cytometry: FCS acquisitions, bead calibrations and gated results (evlims.cytometry).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0017_watched_folders"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="FlowAcquisition",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("sample", "EV sample"),
                            ("buffer", "Buffer only"),
                            ("buffer_reagents", "Buffer with reagents"),
                            ("unstained", "Unstained sample"),
                            ("isotype", "Isotype or FMO control"),
                            ("lysis", "Detergent lysis"),
                            ("dilution", "Serial dilution step"),
                            ("beads", "Calibration beads"),
                        ],
                        default="sample",
                        max_length=16,
                    ),
                ),
                ("file_name", models.CharField(max_length=255)),
                (
                    "status",
                    models.CharField(
                        choices=[("queued", "Events being read"), ("read", "Read"), ("failed", "Could not be read")],
                        default="queued",
                        max_length=8,
                    ),
                ),
                ("error", models.TextField(blank=True)),
                (
                    "header",
                    models.JSONField(
                        blank=True, default=dict, help_text="What the file says: instrument, parameters, …"
                    ),
                ),
                ("warnings", models.JSONField(blank=True, default=list)),
                ("instrument_name", models.CharField(blank=True, max_length=200, verbose_name="Instrument")),
                ("acquired_at", models.DateTimeField(blank=True, null=True, verbose_name="Acquired")),
                ("event_count", models.PositiveBigIntegerField(blank=True, null=True, verbose_name="Events")),
                (
                    "volume_ul",
                    models.FloatField(
                        blank=True,
                        help_text="Given, or read from $VOL.",
                        null=True,
                        verbose_name="Analysed volume (µL)",
                    ),
                ),
                ("dilution_factor", models.FloatField(blank=True, null=True, verbose_name="Dilution factor")),
                (
                    "density",
                    models.JSONField(
                        blank=True, default=dict, help_text="The density plot's grid, computed when read."
                    ),
                ),
                (
                    "controls",
                    models.ForeignKey(
                        blank=True,
                        help_text="The EV sample this control was measured for.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="control_acquisitions",
                        to="evlims.flowacquisition",
                    ),
                ),
                (
                    "lab",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="flow_acquisitions", to="evlims.lab"
                    ),
                ),
                (
                    "preparation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="flow_acquisitions",
                        to="evlims.evpreparation",
                    ),
                ),
                (
                    "raw_file",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="flow_acquisitions",
                        to="evlims.rawfile",
                    ),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="FlowCalibration",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("name", models.CharField(max_length=120)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("fluorescence", "Fluorescence to MESF/ERF"),
                            ("scatter", "Scatter to diameter (Mie)"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "channel",
                    models.CharField(
                        help_text="The parameter ($PnN) it calibrates.", max_length=60, verbose_name="Channel"
                    ),
                ),
                (
                    "units",
                    models.CharField(
                        choices=[
                            ("MESF", "MESF"),
                            ("ERF", "ERF"),
                            ("MEFL", "MEFL"),
                            ("MEPE", "MEPE"),
                            ("nm", "Diameter (nm)"),
                        ],
                        max_length=6,
                    ),
                ),
                (
                    "beads",
                    models.CharField(help_text="e.g. Spherotech RCP-30-5A", max_length=200, verbose_name="Beads"),
                ),
                ("lot", models.CharField(blank=True, max_length=80, verbose_name="Lot")),
                ("calibrated_on", models.DateField(verbose_name="Calibrated on")),
                (
                    "measured",
                    models.JSONField(default=list, help_text="Each bead population's median, in the channel's units."),
                ),
                (
                    "assigned",
                    models.JSONField(
                        default=list, help_text="Each population's assigned value (MESF/ERF) or size (nm)."
                    ),
                ),
                (
                    "optics",
                    models.JSONField(
                        blank=True, default=dict, help_text="Refractive indices and wavelength (scatter)."
                    ),
                ),
                ("fit", models.JSONField(default=dict)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
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
                        on_delete=django.db.models.deletion.PROTECT, related_name="flow_calibrations", to="evlims.lab"
                    ),
                ),
                (
                    "raw_file",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="evlims.rawfile",
                    ),
                ),
            ],
            options={
                "ordering": ["lab", "-calibrated_on", "id"],
            },
        ),
        migrations.CreateModel(
            name="FlowResult",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("gates", models.JSONField(default=list)),
                (
                    "counts",
                    models.JSONField(default=list, help_text="[{gate, parent, marker, events, percent_of_parent}]"),
                ),
                ("particle_gate", models.CharField(max_length=60, verbose_name="Particle gate")),
                (
                    "axes",
                    models.JSONField(
                        default=dict, help_text="{parameter: units}: calibrated units or arbitrary units."
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        default="Drawn in evlims",
                        help_text="or the imported analysis",
                        max_length=120,
                        verbose_name="Gates from",
                    ),
                ),
                ("volume_ul", models.FloatField(blank=True, null=True, verbose_name="Analysed volume (µL)")),
                ("dilution_factor", models.FloatField(blank=True, null=True, verbose_name="Dilution factor")),
                (
                    "concentration_per_ml",
                    models.FloatField(
                        blank=True, null=True, verbose_name="Concentration (particles/mL of original sample)"
                    ),
                ),
                (
                    "concentration_note",
                    models.CharField(blank=True, help_text="Why there is no concentration.", max_length=300),
                ),
                (
                    "sizes",
                    models.JSONField(blank=True, default=dict, help_text="Size distribution from calibrated scatter."),
                ),
                (
                    "acquisition",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="results", to="evlims.flowacquisition"
                    ),
                ),
                (
                    "calibrations",
                    models.ManyToManyField(blank=True, related_name="results", to="evlims.flowcalibration"),
                ),
                (
                    "lab",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="flow_results", to="evlims.lab"
                    ),
                ),
                (
                    "measurement",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="flow_result",
                        to="evlims.measurement",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AddIndex(
            model_name="flowacquisition",
            index=models.Index(fields=["lab", "created_at", "id"], name="evlims_flowacq_lab_created_idx"),
        ),
    ]
