"""Where the results an instrument sends are checked and stored: the characterization domain, which builds on
this package (its measurements point at our instruments, raw files and ingestions), so this package never
imports it. ``EvlimsConfig.ready()`` registers characterization's services here; the ingestion services call
these two functions.
"""

import re

from ..core.registry import Provider

results_recorder = Provider("the recorder of instrument results (characterization services)")
# How a refusal names what it is about: "results[2].marker.protein" is field marker.protein of the third
# document, "results[2]" the third document as a whole.
RESULT_ERROR_KEY = re.compile(r"^results\[(?P<index>\d+)\]\.?(?P<path>.*)$")


def validate_results(documents) -> list[dict]:
    """The result documents checked; errors are keyed by position (``results[2].marker.protein``)."""
    return results_recorder.get().validate_results(documents)


def result_error_place(key: str) -> tuple[int, str] | None:
    """(position of the result document, path inside it) that an error key names; None for another key."""
    match = RESULT_ERROR_KEY.match(key)
    return (int(match["index"]), match["path"]) if match else None


def placed_message(path: str, message: str) -> str:
    """A refusal shown against the result it concerns (a form, a sample of a file): the path inside the
    document leads, unless the message is about the whole result or the preparation it names."""
    return message if path in ("", "preparation") else f"{path}: {message}"


def measurements_record(**kwargs):
    """Store validated results as measurements, all or none (``characterization.services.measurements_record``;
    ``savepoint=False`` inside a transaction the caller rolls back whole on a refusal)."""
    return results_recorder.get().measurements_record(**kwargs)
