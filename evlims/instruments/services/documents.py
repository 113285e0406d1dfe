"""A parsed instrument file turned into result documents: which captures count in a particle result's mean, when
it was measured, and the dilution each particle sample still needs. Pure functions of the parsed preview and of
what the person committing it said; the writes are ``file_ingestion.file_commit``'s.

- **Captures the instrument marked invalid** (``valid`` False, ``invalid_reason`` as the file says) are stored
  with the result but left out of its mean (``included_in_mean`` False) unless the person keeps them; kept, the
  concentration and sizes are recomputed from every capture and noted as computed here.
- **Measured when the instrument acquired the captures**: the file's local wall-clock time, read in the site's
  time zone (``settings.TIME_ZONE``). A file that states none falls back to the date given at commit, else to
  the upload time, and the result says which (``computed``: ``measured_at (given at commit)`` or
  ``measured_at (upload time)``).
- **No dilution is assumed**: a particle sample whose file records none is committed only with a factor or the
  word ``undiluted`` (factor 1); a factor its name suggests (``_1in2000``) is offered, never applied.
"""

from datetime import date, datetime, time
from statistics import fmean

from django.utils import timezone

from ..particles import SIZE_FIELDS, dilution_hint, stock_per_ml

# Particle formats and the technique their results are recorded under (a mapped generic table: "other").
PARTICLE_FORMATS = {"nanosight": "nta", "zetaview": "zetaview", "generic": "other"}
UNDILUTED = "undiluted"
MEASURED_AT_GIVEN = "measured_at (given at commit)"
MEASURED_AT_UPLOAD = "measured_at (upload time)"
CAPTURE_KEYS = ("name", "concentration_per_ml", "valid", "invalid_reason", *SIZE_FIELDS)


def needs_dilution(sample: dict) -> bool:
    """True for a particle sample whose file records no dilution (its concentrations are as in the cell)."""
    return sample.get("dilution_factor") is None and not sample.get("dilution_applied_in_file")


def dilution_suggestions(parsed: dict, uploaded_name: str = "") -> dict[str, dict]:
    """{sample name: {"factor": 2000.0, "from": "1in2000"}} for the particle samples that need a dilution and
    whose name (or, failing that, the file's) suggests one; {"factor": None} when nothing does."""
    if parsed.get("format") not in PARTICLE_FORMATS:
        return {}
    suggestions = {}
    for sample in parsed.get("samples") or []:
        if needs_dilution(sample):
            hint = dilution_hint(sample.get("name") or "") or dilution_hint(uploaded_name)
            suggestions[sample.get("name")] = {"factor": hint[0], "from": hint[1]} if hint else {"factor": None}
    return suggestions


def missing_dilutions(parsed: dict, mapping: dict, dilutions: dict | None, uploaded_name: str = "") -> list[str]:
    """A refusal per mapped particle sample that records no dilution and got none at commit."""
    suggestions = dilution_suggestions(parsed, uploaded_name)
    missing = []
    for name, suggestion in suggestions.items():
        if not mapping.get(name) or name in (dilutions or {}):
            continue
        hint = (
            f" Its name suggests {suggestion['factor']:g} (“{suggestion['from']}”): confirm it if that is right."
            if suggestion["factor"]
            else ""
        )
        missing.append(
            f"Sample '{name}': the file records no dilution, so its concentration is as measured in the cell. Give "
            f"its dilution factor, or say it was measured {UNDILUTED}.{hint}"
        )
    return missing


def acquisition_time(parsed: dict) -> datetime | None:
    """When the instrument acquired the captures, as an aware time: the file's wall-clock time read in the site's
    time zone (``settings.TIME_ZONE``; instrument exports carry no offset). None when the file states none."""
    text = parsed.get("acquired_at")
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def given_time(value) -> datetime | None:
    """A date or time given at commit as an aware time (a date alone is read as noon, site time)."""
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(12, 0))
    return timezone.make_aware(value, timezone.get_default_timezone()) if timezone.is_naive(value) else value


def measured_when(parsed: dict, *, given=None, uploaded_at=None) -> tuple[datetime | None, str]:
    """(when the result was measured, how that is known): "file", "given" or "upload"."""
    acquired = acquisition_time(parsed)
    if acquired is not None:
        return acquired, "file"
    if given_time(given) is not None:
        return given_time(given), "given"
    return uploaded_at, "upload"


def _mean(captures: list[dict], field: str) -> float | None:
    values = [capture[field] for capture in captures if capture.get(field) is not None]
    return fmean(values) if values else None


