"""Writes of inter-laboratory comparisons: the coordinating lab defines schemes, rounds, participants, items
and checks (``schemes``), ships and closes rounds (``rounds``); participants report results (``results``).
Every write checks the role, runs in one transaction and leaves an audit event."""

from .results import result_report
from .rounds import round_close, round_ship
from .schemes import (
    item_add,
    participant_enrol,
    round_checks_record,
    round_create,
    scheme_create,
)

__all__ = [
    "item_add",
    "participant_enrol",
    "result_report",
    "round_checks_record",
    "round_close",
    "round_create",
    "round_ship",
    "scheme_create",
]
