"""evlims keeps one app label; models live in their domain packages and are collected here."""

from .characterization.models import (
    AnalyteQuantification,
    ImagingResult,
    MarkerResult,
    Measurement,
    ParticleAnalysis,
    ParticleCapture,
    ProteinQuantification,
    SizeBin,
)
from .core.models import AuditChainHead, AuditEvent, BarcodeSequence, Lab, Membership, Project, Role
from .instruments.models import Ingestion, Instrument, InstrumentApiKey, RawFile
from .isolation.models import EVPreparation, IsolationRun, Protocol, ProtocolVersion, RunStep
from .samples.models import Aliquot, CustodyEvent, Donor, ManifestImport, Sample, StorageUnit

__all__ = [
    "Aliquot",
    "AnalyteQuantification",
    "AuditChainHead",
    "AuditEvent",
    "BarcodeSequence",
    "CustodyEvent",
    "Donor",
    "EVPreparation",
    "ImagingResult",
    "Ingestion",
    "Instrument",
    "InstrumentApiKey",
    "IsolationRun",
    "Lab",
    "ManifestImport",
    "MarkerResult",
    "Measurement",
    "Membership",
    "ParticleAnalysis",
    "ParticleCapture",
    "Project",
    "ProteinQuantification",
    "Protocol",
    "ProtocolVersion",
    "RawFile",
    "Role",
    "RunStep",
    "Sample",
    "SizeBin",
    "StorageUnit",
]
