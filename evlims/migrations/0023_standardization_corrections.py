# Corrections to standardization records: spikes and tracer readouts corrected (a new version superseding the
# old one) or voided, with the reason; the uncertainty of the spiked volume, of the preparation's final volume and
# of a dilution before the tracer reading.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0022_flow_gate_imports_and_data_sharing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="spike",
            name="amount_uncertainty",
            field=models.FloatField(
                blank=True,
                help_text="Standard uncertainty (k=1) of the amount, same unit: e.g. the pipetting.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="spike",
            name="amount_uncertainty_basis",
            field=models.CharField(blank=True, help_text="Where that figure comes from.", max_length=200),
        ),
        migrations.AddField(
            model_name="spike",
            name="status",
            field=models.CharField(
                choices=[("current", "Current"), ("superseded", "Superseded by a correction"), ("voided", "Voided")],
                db_index=True,
                default="current",
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="spike",
            name="status_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="spike",
            name="status_changed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="spike",
            name="status_reason",
            field=models.TextField(blank=True, help_text="Why the record was corrected or voided."),
        ),
        migrations.AddField(
            model_name="spike",
            name="supersedes",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="superseded_by",
                to="evlims.spike",
            ),
        ),
        migrations.AddField(
            model_name="tracerreadout",
            name="dilution_factor",
            field=models.FloatField(
                default=1.0, help_text="The preparation was diluted this many times before the reading (1: undiluted)."
            ),
        ),
        migrations.AddField(
            model_name="tracerreadout",
            name="dilution_uncertainty",
            field=models.FloatField(
                blank=True, help_text="Standard uncertainty (k=1) of the dilution factor.", null=True
            ),
        ),
        migrations.AddField(
            model_name="tracerreadout",
            name="status",
            field=models.CharField(
                choices=[("current", "Current"), ("superseded", "Superseded by a correction"), ("voided", "Voided")],
                db_index=True,
                default="current",
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="tracerreadout",
            name="status_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="tracerreadout",
            name="status_changed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="tracerreadout",
            name="status_reason",
            field=models.TextField(blank=True, help_text="Why the record was corrected or voided."),
        ),
        migrations.AddField(
            model_name="tracerreadout",
            name="supersedes",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="superseded_by",
                to="evlims.tracerreadout",
            ),
        ),
        migrations.AddField(
            model_name="tracerreadout",
            name="volume_uncertainty_basis",
            field=models.CharField(blank=True, help_text="Where that figure comes from.", max_length=200),
        ),
        migrations.AddField(
            model_name="tracerreadout",
            name="volume_uncertainty_ul",
            field=models.FloatField(
                blank=True,
                help_text="Standard uncertainty (k=1) of the preparation's final volume, in µL.",
                null=True,
                verbose_name="Final volume uncertainty (µL)",
            ),
        ),
        migrations.AddConstraint(
            model_name="tracerreadout",
            constraint=models.CheckConstraint(
                condition=models.Q(("dilution_factor__gte", 1)), name="evlims_tracer_dilution_at_least_1"
            ),
        ),
    ]
