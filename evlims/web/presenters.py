"""Shaping records for display: the grouped pre-analytical record and the audit trail's changes."""

from .display import label, words
from .forms.samples import groups_for_biofluid

EMPTY = (None, "")

# Actions whose "changes" hold [before, after] pairs for every key; other actions record a snapshot
# of values, except for these keys, which are always pairs.
PAIR_KEYS = frozenset({"volume_ul", "location", "status", "freeze_thaw_count"})


def _display(sample, field):
    value = getattr(sample, field.name)
    if value in EMPTY:
        return None
    if field.choices:
        return getattr(sample, f"get_{field.name}_display")()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value


def preanalytical_sections(sample) -> list[dict]:
    """[{title, rows: [(label, value, help)]}] for the groups that apply to the sample's biofluid."""
    sections = []
    for group in groups_for_biofluid(sample.biofluid):
        rows = []
        for name in group["fields"]:
            field = sample._meta.get_field(name)
            rows.append(
                (field.verbose_name[:1].upper() + field.verbose_name[1:], _display(sample, field), field.help_text)
            )
        sections.append({"title": group["title"], "rows": rows, "recorded": sum(v is not None for _, v, _ in rows)})
    return sections


def _cell(value, field):
    return None if value is None else words(value, field)


def audit_change_rows(event) -> list[dict]:
    """[{field, before, after, paired}] of an AuditEvent, whatever the shape of its changes, in words: the
    field's label and each value as text (lists joined, mappings as "field: value", Yes/No), never a repr."""
    every_key_paired = event.action.endswith(".edit")
    rows = []
    for key, value in sorted((event.changes or {}).items()):
        is_pair = isinstance(value, list) and len(value) == 2 and (every_key_paired or key in PAIR_KEYS)
        if is_pair:
            before, after = _cell(value[0], key), _cell(value[1], key)
            rows.append({"field": label(key, "field"), "before": before, "after": after, "paired": True})
        else:
            rows.append({"field": label(key, "field"), "before": None, "after": _cell(value, key), "paired": False})
    return rows


def history_rows(records) -> list[dict]:
    """django-simple-history records, newest first, each with the fields it changed from the one before."""
    records = list(records)
    rows = []
    for index, record in enumerate(records):
        older = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if older is not None:
            delta = record.diff_against(older)
            changes = [
                {"field": label(c.field, "field"), "before": _cell(c.old, c.field), "after": _cell(c.new, c.field)}
                for c in delta.changes
            ]
        rows.append({"record": record, "changes": changes})
    return rows
