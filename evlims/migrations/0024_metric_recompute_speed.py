# Indexes the metric recompute needs (performance round two; docs/performance.md, "Full metric recompute, second
# pass"): the current results of a list of preparations, and of a list of input samples.
#
# Every read of results goes through the manager of current results (status = 'current'). Without planner
# statistics (SQLite is never ANALYZEd by Django) SQLite then chose the index on status alone and walked every
# result of the database for each read, even for one preparation. With status and the preparation (or the input
# sample) in one index it seeks the rows of each id.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0023_standardization_corrections"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="measurement",
            index=models.Index(fields=["status", "preparation"], name="evlims_meas_status_prep_idx"),
        ),
        migrations.AddIndex(
            model_name="measurement",
            index=models.Index(fields=["status", "input_sample"], name="evlims_meas_status_input_idx"),
        ),
    ]
