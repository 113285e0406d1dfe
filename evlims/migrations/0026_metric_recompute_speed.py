# Indexes the metric recompute needs (performance round two; docs/performance.md, "Full metric recompute, second
# pass"): the current results of a list of preparations, and of a list of input samples.
#
# Every read of results goes through the manager of current results (status = 'current'). Without planner
# statistics (SQLite is never ANALYZEd by Django) SQLite then chose the index on status alone and walked every
# result of the database for each read, even for one preparation. With status and the preparation (or the input
# sample) in one index it seeks the rows of each id. Written as SQL, outside the model state, because the model
# of results belongs to the characterization domain; the indexes change nothing Django reads or writes.

from django.db import migrations

INDEXES = {
    "evlims_meas_status_prep_idx": "preparation_id",
    "evlims_meas_status_input_idx": "input_sample_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0025_result_ingest_speed"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX {name} ON evlims_measurement (status, {column})",
            reverse_sql=f"DROP INDEX {name}",
        )
        for name, column in INDEXES.items()
    ]
