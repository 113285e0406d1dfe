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
from .core.models import (
    AuditChainHead,
    AuditEvent,
    BarcodeSequence,
    ExternalIdentity,
    Lab,
    Membership,
    Project,
    Role,
)
from .cytometry.models import FlowAcquisition, FlowCalibration, FlowResult
from .instruments.models import Ingestion, Instrument, InstrumentApiKey, PlateLayout, RawFile, WatchedFile
from .interlab.models import ComparisonRound, ComparisonScheme, RoundItem, RoundParticipant, RoundResult
from .isolation.models import EVPreparation, IsolationRun, Protocol, ProtocolVersion, RunStep
from .labels.models import LabelTemplate
from .metrics.models import ControlMaterial, MetricJob, PreparationMetrics
from .notifications.models import Notification, NotificationPreference
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
    "ExternalIdentity",
    "FlowAcquisition",
    "FlowCalibration",
    "FlowResult",
    "ImagingResult",
    "Ingestion",
    "Instrument",
    "InstrumentApiKey",
    "IsolationRun",
    "Lab",
    "LabelTemplate",
    "ManifestImport",
    "MarkerResult",
    "Measurement",
    "Membership",
    "MetricJob",
    "Notification",
    "NotificationPreference",
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
    "WatchedFile",
]
