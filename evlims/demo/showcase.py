"""One fully documented preparation per demo lab, and a QA queue with work in it.

The random demo preparations are realistic, which means partly documented: blots on some, electron
microscopy on fewer, no claims. Next to them each lab gets one preparation recorded the way the guidelines
ask (donor, the whole pre-analytical record, every step, NTA with its settings and calibration, a protein
assay, a panel of seven western-blot markers with antibodies and lysis, TEM wide-field and close-up, storage
and a subtype claim), so the compliance pages show what "meets every mandatory MISEV2018 and MISEV2023 rule,
EV-METRIC 100 %" looks like. Everything goes through the same services the forms and the API call.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from evlims.characterization.services import record_results
from evlims.isolation import services as isolation
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.review.services import review_submit
from evlims.samples import services as samples
from evlims.samples.models import Donor

from . import specimens
from .people import LabPeople

REASON = "Fully documented reference preparation (demo data)"
EQUIPMENT = "Optima XPN-100, SW 41 Ti (reference run)"
# EV-METRIC's full score asks for a density gradient, so the reference runs float their EVs in iodixanol.
REFERENCE_PROTOCOL = "duc-iodixanol-dg-bottom-up"
INPUT_UL, FINAL_UL = 1000, 100
# Partly documented preparations each lab submits for review beside its reference one.
PARTIAL_REVIEWS = 2


@dataclass(frozen=True)
class Showcase:
    """What one lab's reference preparation is made from."""

    biofluid: str
    volume_ml: str
    sample_fields: dict
    markers: tuple = ()


COMMON_SPINS = {"prep_spin_count": 2, "prep_spin_min": 15, "prep_spin_temperature_c": Decimal("20.0")}
PLASMA = Showcase(
    biofluid="blood_plasma",
    volume_ml="4.000",
    sample_fields={
        "tube_type": "BD Vacutainer K2EDTA 10 mL",
        "anticoagulant": "k2_edta",
        "needle_gauge": 21,
        "discard_tube": True,
        "fasting": True,
        "processing_delay_min": 45,
        "processing_temperature_c": Decimal("20.0"),
        "prep_spin_g": 2500,
        "prep_spin_brake": "off",
        "hemolysis_a414": Decimal("0.150"),
        "residual_platelets_per_ul": 4000,
        "storage_temperature_c": Decimal("-80.0"),
        **COMMON_SPINS,
    },
    markers=(
        ("CD63", True),
        ("CD81", True),
        ("TSG101", True),
        ("PDCD6IP", True),
        ("APOA1", True),
        ("ALB", False),
        ("CANX", False),
    ),
)
URINE = Showcase(
    biofluid="urine",
    volume_ml="50.000",
    sample_fields={
        "urine_collection": "second_morning",
        "urine_normalization": "creatinine",
        "protease_inhibitors": "cOmplete EDTA-free, 1 tablet per 50 mL",
        "processing_delay_min": 60,
        "processing_temperature_c": Decimal("4.0"),
        "prep_spin_g": 2000,
        "prep_spin_brake": "on",
        "storage_temperature_c": Decimal("-80.0"),
        **COMMON_SPINS,
    },
    markers=(
        ("CD9", True),
        ("CD63", True),
        ("TSG101", True),
        ("PDCD6IP", True),
        ("UMOD", True),
        ("ALB", False),
        ("CANX", False),
    ),
)
CONDITIONED_MEDIUM = Showcase(
    biofluid="cell_culture_medium",
    volume_ml="100.000",
    sample_fields={
        "cell_line": "MDA-MB-231",
        "passage": 12,
        "culture_medium": "DMEM, 10 % EV-depleted FBS",
        "serum_percent": Decimal("10.0"),
        "serum_ev_depleted": True,
        "conditioning_time_h": Decimal("48.0"),
        "cell_count_at_harvest": 24000000,
        "viability_pct_at_harvest": Decimal("96.0"),
        "processing_delay_min": 30,
        "processing_temperature_c": Decimal("4.0"),
        "prep_spin_g": 2000,
        "prep_spin_brake": "on",
        "storage_temperature_c": Decimal("-80.0"),
        **COMMON_SPINS,
    },
    markers=(
        ("CD9", True),
        ("CD63", True),
        ("CD81", True),
        ("TSG101", True),
        ("SDCBP", True),
        ("CANX", False),
        ("GOLGA2", False),
    ),
)
BY_BIOFLUID = {showcase.biofluid: showcase for showcase in (PLASMA, URINE, CONDITIONED_MEDIUM)}
PREFERENCE = ("blood_plasma", "urine", "cell_culture_medium")


def _marker(barcode: str, symbol: str, detected: bool) -> dict:
    return {
        "kind": "marker",
        "preparation": barcode,
        "method": "western_blot",
        "marker": {
            "protein": symbol,
            "detected": detected,
            "antibody": {"catalogue": f"ab-{symbol.lower()}", "dilution": "1:1000", "supplier": "Abcam"},
            "lysate": {"buffer": "RIPA", "protocol": "10 min on ice, vortexed", "protein_loaded_ug": 5},
        },
    }