def particle_document(
    sample: dict,
    parsed: dict,
    preparation: str,
    dilution_factor=None,
    calibration: str = "",
    keep_invalid: bool = False,
) -> dict:
    """A parsed particle sample as a result document. A dilution given at commit is applied only when the file
    did not already apply one (``stock_per_ml``); captures the instrument marked invalid are left out of the mean
    unless ``keep_invalid``, when the figures are recomputed from every capture; sample-level sizes absent from
    the file are means of the captures in the mean; the analyser settings the file records come along.
    Calibration is never in the file: a person records it."""
    captures = sample.get("captures") or []
    computed = list(sample.get("computed") or [])
    concentration = sample.get("concentration_per_ml")
    applied = sample.get("dilution_applied_in_file")
    factor = sample.get("dilution_factor")
    included = [capture for capture in captures if capture.get("valid") or keep_invalid]
    recompute = keep_invalid and len(included) > sum(1 for capture in captures if capture.get("valid"))
    if recompute and not (applied and factor is None):  # captures of mixed dilutions give no mean at all
        concentration = stock_per_ml(_mean(included, "concentration_per_ml"), factor, applied_in_file=applied)
        computed.append("concentration_per_ml")
    # Only where the file records no dilution: a recorded one is already in the parser's stock figure.
    if dilution_factor and factor is None and not applied:
        factor = dilution_factor
        concentration = stock_per_ml(concentration, dilution_factor)
        computed.append("concentration_per_ml")
    particle = {
        "technique": PARTICLE_FORMATS[parsed["format"]],
        "name": sample.get("name", ""),
        "dilution_factor": factor,
        "dilution_applied_in_file": applied,
        "concentration_per_ml": concentration,
        "instrument_average_concentration_per_ml": sample.get("instrument_average_concentration_per_ml"),
        "captures": [
            {**{key: capture.get(key) for key in CAPTURE_KEYS}, "included_in_mean": capture in included}
            for capture in captures
        ],
        "histogram": sample.get("histogram"),
        "settings": dict(sample.get("settings") or {}),
    }
    for capture in particle["captures"]:
        capture["invalid_reason"] = capture["invalid_reason"] or ""
    for field in SIZE_FIELDS:
        value = None if recompute else sample.get(field)
        if value is None:
            value = _mean(included, field)
            if value is not None:
                computed.append(field)
        particle[field] = value
    particle["computed"] = sorted(set(computed))
    if calibration:
        # Files do not record how the analyser was calibrated: the person committing the file says it.
        particle["calibration"] = calibration
    return {
        "kind": "particle",
        "method": particle["technique"],
        "preparation": preparation,
        "software_version": parsed.get("software_version") or "",
        "particle": particle,
    }


def protein_document(sample: dict, parsed: dict, preparation: str) -> dict:
    return {
        "kind": "protein",
        "method": "bca",
        "preparation": preparation,
        "software_version": parsed.get("software_version") or "",
        "protein": {
            "assay": "bca",
            "concentration_ug_per_ml": sample.get("protein_ug_per_ml"),
            "out_of_range": bool(sample.get("out_of_range")),
            "standard_curve": parsed.get("standard_curve") or {},
        },
    }


def committed_samples(parsed: dict, mapping: dict):
    """(sample, preparation barcode) of every sample a commit turns into a result, in the results' order."""
    for sample in parsed.get("samples") or []:
        preparation = mapping.get(sample.get("name"))
        if preparation and (parsed["format"] in PARTICLE_FORMATS or "protein_ug_per_ml" in sample):
            yield sample, preparation


def documents_from_parsed(
    parsed: dict,
    mapping: dict,
    dilutions: dict | None = None,
    calibration: str = "",
    *,
    keep_invalid: bool = False,
    measured: tuple[datetime | None, str] = (None, "file"),
) -> list[dict]:
    """Result documents for the samples the user mapped ({sample name: preparation barcode}); unmapped samples
    (e.g. beads or standards) are left out on purpose. ``measured`` is ``measured_when``'s answer, carried by
    the particle results."""
    documents = []
    moment, source = measured
    for sample, preparation in committed_samples(parsed, mapping):
        if parsed["format"] not in PARTICLE_FORMATS:
            documents.append(protein_document(sample, parsed, preparation))
            continue
        dilution = (dilutions or {}).get(sample["name"])
        document = particle_document(sample, parsed, preparation, dilution, calibration, keep_invalid)
        if moment is not None:
            document["measured_at"] = moment.isoformat()
        if source != "file":
            note = MEASURED_AT_GIVEN if source == "given" else MEASURED_AT_UPLOAD
            document["particle"]["computed"] = sorted({*document["particle"]["computed"], note})
        documents.append(document)
    return documents
