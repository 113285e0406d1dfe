"""In the browser: an FCS file is uploaded from the preparation page, its header and warnings read, a rectangle
dragged on the density plot fills a gate's bounds, the gates are applied and the counts per gate and the
concentration of the original sample are shown."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.cytometry.ev_files import ev_file
from tests.factories import LabFactory, ProjectFactory, member
from tests.web.test_results import make_preparation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery"
GATES = Path(__file__).resolve().parents[1] / "fixtures" / "gates"


def test_upload_gate_and_read_the_counts(live_server, page, tmp_path):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    ana = member(lab, username="ana")
    project = ProjectFactory(lab=lab, code="NANO", title="Nano-flow")
    preparation = make_preparation(ana, project, "EVP-NANO1")
    fcs = tmp_path / "EV tube 1.fcs"
    fcs.write_bytes(ev_file(extra=[("$CYT", "CytoFLEX nano")]))

    page.goto(f"{live_server.url}/preparations/{preparation.pk}/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Flow cytometry (FCS)").click()
    page.get_by_label("FCS file").set_input_files(str(fcs))
    expect(page.get_by_label("Preparation")).to_have_value("EVP-NANO1")
    page.locator("#flow-upload").get_by_label("Dilution factor").fill("100")
    page.get_by_role("button", name="Upload and read").click()

    expect(page.locator("#fcs-header")).to_contain_text("CytoFLEX nano")
    expect(page.locator("#fcs-header")).to_contain_text("SSC-H, threshold 100")
    expect(page.locator("#fcs-warnings")).to_contain_text("$CYT is given 2 times")
    page.reload()  # the events are read once the upload is saved
    plot = page.locator("svg.flow-density")
    expect(plot).to_be_visible()

    box = plot.locator("rect").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.95, box["y"] + box["height"] * 0.9, steps=5)
    page.mouse.up()
    expect(page.locator("#id_g0_name")).to_have_value("Gate 1")
    expect(page.locator("#id_g0_x")).to_have_value("SSC-H")
    expect(page.locator("#id_g0_y")).to_have_value("FL1-H")
    assert float(page.locator("#id_g0_x_min").input_value()) > 0

    # The particle gate as a threshold on scatter, CD63 inside it.
    page.locator("#id_g0_name").fill("EVs")
    page.locator("#id_g0_x_min").fill("100")
    page.locator("#id_g0_x_max").fill("")
    page.locator("#id_g0_y").select_option("")
    page.locator("#id_g0_y_min").fill("")
    page.locator("#id_g0_y_max").fill("")
    page.locator("#id_g1_name").fill("CD63+")
    page.locator("#id_g1_x").select_option("FL2-H")
    page.locator("#id_g1_x_min").fill("1000")
    page.locator("#id_g1_marker").fill("CD63")
    page.locator("#id_g1_parent").fill("EVs")
    page.locator("#gate-form").get_by_label("Particle gate").fill("EVs")
    page.get_by_role("button", name="Apply gates").click()

    counts = page.locator("#flow-counts")
    expect(counts).to_contain_text("16,000")
    expect(counts.locator("tr", has_text="CD63+")).to_contain_text("8,000")
    expect(counts.locator("tr", has_text="CD63+")).to_contain_text("50.0 %")
    expect(page.locator("#flow-concentration")).to_contain_text("1.60 × 10⁸ particles/mL")
    expect(plot.locator("text", has_text="EVs")).to_be_visible()


def test_import_gates_and_record_where_the_file_is_shared(live_server, page, tmp_path):
    from evlims.cytometry import services

    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    ana = member(lab, username="ana")
    acquisition = services.acquisition_upload(actor=ana, lab=lab, data=ev_file(), name="ev.fcs", dilution_factor=100)
    page.goto(f"{live_server.url}/flow/acquisitions/{acquisition.pk}/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.locator("#gate-import").get_by_label("Gate file").set_input_files(str(GATES / "ev_gates.gatingml.xml"))
    page.get_by_role("button", name="Import and apply").click()
    counts = page.locator("#flow-counts")
    expect(counts.locator("tr", has_text="CD63+").first).to_contain_text("Imported from ev_gates.gatingml.xml")
    expect(counts.locator("tr", has_text="EVs").first).to_contain_text("16,000")

    sharing = page.locator("#data-sharing")
    sharing.get_by_label("Data repository").fill("FlowRepository")
    sharing.get_by_label("Accession").fill("FR-FCM-Z2ZY")
    sharing.get_by_role("button", name="Save").click()
    expect(page.locator("#shared-in")).to_contain_text("Shared in FlowRepository: FR-FCM-Z2ZY")
