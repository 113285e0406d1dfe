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
from .compliance.models import ComplianceEvaluation, Review, Signature
from .core.models import AuditChainHead, AuditEvent, BarcodeSequence, Lab, Membership, Project, Role
from .cytometry.models import FlowAcquisition, FlowCalibration, FlowResult
from .instruments.models import Ingestion, Instrument, InstrumentApiKey, PlateLayout, RawFile
from .interlab.models import ComparisonRound, ComparisonScheme, RoundItem, RoundParticipant, RoundResult
from .isolation.models import EVPreparation, IsolationRun, Protocol, ProtocolVersion, RunStep
from .metrics.models import ControlMaterial, MetricJob, PreparationMetrics
from .samples.models import Aliquot, CustodyEvent, Donor, ManifestImport, Sample, StorageUnit
from .standards.models import DilutionSeries, ReferenceMaterialLot, Spike, TracerReadout

__all__ = [
    "Aliquot",
    "AnalyteQuantification",
    "AuditChainHead",
    "AuditEvent",
    "BarcodeSequence",
    "ComparisonRound",
    "ComparisonScheme",
    "ComplianceEvaluation",
    "ControlMaterial",
    "CustodyEvent",
    "DilutionSeries",
    "Donor",
    "EVPreparation",
    "FlowAcquisition",
    "FlowCalibration",
    "FlowResult",
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
    "MetricJob",
    "ParticleAnalysis",
    "ParticleCapture",
    "PlateLayout",
    "PreparationMetrics",
    "Project",
    "ProteinQuantification",
    "Protocol",
    "ProtocolVersion",
    "RawFile",
    "ReferenceMaterialLot",
    "Review",
    "Role",
    "RoundItem",
    "RoundParticipant",
    "RoundResult",
    "RunStep",
    "Sample",
    "Signature",
    "SizeBin",
    "Spike",
    "StorageUnit",
    "TracerReadout",
]
