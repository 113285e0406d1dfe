"""The aliquots a person chose to label, read within their labs (another lab's aliquot is not found)."""

from django.core.exceptions import ValidationError

from ..core.errors import NotFound
from ..samples.selectors import aliquots_for

MAX_LABELS = 960  # forty A4 sheets or a day's cryo printing; more is almost certainly a mistaken selection


def chosen_aliquots(user, ids) -> list:
    """The aliquots ``ids`` of the user's labs, by barcode, all of one lab (a label template is a lab's): NotFound
    when one is not in the user's labs, ValidationError when they are none, too many, or of several labs."""
    ids = set(ids)
    if not ids:
        raise ValidationError({"aliquots": ["Choose at least one aliquot."]})
    if len(ids) > MAX_LABELS:
        raise ValidationError({"aliquots": [f"At most {MAX_LABELS} labels at a time."]})
    aliquots = list(aliquots_for(user).filter(pk__in=ids).order_by("barcode"))
    if len(aliquots) != len(ids):
        raise NotFound
    if len({aliquot.lab_id for aliquot in aliquots}) > 1:
        raise ValidationError({"aliquots": ["Choose aliquots of one lab: each lab prints with its own template."]})
    return aliquots
