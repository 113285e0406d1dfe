"""A small comparison: a coordinating lab and three participant labs, one item each (tests of the services,
the pages, the API and the reports share it)."""

from dataclasses import dataclass, field

from evlims.core.models import Role
from evlims.interlab import services
from tests.factories import LabFactory, member


@dataclass
class Ring:
    coordinator: object
    coordinator_staff: object
    labs: list
    staff: list
    scheme: object = None
    round: object = None
    participants: list = field(default_factory=list)
    items: list = field(default_factory=list)


def build_ring(n_participants=3, *, marker="RING", assigned_from="consensus", **round_fields) -> Ring:
    coordinator = LabFactory(name=f"{marker} Coordinating Lab", slug=f"{marker.lower()}-coord")
    coordinator_staff = member(coordinator, Role.LAB_STAFF, username=f"{marker.lower()}-coord-staff")
    labs = [LabFactory(name=f"{marker} Partner {i}", slug=f"{marker.lower()}-p{i}") for i in range(n_participants)]
    staff = [member(lab, Role.LAB_STAFF, username=f"{marker.lower()}-p{i}-staff") for i, lab in enumerate(labs)]
    ring = Ring(coordinator, coordinator_staff, labs, staff)
    ring.scheme = services.scheme_create(
        actor=coordinator_staff,
        lab=coordinator,
        code=f"{marker}-EQA",
        name="Plasma EV count",
        quantity="particles_per_ml",
    )
    fields = {"sigma_pt": 1.0e9, "sigma_pt_basis": "20 % of the expected count"} | round_fields
    if assigned_from == "reference":
        fields.setdefault("reference_value", 5.0e9)
        fields.setdefault("reference_uncertainty", 1.0e8)
    ring.round = services.round_create(
        actor=coordinator_staff,
        scheme=ring.scheme,
        code="2026-1",
        material="Pooled plasma lot P-7",
        assigned_from=assigned_from,
        **fields,
    )
    for lab in labs:
        participant = services.participant_enrol(actor=coordinator_staff, round=ring.round, lab=lab)
        ring.participants.append(participant)
        ring.items.append(services.item_add(actor=coordinator_staff, participant=participant))
    return ring


def ship_and_report(ring: Ring, values, uncertainties=None):
    services.round_ship(actor=ring.coordinator_staff, round=ring.round, reason="sent by courier")
    uncertainties = uncertainties or [None] * len(values)
    for staff, item, value, u in zip(ring.staff, ring.items, values, uncertainties, strict=False):
        services.result_report(actor=staff, item=item, value=value, standard_uncertainty=u, method="NTA")
    ring.round.refresh_from_db()
