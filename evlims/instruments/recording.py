"""Where the results an instrument sends are checked and stored: the characterization domain, which builds on
this package (its measurements point at our instruments, raw files and ingestions), so this package never
imports it. ``EvlimsConfig.ready()`` registers characterization's services here; the ingestion services call
these two functions.
"""

from ..core.registry import Provider

results_recorder = Provider("the recorder of instrument results (characterization services)")


def validate_results(documents) -> list[dict]:
    """The result documents checked; errors are keyed by position (``results[2].marker.protein``)."""
    return results_recorder.get().validate_results(documents)


def measurements_record(**kwargs):
    """Store validated results as measurements, all or none (``characterization.services.measurements_record``)."""
    return results_recorder.get().measurements_record(**kwargs)
