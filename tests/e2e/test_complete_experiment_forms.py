"""A lab member records a complete experiment through the web forms only: donor, plasma with its whole
pre-analytical record, the thaw of the aliquot, a run of the shipped iodixanol density-gradient protocol with
every step, completion with buffer, container and temperature, NTA with settings and calibration, BCA, seven
western blots with antibody and lysis, TEM wide-field and close-up, then storage and claims. The stored
preparation meets every mandatory MISEV2018 and MISEV2023 rule and scores 100 % on the EV-METRIC; clearing the
preparation's storage temperature on its edit page then fails exactly the rules that need it.

The same experiment recorded through the API is tests/api/test_complete_experiment.py."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from evlims.compliance.models import ComplianceEvaluation
from evlims.compliance.services import MANDATORY_LEVELS, evaluate_preparations
from evlims.core.models import Role
from evlims.isolation.models import EVPreparation, IsolationRun, ProtocolVersion
from evlims.isolation.services import library_load
from evlims.samples.models import Donor, Sample
from evlims.web.forms.runs import version_label
from tests.factories import LabFactory, ProjectFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("EVLIMS_SCREENSHOT_DIR", "/tmp/evlims-screenshots"))
PROTOCOL = "duc-iodixanol-dg-bottom-up"
# Seven western-blot markers: two transmembrane, two cytosolic, the lipoproteins and albumin, an ER protein.
MARKERS = [("CD63", True), ("CD81", True), ("TSG101", True), ("PDCD6IP", True), ("APOA1", True), ("ALB", False)]
MARKERS += [("CANX", False)]


def newest_library_version():
    versions = ProtocolVersion.objects.filter(protocol__slug=PROTOCOL, protocol__lab=None)
    return max(versions, key=lambda version: tuple(int(part) for part in version.version.split(".")))


def unmet_mandatory(preparation_pk) -> dict[str, list[str]]:
    """Mandatory (and applicable conditional) MISEV rules of the stored evaluation that did not pass."""
    report = ComplianceEvaluation.objects.get(preparation_id=preparation_pk).full_report
    return {
        key: sorted(
            rule["id"]
            for rule in report[key]["rules"]
            if rule["level"] in MANDATORY_LEVELS and rule["status"] in ("fail", "insufficient_data")
        )
        for key in ("misev2018", "misev2023")
    }


def evaluated(preparation_pk):
    evaluate_preparations([preparation_pk], force=True)
    return ComplianceEvaluation.objects.get(preparation_id=preparation_pk)


def record_marker(page, symbol, detected):
    page.get_by_role("link", name="Marker result").click()
    page.get_by_label("Protein (HGNC symbol)").fill(symbol)
    page.get_by_label("Method").select_option("western_blot")
    page.get_by_label("Detected" if detected else "Not detected", exact=True).check()
    page.get_by_label("Antibody catalogue number").fill(f"ab-{symbol.lower()}")
    page.get_by_label("Antibody dilution").fill("1:1000")
    page.get_by_label("Antibody supplier").fill("Abcam")
    page.get_by_label("Lysis buffer").fill("RIPA")
    page.get_by_label("Lysis protocol").fill("10 min on ice, vortexed")
    page.get_by_label("Sample buffer").select_option("no")
    page.get_by_role("button", name="Record the result").click()
    expect(page.get_by_role("alert")).to_contain_text(f"{symbol} recorded")


def test_a_complete_experiment_through_the_forms(live_server, page):
    # Two shared cores: each step commits, refreshes the evaluation and renders a full page.
    page.set_default_timeout(20_000)
    expect.set_options(timeout=15_000)
    library_load()
    version = newest_library_version()
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1", title="Plasma EV biomarkers")
    member(lab, Role.LAB_STAFF, username="ana")

    page.goto(f"{live_server.url}/donors/new/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()

    # The donor.
    page.get_by_label("Project").select_option(label=str(project))
    page.get_by_role("textbox", name="Code").fill("D-001")  # not the top bar's search box
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Age band").select_option("40-49")
    page.get_by_role("button", name="Register donor").click()
    expect(page.get_by_text("Donor D-001 registered.")).to_be_visible()

    # The plasma sample with its whole pre-analytical record, and one aliquot.
    page.goto(f"{live_server.url}/samples/new/")
    page.get_by_label("Project").select_option(label=str(project))
    page.get_by_label("Donor").select_option(label="D-001")
    page.get_by_label("Biofluid").select_option("blood_plasma")
    page.get_by_label("Volume (mL)").fill("4")
    page.get_by_label("Collected at").fill("2026-01-05T08:00:00")
    page.get_by_label("Tube type").fill("BD Vacutainer K2EDTA 10 mL")
    page.get_by_label("Anticoagulant").select_option("k2_edta")
    page.get_by_label("Needle gauge (G)").fill("21")
    page.get_by_label("Discard tube drawn first").select_option("true")
    page.get_by_label("Fasting").select_option("true")
    page.get_by_label("Time from collection to first spin (min)").fill("45")
    page.get_by_label("Processing temperature (°C)").fill("20")
    page.get_by_label("Preparation spin force (× g)").fill("2500")
    page.get_by_label("Preparation spin time (min)").fill("15")
    page.get_by_label("Number of preparation spins").fill("2")
    page.get_by_label("Preparation spin temperature (°C)").fill("20")
    page.get_by_label("Preparation spin brake").select_option("off")
    page.get_by_label("Hemolysis (A414)").fill("0.150")
    page.get_by_label("Residual platelets (per µL)").fill("4000")
    page.get_by_label("Storage temperature (°C)").fill("-80")
    page.get_by_label("Number of aliquots").fill("1")
    page.get_by_label("Volume of each aliquot (µL)").fill("1000")
    page.get_by_role("button", name="Register sample").click()
    expect(page.get_by_text(re.compile(r"Sample EVS-\d+ registered"))).to_be_visible()
    sample = Sample.objects.get()
    assert sample.donor == Donor.objects.get(code="D-001")
    aliquot = sample.aliquots.get()

    # Thawed for the isolation.
    page.locator(f"#aliquot-{aliquot.pk}").get_by_role("link", name="Thaw").click()
    expect(page.get_by_text("from 0 to 1")).to_be_visible()
    page.get_by_role("button", name="Yes, record the thaw").click()
    expect(page.get_by_text(f"{aliquot.barcode} thawed (cycle 1).")).to_be_visible()

    # The run: planned, started, every step saved with the protocol's values, completed.
    page.goto(f"{live_server.url}/runs/new/")
    page.get_by_label("Protocol version").select_option(label=version_label(version))
    page.get_by_label("Project*", exact=True).select_option(label=str(project))
    page.get_by_label("Scanned aliquots").fill(f"{aliquot.barcode} 1000")
    page.get_by_role("button", name="Plan the run").click()
    expect(page.get_by_text(re.compile(r"Run RUN-\d+ planned with 1 aliquot\(s\)"))).to_be_visible()
    run = IsolationRun.objects.get()
    page.get_by_role("button", name="Start the run").click()
    steps = len(version.steps)
    assert steps >= 4  # clearing spins, a crude pellet, the density gradient
    for number in range(1, steps + 1):
        expect(page.get_by_role("heading", name=re.compile(f"Step {number} of {steps}"))).to_be_visible()
        page.get_by_role("button", name=f"Save step {number}").click()
        expect(page.get_by_text(re.compile(rf"Step {number} recorded"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Complete run"))).to_be_visible()
    prep = EVPreparation.objects.get(run=run)
    page.get_by_label(f"Final volume of {prep.barcode}").fill("100")
    page.get_by_label(f"Storage buffer of {prep.barcode}").fill("PBS")
    page.get_by_label(f"Container of {prep.barcode}").fill("0.5 mL low-binding tube")
    page.get_by_label(f"Storage temperature (°C) of {prep.barcode}").fill("-80")
    page.get_by_label(f"Storage location of {prep.barcode}").fill("F1 / R2 / Box 7")
    page.get_by_role("button", name="Complete the run").click()
    expect(page.get_by_text(f"Run {run.code} completed: 1 EV preparation(s).")).to_be_visible()

    # Results typed on the preparation's pages.
    page.goto(f"{live_server.url}/preparations/{prep.pk}/")
    page.get_by_role("link", name="Particle analysis").click()
    page.get_by_label("Technique").select_option("nta")
    page.get_by_label("Concentration (particles/mL)").fill("4.1e10")
    page.get_by_label("Mode (nm)").fill("92")
    page.get_by_label("Camera level").fill("14")
    page.get_by_label("Detection threshold").fill("5")
    page.get_by_label("Videos or positions recorded").fill("5")
    page.get_by_label("Frames per video").fill("750")
    page.get_by_label("Calibration").fill("100 nm polystyrene beads")
    page.get_by_role("button", name="Record the result").click()
    expect(page.get_by_text("Particle analysis recorded.")).to_be_visible()

    page.get_by_role("link", name="Protein quantification").click()
    page.get_by_label("Assay*", exact=True).select_option("micro_bca")
    page.get_by_label("Protein (µg/mL)").fill("310")
    page.get_by_role("button", name="Record the result").click()
    expect(page.get_by_text("Protein quantification recorded.")).to_be_visible()

    for symbol, detected in MARKERS:
        record_marker(page, symbol, detected)

    for view in ("Wide field", "Close up"):
        page.get_by_role("link", name="Imaging result").click()
        page.get_by_label("Technique").select_option("tem")
        page.get_by_label(view).check()
        page.get_by_role("button", name="Record the result").click()
        expect(page.get_by_text("Imaging recorded.")).to_be_visible()

    # Storage and claims.
    page.locator("#edit-storage").click()
    expect(page.get_by_label("Storage temperature (°C)")).to_have_value("-80.0")
    page.get_by_label("Storage time before characterisation (days)").fill("3")
    page.get_by_label("Freeze–thaw cycles of the preparation").fill("0")
    page.get_by_label("The preparation is called").select_option("small_ev")
    page.get_by_label("Reason").fill("Storage and naming written up")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(f"Preparation {prep.barcode} saved.")).to_be_visible()

    evaluation = evaluated(prep.pk)
    document = evaluation.document
    assert document["sample"]["donor"] == {"age_band": "40-49", "sex": "female"}
    assert document["sample"]["freeze_thaw_cycles"] == 1
    assert document["prep_storage"] == {
        "temperature_c": -80.0,
        "duration_days": 3.0,
        "container": "0.5 mL low-binding tube",
        "buffer": "PBS",
        "freeze_thaw_cycles": 0,
    }
    markers = document["characterization"]["markers"]
    assert len(markers) == 7
    assert {(m["lysate"]["protocol"], m["lysate"]["reducing"]) for m in markers} == {("10 min on ice, vortexed", False)}
    particle = document["characterization"]["particle_analysis"][0]
    assert particle["calibration"] == "100 nm polystyrene beads"
    assert particle["settings"] == {"camera_level": 14, "detection_threshold": 5, "frames": 750, "videos": 5}
    assert unmet_mandatory(prep.pk) == {"misev2018": [], "misev2023": []}
    assert evaluation.mandatory_failed == 0 and evaluation.ev_metric_pct == 100

    compliance_url = f"{live_server.url}/compliance/preparations/{prep.pk}/"
    page.goto(compliance_url)
    expect(page.locator("#ev-metric-score")).to_have_text("100 %")
    for key in ("misev2018", "misev2023"):
        expect(page.locator(f"#ruleset-{key}")).to_be_visible()
        expect(page.locator(f"#ruleset-{key}")).not_to_contain_text("Mandatory failures:")
    expect(page.locator("#mandatory-failures-warning")).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "complete-experiment-compliance.png"), full_page=True)

    # Clearing the storage temperature fails exactly the rules that need it.
    page.goto(f"{live_server.url}/preparations/{prep.pk}/edit/")
    page.get_by_label("Storage temperature (°C)").fill("")
    page.get_by_label("Reason").fill("Temperature was entered for the wrong tube")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(f"Preparation {prep.barcode} saved.")).to_be_visible()

    evaluation = evaluated(prep.pk)
    assert "temperature_c" not in evaluation.document["prep_storage"]
    assert unmet_mandatory(prep.pk) == {"misev2018": ["M18.COLL.STORAGE"], "misev2023": ["M23.STORAGE.PREP"]}
    assert evaluation.ev_metric_pct == 100

    page.goto(compliance_url)
    expect(page.locator("#ruleset-misev2018")).to_contain_text("Mandatory failures: M18.COLL.STORAGE")
    expect(page.locator("#ruleset-misev2023")).to_contain_text("Mandatory failures: M23.STORAGE.PREP")
    expect(page.locator("#mandatory-failures-warning")).to_contain_text("fails 2 mandatory rules")
