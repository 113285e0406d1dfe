"""evlims keeps one app label; models live in their domain packages and are collected here."""

from .characterization.models import Measurement
from .core.models import AuditChainHead, AuditEvent, BarcodeSequence, Lab, Membership, Project, Role
from .isolation.models import EVPreparation, IsolationRun, Protocol, ProtocolVersion, RunStep
from .samples.models import Aliquot, CustodyEvent, Donor, ManifestImport, Sample, StorageUnit

__all__ = [
    "Aliquot",
    "AuditChainHead",
    "AuditEvent",
    "BarcodeSequence",
    "CustodyEvent",
    "Donor",
    "EVPreparation",
    "IsolationRun",
    "Lab",
    "ManifestImport",
    "Measurement",
    "Membership",
    "Project",
    "Protocol",
    "ProtocolVersion",
    "Role",
    "RunStep",
    "Sample",
    "StorageUnit",
]
