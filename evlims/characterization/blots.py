"""A western blot recorded as one entry: its shared details once, a table of lanes (preparations) × markers, and the
blot image. Every band becomes one marker result (a ``Measurement`` of kind marker with its ``MarkerResult``), so
compliance, metrics, reports and the API read a blot's bands as they read any marker result.

The blot is an ``Ingestion`` (committed, ``raw_file`` = the image), which groups its results: each result's
``ingestion`` and ``raw_file`` point at the blot and its image, and the blot's one audit event (``blot.record``)
names them. The image is kept first (``raw_file_store``, in its own transaction), so it is never lost, even when the
blot is refused: the refusal carries the kept file (``BlotRefused.raw_file``) for the form to offer it again.

A blot (``blot``) is a dict:

    {"method": "western_blot", "measured_at": "2025-03-03T14:00:00+01:00",
     "lysate": {"buffer": "RIPA", "protocol": "…", "reducing": false, "protein_loaded_ug": 10,
                "compared_with_source": true},
     "markers": [{"protein": "CD63", "antibody": {"clone": "H5C6", "dilution": "1:1000", "supplier": "BD"}}, …],
     "lanes": [{"preparation": "EVP-0000042", "bands": [{"detected": true}, {"semi_quantitative_value": 0.4}]}, …]}

Each lane gives one band per marker, in the markers' order. Refusals are keyed by their place in the blot
(``lanes[1].bands[0].detected``, ``markers[0].protein``, ``lanes[2].preparation``, ``lysate.protein_loaded_ug``).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..conf import evlims_settings
from ..core.actors import is_person
from ..core.audit import record_event
from ..core.hooks import preparations_changed
from ..core.tenancy import WRITER_ROLES, ensure_role
from ..instruments.models import Ingestion, RawFile
from ..instruments.recording import result_error_place
from ..instruments.services import previous_answer, raw_file_store, request_hash
from .models import Measurement
from .services import _guard_locked, _store_details, headline_values, validate_results
from .subjects import subjects_read

MAX_LANES = 40
MAX_MARKERS = 12
BLOT_KEYS = ("method", "measured_at", "lysate", "markers", "lanes")
MARKER_KEYS = ("protein", "protein_confirmed", "antibody")
LANE_KEYS = ("preparation", "bands")
ANTIBODY_METHODS = ("western_blot", "elisa", "flow_cytometry", "immunogold_em")
# An image is recognised by its first bytes, whatever its name says.
IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
}
IMAGE_WORDS = "a PNG, JPEG or TIFF image"


class BlotRefused(ValidationError):
    """The blot was refused (nothing recorded); ``raw_file`` is its image, kept anyway (or None)."""

    def __init__(self, errors: dict, raw_file: RawFile | None):
        super().__init__(errors)
        self.raw_file = raw_file


def image_type(head: bytes) -> str | None:
    """The content type the first bytes of a file show (PNG, JPEG, TIFF), or None for anything else."""
    return next((kind for signature, kind in IMAGE_SIGNATURES.items() if head.startswith(signature)), None)


def _unknown(data: dict, accepted, place: str) -> dict:
    prefix = f"{place}." if place else ""
    return {
        f"{prefix}{key}": f"Unknown field. Accepted here: {', '.join(accepted)}." for key in data if key not in accepted
    }


def _check_shape(blot) -> None:
    """The blot's structure: lists where lists are expected, one band per marker in every lane."""
    if not isinstance(blot, dict):
        raise ValidationError({"blot": "Give the blot as an object with its markers and lanes."})
    errors = _unknown(blot, BLOT_KEYS, "")
    markers, lanes = blot.get("markers"), blot.get("lanes")
    if not isinstance(markers, list) or not 1 <= len(markers) <= MAX_MARKERS:
        errors["markers"] = f"Give the markers probed: 1 to {MAX_MARKERS}."
        markers = []
    if not isinstance(lanes, list) or not 1 <= len(lanes) <= MAX_LANES:
        errors["lanes"] = f"Give the lanes: 1 to {MAX_LANES}, one preparation each."
        lanes = []
    if blot.get("lysate") is not None and not isinstance(blot["lysate"], dict):
        errors["lysate"] = "Give the lysate as an object (buffer, protocol, reducing, protein_loaded_ug, …)."
    for j, marker in enumerate(markers):
        if not isinstance(marker, dict):
            errors[f"markers[{j}]"] = "Give each marker as an object with its protein and antibody."
            continue
        errors |= _unknown(marker, MARKER_KEYS, f"markers[{j}]")
        if marker.get("antibody") is not None and not isinstance(marker["antibody"], dict):
            errors[f"markers[{j}].antibody"] = "Give the antibody as an object (clone, catalogue, dilution, supplier)."
    for i, lane in enumerate(lanes):
        if not isinstance(lane, dict):
            errors[f"lanes[{i}]"] = "Give each lane as an object with its preparation and bands."
            continue
        errors |= _unknown(lane, LANE_KEYS, f"lanes[{i}]")
        bands = lane.get("bands")
        if not isinstance(bands, list) or len(bands) != len(markers):
            errors[f"lanes[{i}].bands"] = f"Give one band per marker ({len(markers)}), in the markers' order."
            continue
        for j, band in enumerate(bands):
            if not isinstance(band, dict):
                errors[f"lanes[{i}].bands[{j}]"] = "Give the band as an object: detected, or semi_quantitative_value."
    if errors:
        raise ValidationError(errors)


