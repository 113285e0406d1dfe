"""What happens to tubes after they are stored: thaws, moves to another box, splits, shipments, disposal."""

import random

from evlims.samples import services
from evlims.samples.models import Aliquot, CustodyEvent, StorageUnit

from .people import LabPeople
from .specimens import BOX_COLUMNS, BOX_ROWS, StoragePlanner

SHIPMENT_DESTINATIONS = [
    "Biobank Utrecht (collaboration transfer)",
    "Proteomics core, Karolinska (MTA 2025-014)",
    "Partner lab, Ghent (round-robin NTA comparison)",
]


def _free_position(box: StorageUnit) -> tuple[int, int]:
    taken = set(Aliquot.objects.filter(box=box).values_list("position_row", "position_column"))
    for row in range(1, BOX_ROWS + 1):
        for column in range(1, BOX_COLUMNS + 1):
            if (row, column) not in taken:
                return row, column
    raise LookupError(f"{box} is full")


def handle_tubes(rng: random.Random, people: LabPeople, planner: StoragePlanner, aliquots: list[Aliquot]) -> None:
    """Give a share of the lab's tubes a history beyond 'received'.

    Shares are typical of a working biobank: most tubes stay untouched, some were thawed for pilot
    measurements (a few twice, which the freeze–thaw flag reports), some re-sorted into another box,
    a few split, shipped or discarded.
    """
    for aliquot in aliquots:
        roll = rng.random()
        actor = rng.choice(people.writers)
        if roll < 0.10:
            aliquot = services.aliquot_thaw(actor=actor, aliquot=aliquot, reason="Thawed for a pilot NTA reading")
            if rng.random() < 0.3:
                services.aliquot_thaw(actor=actor, aliquot=aliquot, reason="Thawed again to repeat the reading")
        elif roll < 0.14:
            box = planner.box_for(1)
            row, column = _free_position(box)
            services.aliquot_move(
                actor=actor, aliquot=aliquot, box=box, row=row, column=column, reason="Box consolidation"
            )
        elif roll < 0.16 and aliquot.volume_ul >= 200:
            half = int(aliquot.volume_ul) // 2
            services.aliquot_split(
                actor=actor,
                aliquot=aliquot,
                volumes_ul=[half, half],
                box=planner.box_for(2),
                reason="Split for two assays",
            )
        elif roll < 0.17:
            destination = rng.choice(SHIPMENT_DESTINATIONS)
            services.aliquot_release(
                actor=actor,
                aliquot=aliquot,
                kind=CustodyEvent.Kind.SHIPPED,
                reason=f"Shipped to {destination}",
                destination=destination.split(" (")[0],
            )
        elif roll < 0.18:
            services.aliquot_release(
                actor=actor,
                aliquot=aliquot,
                kind=CustodyEvent.Kind.DISPOSED,
                reason="Tube cracked in the freezer",
            )
