"""A marker name the vocabulary does not know is refused on the form with the closest symbols and aliases ("CD-63
is not in the marker vocabulary. Did you mean CD63?"), unless the person ticks "Record it as typed"."""

from ...compliance.markers import marker_vocabulary

TYPED_HELP = (
    "Only for a protein the marker vocabulary does not know: it is then recorded as typed, in no MISEV category."
)


def unknown_marker_error(form, cleaned: dict) -> None:
    """Put the refusal on the protein field when it names no symbol or alias of the vocabulary."""
    name = cleaned.get("protein")
    vocabulary = marker_vocabulary()
    if not name or cleaned.get("protein_confirmed") or vocabulary.is_known(name):
        return
    form.add_error("protein", f"{vocabulary.unknown_message(name)} To keep it as typed, tick “Record it as typed”.")
