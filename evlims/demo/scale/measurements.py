"""Characterization of the preparations of completed runs: a particle analysis with its size histogram,
a protein assay, then Western-blot markers, a TEM record and replicate particle counts."""

import datetime as dt
import math

from evlims.characterization.models import (
    ImagingResult,
    MarkerResult,
    Measurement,
    ParticleAnalysis,
    ProteinQuantification,
    SizeBin,
)
from evlims.compliance.markers import marker_vocabulary
from evlims.instruments.models import Instrument
from evlims.instruments.particles import SIZE_FIELDS

from ..isolation import FIGURES, SOURCE_PARTICLES_PER_ML
from .runs import COMPLETED, PreparationRow
from .sizes import CHUNK, log_uniform, significant

# Western blots in the order a lab adds them: tetraspanins, cytosolic, negative and co-isolate controls.
MARKERS = ("CD63", "CD81", "CD9", "TSG101", "CANX", "APOA1", "SDCBP", "ALB")
NEGATIVE = {"CANX": 0.08, "APOA1": 0.4, "ALB": 0.4}
EXTRAS = (*MARKERS, "imaging")
PREPARATIONS_PER_CHUNK = CHUNK // 10  # about ten measurements each
MEASUREMENT_FIELDS = (
    "lab_id",
    "preparation_id",
    "kind",
    "method",
    "measured_at",
    "instrument_id",
    "instrument_name",
    "values",
    "recorded_by_id",
)
PARTICLE_FIGURES = ("concentration_per_ml", *SIZE_FIELDS)
PARTICLE_FIELDS = (
    "measurement_id",
    "technique",
    "sample_name",
    "dilution_factor",
    "dilution_applied_in_file",
    *PARTICLE_FIGURES,
)
PROTEIN_FIELDS = ("measurement_id", "assay", "concentration_ug_per_ml", "volume_assayed_ul")
MARKER_FIELDS = (
    "measurement_id",
    "protein",
    "misev_category",
    "detection",
    "antibody_catalogue",
    "antibody_dilution",
    "lysate_buffer",
    "protein_loaded_ug",
    "compared_with_source_lysate",
)
IMAGING_FIELDS = ("measurement_id", "technique", "wide_field", "close_up", "magnification")
BIN_FIELDS = ("analysis_id", "bin_center_nm", "concentration_per_ml")
DETECTED, NOT_DETECTED = MarkerResult.Detection.DETECTED.value, MarkerResult.Detection.NOT_DETECTED.value


def per_preparation(rng, total: int, count: int) -> list[int]:
    """Measurements per preparation: ``total`` spread over ``count``, varying by up to a third around the
    mean (moved pairwise, so the sum stays exact)."""
    if not count:
        return []
    base, extra = divmod(total, count)
    counts = [base] * count
    for index in rng.sample(range(count), extra):
        counts[index] += 1
    spread = base // 3
    for index in range(0, count - 1, 2):
        shift = rng.randint(-spread, spread)
        shift = max(-counts[index], min(shift, counts[index + 1]))
        counts[index] += shift
        counts[index + 1] -= shift
    return counts


def bin_centres(bins: int) -> list[float]:
    width = 550 / bins
    return [round(25 + width * (i + 0.5), 1) for i in range(bins)]


def write_measurements(rng, writer, lab, users, preparations: list[PreparationRow], size) -> dict:
    measured = [prep for prep in preparations if prep.run.status == COMPLETED]
    plan = per_preparation(rng, size.measurements, len(measured))
    nta = Instrument.objects.create(lab=lab, name="NanoSight NS300", kind="nta", model_name="NS300")
    zeta = Instrument.objects.create(lab=lab, name="ZetaView PMX-120", kind="zetaview", model_name="PMX-120")
    instruments = {"nta": (nta.pk, nta.name), "zetaview": (zeta.pk, zeta.name)}
    vocabulary = marker_vocabulary()
    categories = {symbol: ",".join(sorted(vocabulary.subcategories(symbol))) for symbol in MARKERS}
    centres = bin_centres(size.histogram_bins)
    counts = dict.fromkeys(["measurements", "particle", "protein", "marker", "imaging", "size_bins"], 0)
    instrument_user = users["instrument"].pk
    for start in range(0, len(measured), PREPARATIONS_PER_CHUNK):
        rows, details = [], []
        chunk = zip(
            measured[start : start + PREPARATIONS_PER_CHUNK], plan[start : start + PREPARATIONS_PER_CHUNK], strict=True
        )
        for prep, count in chunk:
            figures = FIGURES[prep.run.slug]
            particle = _particle_figures(rng, prep, figures)
            purity = log_uniform(rng, *figures.particles_per_ug)
            at = prep.run.completed_at + dt.timedelta(hours=rng.randint(2, 72))
            # After the particle count and the protein assay, blots and TEM in the lab's own order.
            extras = rng.sample(EXTRAS, len(EXTRAS))
            for position in range(count):
                what = "particle" if position == 0 or position >= 2 + len(extras) else extras[position - 2]
                what = "protein" if position == 1 else what
                kind, detail = _measurement(rng, what, position > 0, particle, purity, prep, categories, centres)
                instrument = instruments[particle["technique"]] if kind == "particle" else (None, "")
                rows.append(
                    (lab.pk, prep.pk, kind, detail.pop("method"), at + dt.timedelta(minutes=position))
                    + (*instrument, detail.pop("values"), instrument_user)
                )
                details.append((prep.pk, kind, detail))
        ids = writer.write(Measurement, MEASUREMENT_FIELDS, rows)
        for kind, number in _write_details(writer, ids, details).items():
            counts[kind] += number
        counts["measurements"] += len(ids)
    return counts