def _antibody_named(blot) -> dict:
    """Antibody-based methods name each marker's antibody: its clone or its catalogue number."""
    if blot.get("method") not in ANTIBODY_METHODS:
        return {}
    errors = {}
    for j, marker in enumerate(blot["markers"]):
        antibody = marker.get("antibody") or {}
        if not str(antibody.get("clone") or "").strip() and not str(antibody.get("catalogue") or "").strip():
            errors[f"markers[{j}].antibody.clone"] = "Name the antibody: its clone or its catalogue number."
    return errors


def blot_documents(blot) -> tuple[list[dict], list[tuple[int, int]]]:
    """One marker result document per band, and each document's (lane, marker) place. Checks the shape only;
    the documents are validated as every result is (``validate_results``)."""
    _check_shape(blot)
    documents, places = [], []
    for i, lane in enumerate(blot["lanes"]):
        for j, (marker, band) in enumerate(zip(blot["markers"], lane["bands"], strict=True)):
            detail = {
                "protein": marker.get("protein"),
                **({"protein_confirmed": marker["protein_confirmed"]} if "protein_confirmed" in marker else {}),
                **({"antibody": marker["antibody"]} if marker.get("antibody") else {}),
                **({"lysate": blot["lysate"]} if blot.get("lysate") else {}),
                **band,
            }
            document = {"kind": "marker", "method": blot.get("method"), "preparation": lane.get("preparation")}
            if blot.get("measured_at"):
                document["measured_at"] = blot["measured_at"]
            documents.append(document | {"marker": detail})
            places.append((i, j))
    return documents, places


def _blot_key(path: str, lane: int, marker: int) -> str:
    """Where a refusal of a band's result document belongs in the blot."""
    if path in ("method", "measured_at"):
        return path
    if path == "preparation":
        return f"lanes[{lane}].preparation"
    inner = path.removeprefix("marker.") if path.startswith("marker.") else ""
    if inner in ("protein", "protein_confirmed") or inner.startswith("antibody"):
        return f"markers[{marker}].{inner}"
    if inner.startswith("lysate"):
        return inner
    return f"lanes[{lane}].bands[{marker}]" + (f".{inner}" if inner else "")


def blot_errors(error: ValidationError, places) -> dict[str, list[str]]:
    """A refusal keyed by result documents (``results[3].marker.detected``) keyed by the blot's places."""
    if not hasattr(error, "error_dict"):
        return {"blot": error.messages}
    errors: dict[str, list[str]] = {}
    for key, messages in error.message_dict.items():
        place = result_error_place(key)
        target = _blot_key(place[1], *places[place[0]]) if place and place[0] < len(places) else key
        for message in messages:
            if message not in errors.setdefault(target, []):
                errors[target].append(message)
    return errors


def blot_image_keep(*, actor, lab, image, reason: str = "") -> RawFile | None:
    """Keep a blot's image as a raw file, on its own (``raw_file_store``: its own transaction and audit event),
    before anything else is checked, so it is never lost; a RawFile kept before is checked again. Refused unless
    ``image`` is a PNG, JPEG or TIFF of at most IMPORT_MAX_BYTES. A page whose blot is refused before it reaches
    ``blot_record`` keeps the image through this, to offer it again."""
    ensure_role(actor, lab.pk, WRITER_ROLES, "record results")
    if image is None:
        return None
    if isinstance(image, RawFile):
        if image.lab_id != lab.pk:
            raise ValidationError({"image": "This image belongs to another lab."})
        with image.file.open("rb") as stored:
            head = stored.read(16)
        if image_type(head) is None:
            raise ValidationError({"image": f"{image.original_name} is not {IMAGE_WORDS}."})
        return image
    limit = evlims_settings.IMPORT_MAX_BYTES
    if image.size > limit:
        raise ValidationError({"image": f"{image.name} is {image.size:,} bytes; the largest accepted is {limit:,}."})
    if hasattr(image, "seek"):
        image.seek(0)
    data = image.read()
    kind = image_type(data[:16])
    if kind is None:
        raise ValidationError({"image": f"{image.name} is not {IMAGE_WORDS} (its content is not an image's)."})
    return raw_file_store(lab=lab, data=data, name=image.name, content_type=kind, actor=actor, reason=reason)


