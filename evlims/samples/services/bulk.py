"""Registering many received samples at once (a manifest commit): the records ``sample_register`` and
``donor_create`` write for one sample, written for thousands with a few inserts per batch of rows.

The records are built by the services' own builders (``donor_build``, ``sample_build``, ``aliquot_build``,
``first_custody_event``), so a sample registered here is stored as one registered through the services:
donor, sample (same validation, barcodes from the same sequences in the same order, received now when no time
is given), first aliquots with their volumes, their "received" custody events, and a django-simple-history
row for each record carrying the row's reason. Two things differ by design:

- no audit event per record: the caller writes one event for the whole registration, in the same transaction
  (the hash chain is appended to once, and held for an instant instead of for the whole import);
- what Django's validation asks the database once per record (that a foreign key exists, the model's check
  constraints) is left to the database, which enforces it on insert: the related records are the project,
  the lab and donors this registration has just read or written.

It runs inside the caller's transaction: all or nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from ...conf import evlims_settings
from ...core.actors import person_or_none
from ...core.barcodes import issue_barcodes
from ...core.tenancy import ensure_can_write
from .. import selectors
from ..import_checks import QUERY_CHUNK, existing_values
from ..models import Aliquot, CustodyEvent, Donor, Sample
from .aliquots import aliquot_build, first_aliquot_volumes, first_custody_event, received_note
from .donors import donor_build
from .samples import sample_build

# Rows written per round of inserts; progress is reported after each. The database backend may split an
# insert further (SQLite takes at most 999 parameters per statement).
BATCH_ROWS = 500


@dataclass
class SampleRow:
    number: int  # how the caller names the row in problems, e.g. its row in the manifest
    reason: str  # the change reason on the history rows of every record the row creates
    fields: dict  # sample_register's keyword arguments: biofluid, volume_ml, barcode, external_id, ...
    donor_code: str = ""  # an unknown code creates the donor in the project
    aliquot_volumes_ul: list = field(default_factory=list)


class RowRefused(Exception):
    """A row the services refuse; raised before anything is inserted."""

    def __init__(self, number: int, error: ValidationError):
        super().__init__(" ".join(error.messages))
        self.number, self.error = number, error


@dataclass(frozen=True)
class _Planned:
    number: int
    key: str  # the service's field name: barcode, code, volumes_ul
    value: str
    issued: bool


class InsertClash(Exception):
    """The database refused an insert: a barcode or donor code was taken meanwhile by another transaction (or a
    barcode sequence is behind the stored records). ``in_use()`` names the rows; call it only after the
    caller's transaction or savepoint has been rolled back, as the database answers nothing before."""

    def __init__(self, error: IntegrityError, planned: list[_Planned], lab_id: int):
        super().__init__(str(error))
        self.planned, self.lab_id = planned, lab_id

    def in_use(self) -> list[tuple[int, ValidationError]]:
        barcodes = [p.value for p in self.planned if p.key != "code"]
        codes = [p.value for p in self.planned if p.key == "code"]
        # Barcodes and donor codes are unique within a lab: only this lab's records can have clashed.
        holders = selectors.barcode_holders(self.lab_id, barcodes)
        donors = existing_values(Donor.objects.filter(lab_id=self.lab_id), "code", codes)
        refused = []
        for planned in self.planned:
            if planned.key == "code" and planned.value in donors:
                message = f"Donor code {planned.value!r} is already used in this lab."
            elif planned.key != "code" and planned.value in holders:
                holder = holders[planned.value]
                message = selectors.taken_barcode_message(planned.value, holder)
                if planned.issued:
                    message = (
                        f"{planned.value}, issued to {'an aliquot of ' if planned.key == 'volumes_ul' else ''}"
                        f"this row, is already in use by {holder} of this lab: the barcode sequence is behind the "
                        "stored records. Ask an administrator."
                    )
            else:
                continue
            refused.append((planned.number, ValidationError({planned.key: message})))
        return refused


@dataclass
class Registered:
    samples: list[Sample]
    aliquots: int
    donors_created: list[str]
    donors_linked: int
    barcodes_issued: dict[str, list[str]]  # prefix → the barcodes issued, in order


@dataclass
class _Plan:
    row: SampleRow
    sample: Sample
    tubes: list[Aliquot]