def _results(prep: EVPreparation, showcase: Showcase) -> list[dict]:
    barcode = prep.barcode
    return [
        {
            "kind": "particle",
            "preparation": barcode,
            "method": "nta",
            "particle": {
                "technique": "nta",
                "dilution_factor": 200,
                "concentration_per_ml": 4.1e10,
                "size_mode_nm": 98.5,
                "size_mean_nm": 118.2,
                "d10_nm": 72.0,
                "d50_nm": 109.0,
                "d90_nm": 181.0,
                "settings": {"camera_level": 14, "detection_threshold": 5, "videos": 5, "frames": 750},
                "calibration": "100 nm polystyrene beads, checked the same day",
            },
        },
        {
            "kind": "protein",
            "preparation": barcode,
            "method": "micro_bca",
            "protein": {"assay": "micro_bca", "concentration_ug_per_ml": 310, "volume_assayed_ul": 25},
        },
        *[_marker(barcode, symbol, detected) for symbol, detected in showcase.markers],
        {
            "kind": "imaging",
            "preparation": barcode,
            "method": "tem",
            "imaging": {"technique": "tem", "wide_field": True, "close_up": True, "magnification": "30,000×"},
        },
    ]


def chosen_showcase(people: LabPeople) -> Showcase:
    fluids = {fluid for plan in people.plan.projects for fluid in plan.biofluids}
    return BY_BIOFLUID[next(fluid for fluid in PREFERENCE if fluid in fluids)]


def reference_project_code(people: LabPeople) -> str:
    """The project the reference sample belongs to: the first that collects the chosen biofluid."""
    biofluid = chosen_showcase(people).biofluid
    return next(plan.code for plan in people.plan.projects if biofluid in plan.biofluids)


def record_reference_preparation(people: LabPeople, versions) -> EVPreparation:
    """Record the lab's fully documented preparation from collection to storage; returns it.

    Its sample is one of the lab's requested samples (the builder registers one fewer at random) and its
    donor one of the project's enrolled donors, so the demo keeps the sizes it was asked for."""
    showcase = chosen_showcase(people)
    project = people.projects[reference_project_code(people)]
    actor = people.staff
    donor = None
    if showcase.biofluid != "cell_culture_medium":
        donor = (
            Donor.objects.filter(lab=people.lab, project=project, consent_status=Donor.Consent.GIVEN)
            .order_by("id")
            .first()
        )
    collected = specimens.COLLECTION_START + timedelta(days=specimens.COLLECTION_DAYS // 2, hours=8)
    sample = samples.sample_register(
        actor=actor,
        project=project,
        donor=donor,
        biofluid=showcase.biofluid,
        volume_ml=Decimal(showcase.volume_ml),
        collected_at=collected,
        aliquot_volumes_ul=[Decimal(INPUT_UL)],
        reason=REASON,
        **showcase.sample_fields,
    )
    aliquot = samples.aliquot_thaw(actor=actor, aliquot=sample.aliquots.get(), reason="Thawed for isolation")
    version = versions[REFERENCE_PROTOCOL]
    run = isolation.run_plan(
        actor=actor,
        project=project,
        protocol_version=version,
        inputs=[(aliquot, Decimal(INPUT_UL))],
        equipment=EQUIPMENT,
        reason=REASON,
    )
    run = isolation.run_start(actor=actor, run=run)
    for number, step in enumerate(version.steps, start=1):
        isolation.run_record_step(actor=actor, run=run, number=number, observed=dict(step["params"]))
    prep = run.preparations.get()
    outputs = {
        prep.pk: {
            "final_volume_ul": FINAL_UL,
            "buffer": "PBS",
            "storage": "Freezer F1, preparation box P1",
            "storage_container": "0.5 mL low-binding tube",
            "storage_temperature_c": Decimal("-80.0"),
        }
    }
    run = isolation.run_complete(actor=actor, run=run, outputs=outputs)
    record_results(actor=people.instrument, lab=people.lab, documents=_results(prep, showcase), reason=REASON)
    prep.refresh_from_db()
    return isolation.preparation_update(
        prep=prep,
        actor=actor,
        reason=REASON,
        expected_version=prep.version,
        changes={
            "storage_freeze_thaw_cycles": 0,
            "storage_duration_days": Decimal("3.0"),
            "claimed_subtype": "small_ev",
        },
    )


def fill_review_queue(people: LabPeople, reference: EVPreparation, *, partial: int = PARTIAL_REVIEWS) -> int:
    """Submit the reference preparation and a few partly documented ones for QA review; returns how many.

    A partly documented preparation fails mandatory rules, so its submission carries the justification
    the submit form asks for, as a person would write it."""
    submitted = 0
    review_submit(actor=people.staff, preparation=reference, reason="Reference preparation, fully documented.")
    submitted += 1
    others = (
        EVPreparation.objects.filter(lab=people.lab, run__status=IsolationRun.Status.COMPLETED)
        .exclude(pk=reference.pk)
        .order_by("id")[:partial]
    )
    for prep in others:
        review_submit(
            actor=people.staff,
            preparation=prep,
            reason="Pilot batch; please review the yield figures.",
            justification="Blots and imaging of this batch are planned with the next run; the yield and purity "
            "figures are needed now to choose the method.",
        )
        submitted += 1
    return submitted