def blot_record(
    *, actor, lab, blot: dict, image=None, reason: str = "", idempotency_key: str = ""
) -> tuple[Ingestion, list[Measurement], bool]:
    """Record a blot: one marker result per band, all or none, in one transaction with one audit event.

    ``image`` is an uploaded file (PNG, JPEG or TIFF, at most IMPORT_MAX_BYTES) or a RawFile of the lab kept
    before. A blot touching an approved preparation needs ``reason`` and voids the approval. Returns
    (blot ingestion, measurements, replayed): the same ``idempotency_key`` again answers with the first blot.
    Refusals raise BlotRefused, keyed by the place in the blot, carrying the kept image.
    """
    if not is_person(actor):
        raise ValidationError({"actor": "A blot is recorded by a person."})
    ensure_role(actor, lab.pk, WRITER_ROLES, "record results")
    raw = blot_image_keep(actor=actor, lab=lab, image=image)
    try:
        documents, places = blot_documents(blot)
        body_hash = request_hash({"blot": blot, "image": raw.sha256 if raw else None})
        earlier = previous_answer(actor=actor, instrument=None, idempotency_key=idempotency_key, body_hash=body_hash)
        if earlier is not None:
            ids = earlier.response.get("measurements", [])
            return earlier, list(Measurement.objects.filter(pk__in=ids).order_by("id")), True
        missing = _antibody_named(blot)
        try:
            results = validate_results(documents)
        except ValidationError as error:
            raise ValidationError(blot_errors(error, places) | missing) from None
        if missing:
            raise ValidationError(missing)
        ingestion, measurements = _store(actor, lab, blot, results, places, raw, reason, idempotency_key, body_hash)
    except ValidationError as error:
        if isinstance(error, BlotRefused):
            raise
        detail = error.message_dict if hasattr(error, "error_dict") else {"blot": error.messages}
        raise BlotRefused(detail, raw) from None
    return ingestion, measurements, False


@transaction.atomic
def _store(actor, lab, blot, results, places, raw, reason, idempotency_key, body_hash):
    try:
        preps, _samples = subjects_read(lab.pk, results)
    except ValidationError as error:
        raise ValidationError(blot_errors(error, places)) from None
    _guard_locked(actor, preps, reason)
    ingestion = Ingestion.objects.create(
        lab=lab,
        submitted_by=actor,
        client=f"user:{actor.pk}",
        idempotency_key=idempotency_key,
        request_hash=body_hash,
        status=Ingestion.Status.COMMITTED,
        raw_file=raw,
        uploaded_name=raw.original_name if raw else "",
    )
    now = timezone.now()
    measurements = Measurement.objects.bulk_create(
        [
            Measurement(
                lab=lab,
                preparation=preps[r["preparation"]],
                kind=r["kind"],
                method=r["method"],
                measured_at=r.get("measured_at") or now,
                raw_file=raw,
                ingestion=ingestion,
                values=headline_values(r),
                recorded_by=actor,
            )
            for r in results
        ]
    )
    _store_details(measurements, results)
    ids = [m.pk for m in measurements]
    ingestion.response = {"ingestion": ingestion.pk, "status": ingestion.status, "measurements": ids}
    ingestion.save(update_fields=["response"])
    preparations_changed(m.preparation_id for m in measurements)
    record_event(
        actor=actor,
        action="blot.record",
        obj=ingestion,
        lab=lab,
        reason=reason,
        changes={
            "method": results[0]["method"],
            "markers": [m.get("protein") for m in blot["markers"]],
            "lanes": [lane["preparation"] for lane in blot["lanes"]],
            "lysate": blot.get("lysate") or {},
            "image": {"raw_file": raw.pk, "name": raw.original_name, "sha256": raw.sha256} if raw else None,
            "measurement_ids": ids,
        },
    )
    return ingestion, measurements