def samples_register_bulk(*, actor, project, rows: list[SampleRow], progress=None) -> Registered:
    """Register ``rows`` as ``sample_register`` would one by one; ``progress(rows_written)`` after each batch.

    Raises RowRefused (nothing inserted yet) or InsertClash (roll back, then ask it which rows). Writes no audit
    event: the caller records one for the whole registration in its transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Bulk registration runs inside the caller's transaction, which also records its audit.")
    if not connection.features.can_return_rows_from_bulk_insert:
        raise RuntimeError("Bulk registration needs a database that returns the ids of bulk inserts.")
    ensure_can_write(actor, project.lab_id)
    now = timezone.now()
    existing, new_donors = _donors(project, rows)
    donors = existing | {donor.code: donor for donor in new_donors}
    issued = _issue_barcodes(rows)
    pools = {prefix: iter(barcodes) for prefix, barcodes in issued.items()}
    plans = [_plan(row, project, donors, pools, now) for row in rows]
    history_user = person_or_none(actor)
    try:
        _insert(Donor, new_donors, history_user, now)
        for start in range(0, len(plans), BATCH_ROWS):
            batch = plans[start : start + BATCH_ROWS]
            _insert(Sample, [plan.sample for plan in batch], history_user, now)
            tubes = [tube for plan in batch for tube in plan.tubes]
            _insert(Aliquot, tubes, history_user, now)
            CustodyEvent.objects.bulk_create([_received(tube, actor, now) for tube in tubes], batch_size=BATCH_ROWS)
            if progress is not None:
                progress(start + len(batch))
    except IntegrityError as error:
        raise InsertClash(error, _planned(plans, new_donors, rows, issued), project.lab_id) from error
    return Registered(
        samples=[plan.sample for plan in plans],
        aliquots=sum(len(plan.tubes) for plan in plans),
        donors_created=[donor.code for donor in new_donors],
        donors_linked=len({row.donor_code for row in rows if row.donor_code in existing}),
        barcodes_issued=issued,
    )


def _donors(project, rows: list[SampleRow]) -> tuple[dict[str, Donor], list[Donor]]:
    """The lab's donors the rows name, and the new ones (validated, not saved) in the order rows first name them."""
    codes = list(dict.fromkeys(row.donor_code for row in rows if row.donor_code))
    existing = {}
    for start in range(0, len(codes), QUERY_CHUNK):
        chunk = codes[start : start + QUERY_CHUNK]
        existing.update((donor.code, donor) for donor in project.lab.donors.filter(code__in=chunk))
    first_rows = {}
    for row in rows:
        if row.donor_code and row.donor_code not in existing:
            first_rows.setdefault(row.donor_code, row)
    new = []
    for code, row in first_rows.items():
        try:
            new.append(donor_build(lab=project.lab, code=code, project=project, reason=row.reason, lookups=False))
        except ValidationError as error:
            raise RowRefused(row.number, error) from error
    return existing, new


def _issue_barcodes(rows: list[SampleRow]) -> dict[str, list[str]]:
    """Every barcode the rows need, reserved at once per prefix. Handed out in row order (a sample's own, then
    its aliquots'), they are those registering the rows one by one would issue, even with one prefix for both."""
    needed = Counter()
    for row in rows:
        if not str(row.fields.get("barcode", "")).strip():
            needed[evlims_settings.SAMPLE_BARCODE_PREFIX] += 1
        needed[evlims_settings.ALIQUOT_BARCODE_PREFIX] += len(row.aliquot_volumes_ul)
    return {prefix: issue_barcodes(prefix, count) for prefix, count in needed.items() if count}


def _plan(row: SampleRow, project, donors: dict, pools: dict, now) -> _Plan:
    fields = dict(row.fields)
    barcode = str(fields.pop("barcode", "")).strip() or next(pools[evlims_settings.SAMPLE_BARCODE_PREFIX])
    try:
        sample = sample_build(
            project=project,
            donor=donors.get(row.donor_code) if row.donor_code else None,
            barcode=barcode,
            reason=row.reason,
            now=now,
            lookups=False,
            **fields,
        )
        volumes = first_aliquot_volumes(sample, row.aliquot_volumes_ul) if row.aliquot_volumes_ul else []
    except ValidationError as error:
        raise RowRefused(row.number, error) from error
    aliquot_pool = pools.get(evlims_settings.ALIQUOT_BARCODE_PREFIX)
    tubes = [
        aliquot_build(sample=sample, barcode=next(aliquot_pool), volume=volume, reason=row.reason) for volume in volumes
    ]
    return _Plan(row, sample, tubes)


def _insert(model, objects: list, history_user, now) -> None:
    if objects:
        bulk_create_with_history(objects, model, batch_size=BATCH_ROWS, default_user=history_user, default_date=now)


def _received(tube: Aliquot, actor, now) -> CustodyEvent:
    # The row's received time (the sample was built with ``now`` when the row gives none).
    occurred_at = tube.sample.received_at or now
    return first_custody_event(
        tube, CustodyEvent.Kind.RECEIVED, actor, received_note(tube.sample), occurred_at=occurred_at
    )


def _planned(plans: list[_Plan], new_donors: list[Donor], rows: list[SampleRow], issued: dict) -> list[_Planned]:
    """Every unique value the registration inserts, with the row it belongs to: what a clash can be about."""
    issued_values = {barcode for barcodes in issued.values() for barcode in barcodes}
    first_row = {}
    for row in rows:
        first_row.setdefault(row.donor_code, row.number)
    planned = [_Planned(first_row[donor.code], "code", donor.code, False) for donor in new_donors]
    for plan in plans:
        barcode = plan.sample.barcode
        planned.append(_Planned(plan.row.number, "barcode", barcode, barcode in issued_values))
        planned.extend(_Planned(plan.row.number, "volumes_ul", tube.barcode, True) for tube in plan.tubes)
    return planned
