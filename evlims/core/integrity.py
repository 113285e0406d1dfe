"""Records against their history: a row edited in the database without the application shows up here.

Every save of a historied record (django-simple-history's ``history`` on samples, aliquots, donors, runs,
preparations) writes a history row with the values saved, so the newest history row of a record holds what
the record's row holds. A row changed behind the application (SQL, a queryset ``update()``) no longer does;
nor does a row whose newest history entry was edited, and a row deleted that way leaves a newest history
entry that says the record exists. Records without any history row (those written in
bulk, e.g. a run's planned preparations or the generated demo data) have nothing to be compared with.

Rows are read in chunks of ``CHUNK`` in primary-key order, two queries per chunk, only the fields the history
tracks, so memory stays flat however many records there are.
"""

from django.apps import apps
from django.db.models import Max

CHUNK = 2000


def historied_models():
    """The evlims models that keep a django-simple-history history, in a stable order."""
    found = [
        model
        for model in apps.get_app_config("evlims").get_models()
        if getattr(model._meta, "simple_history_manager_attribute", None)
    ]
    return sorted(found, key=lambda model: model._meta.label)


def _tracked(model) -> list[str]:
    history = getattr(model, model._meta.simple_history_manager_attribute).model
    return [field.attname for field in history.tracked_fields]


def _name(model, pk) -> str:
    """The record as people know it ("Sample EVS-0000123"), read only for a record with a problem."""
    record = model._default_manager.filter(pk=pk).first()
    return f"{model._meta.verbose_name.capitalize()} {record if record is not None else pk}"


def history_problems(models=None, *, chunk: int = CHUNK) -> list[str]:
    """Records whose row disagrees with their newest history row, naming the fields that differ."""
    problems = []
    for model in models or historied_models():
        problems += _model_problems(model, chunk)
    return problems


def _model_problems(model, chunk: int) -> list[str]:
    return _changed_rows(model, chunk) + _removed_rows(model, chunk)


def _changed_rows(model, chunk: int) -> list[str]:
    history = getattr(model, model._meta.simple_history_manager_attribute).model
    fields = _tracked(model)
    pk_name = model._meta.pk.attname
    problems = []
    last = None
    while True:
        rows = model._default_manager.order_by(pk_name)
        if last is not None:
            rows = rows.filter(pk__gt=last)
        current = list(rows.values(*fields)[:chunk])
        if not current:
            return problems
        last = current[-1][pk_name]
        ids = [row[pk_name] for row in current]
        newest = history.objects.filter(**{f"{pk_name}__in": ids}).values(pk_name).annotate(newest=Max("history_id"))
        entries = {
            entry[pk_name]: entry
            for entry in history.objects.filter(history_id__in=[n["newest"] for n in newest]).values(
                *fields, "history_type"
            )
        }
        for row in current:
            entry = entries.get(row[pk_name])
            if entry is None:
                continue  # written in bulk, never saved since: no history to compare with
            if entry["history_type"] == "-":
                problems.append(
                    f"{_name(model, row[pk_name])}: the stored row exists although its latest history entry "
                    "records it deleted."
                )
                continue
            differing = [name for name in fields if row[name] != entry[name]]
            if differing:
                problems.append(
                    f"{_name(model, row[pk_name])}: the stored row differs from its latest history entry "
                    f"(field{'s' if len(differing) > 1 else ''} {', '.join(differing)})."
                )
        if len(current) < chunk:
            return problems


def _removed_rows(model, chunk: int) -> list[str]:
    """Records whose newest history entry says they exist but whose row is gone."""
    history = getattr(model, model._meta.simple_history_manager_attribute).model
    pk_name = model._meta.pk.attname
    problems = []
    last = None
    while True:
        newest = history.objects.order_by(pk_name)
        if last is not None:
            newest = newest.filter(**{f"{pk_name}__gt": last})
        newest = list(newest.values(pk_name).annotate(newest=Max("history_id"))[:chunk])
        if not newest:
            return problems
        last = newest[-1][pk_name]
        living = set(
            history.objects.filter(history_id__in=[n["newest"] for n in newest])
            .exclude(history_type="-")
            .values_list(pk_name, flat=True)
        )
        present = set(model._default_manager.filter(pk__in=living).values_list("pk", flat=True))
        for pk in sorted(living - present):
            entry = history.objects.filter(**{pk_name: pk}).order_by("-history_id").first()
            problems.append(
                f"{model._meta.verbose_name.capitalize()} {entry.instance}: the row is gone although its latest "
                "history entry records it as existing (it was deleted without the application)."
            )
        if len(newest) < chunk:
            return problems
