"""Writing reference-material lots, spikes, tracer readouts and dilution series: every write checks the role,
runs in one transaction and leaves one audit event. Spikes and readouts are corrected or voided, never edited."""

from .changes import spike_correct, spike_void, tracer_readout_correct, tracer_readout_void
from .dilutions import dilution_series_record
from .materials import reference_lot_create, spike_record, tracer_readout_record

__all__ = [
    "dilution_series_record",
    "reference_lot_create",
    "spike_correct",
    "spike_record",
    "spike_void",
    "tracer_readout_correct",
    "tracer_readout_record",
    "tracer_readout_void",
]