def _particle_figures(rng, prep: PreparationRow, figures) -> dict:
    source = log_uniform(rng, *SOURCE_PARTICLES_PER_ML[prep.biofluid])
    recovered = source * float(prep.input_volume_ul) / 1000 * rng.uniform(*figures.recovery)
    mode = round(rng.uniform(*figures.size_mode_nm), 1)
    sigma = rng.uniform(0.3, 0.45)
    return {
        "concentration": significant(recovered / (figures.final_ul / 1000)),
        "mode": mode,
        "sigma": sigma,
        "median": mode * math.exp(sigma**2),
        "technique": rng.choice(["nta", "zetaview"]),
    }


def _measurement(rng, what: str, replicate: bool, particle: dict, purity: float, prep, categories, centres):
    """(kind, detail) of one measurement: ``what`` is particle, protein, imaging or a marker symbol."""
    if what == "particle":
        concentration = significant(particle["concentration"] * (rng.uniform(0.9, 1.1) if replicate else 1))
        median, sigma = particle["median"], particle["sigma"]
        figures = {
            "concentration_per_ml": concentration,
            "size_mode_nm": particle["mode"],
            "size_mean_nm": round(median * math.exp(sigma**2 / 2), 1),
            "size_sd_nm": round(median * math.sqrt((math.exp(sigma**2) - 1) * math.exp(sigma**2)), 1),
            "d10_nm": round(median * math.exp(-1.2816 * sigma), 1),
            "d50_nm": round(median, 1),
            "d90_nm": round(median * math.exp(1.2816 * sigma), 1),
        }
        density = [math.exp(-(math.log(c / median) ** 2) / (2 * sigma**2)) / c for c in centres]
        scale = concentration / sum(density)
        return "particle", {
            "method": particle["technique"],
            "values": {
                "particles_per_ml": concentration,
                "size_mode_nm": figures["size_mode_nm"],
                "size_mean_nm": figures["size_mean_nm"],
                "d50_nm": figures["d50_nm"],
            },
            "figures": figures,
            "technique": particle["technique"],
            "dilution": rng.choice([50, 100, 200, 500]),
            "bins": [(centre, significant(value * scale)) for centre, value in zip(centres, density, strict=True)],
        }
    if what == "protein":
        protein = significant(particle["concentration"] / purity)
        return "protein", {"method": "micro_bca", "values": {"protein_ug_per_ml": protein}, "protein": protein}
    if what in MARKERS:
        symbol = what
        chance = NEGATIVE.get(symbol, 0.95)
        if symbol in ("APOA1", "ALB") and prep.biofluid not in ("blood_plasma", "serum"):
            chance = 0.02
        detected = rng.random() < chance
        return "marker", {
            "method": "western_blot",
            "values": {"protein": symbol, "detected": detected},
            "symbol": symbol,
            "category": categories[symbol],
            "detected": detected,
        }
    return "imaging", {"method": "tem", "values": {"wide_field": True, "close_up": True}}


def _write_details(writer, measurement_ids: list[int], details) -> dict:
    particles, histograms, proteins, markers, imaging = [], [], [], [], []
    for pk, (preparation_id, kind, detail) in zip(measurement_ids, details, strict=True):
        if kind == "particle":
            figures = detail["figures"]
            particles.append(
                (pk, detail["technique"], f"{preparation_id} d{detail['dilution']}", detail["dilution"], True)
                + tuple(figures[name] for name in PARTICLE_FIGURES)
            )
            histograms.append(detail["bins"])
        elif kind == "protein":
            proteins.append((pk, "micro_bca", detail["protein"], 25))
        elif kind == "marker":
            detection = DETECTED if detail["detected"] else NOT_DETECTED
            markers.append(
                (pk, detail["symbol"], detail["category"], detection, f"{detail['symbol']} antibody", "1:1000")
                + ("RIPA", 5, True)
            )
        else:
            imaging.append((pk, "tem", True, True, "30,000×"))
    analyses = writer.write(ParticleAnalysis, PARTICLE_FIELDS, particles)
    writer.write(ProteinQuantification, PROTEIN_FIELDS, proteins)
    writer.write(MarkerResult, MARKER_FIELDS, markers)
    writer.write(ImagingResult, IMAGING_FIELDS, imaging)
    bins = [
        (analysis, centre, value)
        for analysis, histogram in zip(analyses, histograms, strict=True)
        for centre, value in histogram
    ]
    writer.write(SizeBin, BIN_FIELDS, bins)
    return {
        "particle": len(particles),
        "protein": len(proteins),
        "marker": len(markers),
        "imaging": len(imaging),
        "size_bins": len(bins),
    }
