"""Writing reference-material lots, spikes, tracer readouts and dilution series: every write checks the role,
runs in one transaction and leaves one audit event."""

from .dilutions import dilution_series_record
from .materials import reference_lot_create, spike_record, tracer_readout_record

__all__ = ["dilution_series_record", "reference_lot_create", "spike_record", "tracer_readout_record"]
