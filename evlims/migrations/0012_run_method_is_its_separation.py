from django.db import migrations


def name_runs_by_their_separation(apps, schema_editor):
    """Runs were named by their protocol's first step (often a pre-clearing spin): rename each by its
    separation method (protocols.separation_method), which lists, filters and comparisons read."""
    from protocols import separation_method

    IsolationRun = apps.get_model("evlims", "IsolationRun")
    runs = IsolationRun.objects.filter(protocol_version__isnull=False).select_related("protocol_version")
    for run in runs.iterator(chunk_size=500):
        method = separation_method(run.protocol_version.definition.get("steps") or [])
        if method and method != run.method:
            IsolationRun.objects.filter(pk=run.pk).update(method=method)


class Migration(migrations.Migration):
    dependencies = [("evlims", "0011_biofluid_tissue")]

    operations = [migrations.RunPython(name_runs_by_their_separation, migrations.RunPython.noop)]
