"""Versioned EV isolation protocols: schemas, units, centrifugation arithmetic, loader.

Django-free on purpose: it is imported by the evlims app, by CI schema checks and by scripts.
"""

from protocols.centrifugation import (
    Rotor,
    equivalent_time,
    get_rotor,
    k_factor,
    k_factor_at_speed,
    load_rotors,
    rcf_from_rpm,
    rpm_from_rcf,
)
from protocols.deviations import Deviation, compute_deviations
from protocols.errors import ProtocolValidationError
from protocols.hashing import canonical_json, content_hash
from protocols.loader import ProtocolDefinition, load_library, load_protocol_file, validate_protocol
from protocols.misev import MisevClass, misev_class, separation_method
from protocols.schemas import UnknownMethodError, list_methods, method_schema
from protocols.steps import ProtocolStep
from protocols.units import ParameterValue, UnitParseError, parse_quantity

__all__ = [
    "Deviation",
    "MisevClass",
    "ParameterValue",
    "ProtocolDefinition",
    "ProtocolStep",
    "ProtocolValidationError",
    "Rotor",
    "UnitParseError",
    "UnknownMethodError",
    "canonical_json",
    "compute_deviations",
    "content_hash",
    "equivalent_time",
    "get_rotor",
    "k_factor",
    "k_factor_at_speed",
    "list_methods",
    "load_library",
    "load_protocol_file",
    "load_rotors",
    "method_schema",
    "misev_class",
    "separation_method",
    "parse_quantity",
    "rcf_from_rpm",
    "rpm_from_rcf",
    "validate_protocol",
]
