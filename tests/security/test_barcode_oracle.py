"""Barcodes and run codes are unique within a lab, so no answer given in lab B says whether lab A holds one.

Lab A (alpha) and lab B (beta) come from tests/security/world.py. A user of lab B registers lab A's barcodes in
lab B through every door (intake page, API, manifest dry run and commit) and is neither refused nor shown anything
of lab A's. Inside one lab a duplicate is still refused with a clear message on the barcode, also when the
database's per-lab constraint is what catches it (two writers at the same moment): a 400 or a form error, never a
500. Issued aliquot and preparation barcodes and run codes follow the same rule. A person working in both labs
finds a barcode both labs use, and plans runs with it, without a server error.
"""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from evlims.core.models import BarcodeSequence, Membership, Role
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples import selectors, services
from evlims.samples.models import Aliquot, ManifestImport, Sample
from evlims.samples.services import manifests
from tests.factories import LabFactory, ProjectFactory, SampleFactory, member
from tests.security.conftest import body_of

pytestmark = pytest.mark.django_db

API = "/api/v1"
INTAKE = reverse("evlims:sample-create")
RUN_NEW = reverse("evlims:run-new")
TAKEN = "already in use"


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def unseen(world, *shared) -> list[str]:
    """What of ``world``'s lab another lab's user must never see: its names and barcodes, but ``shared``
    (the barcodes that user typed in their own lab)."""
    return [secret for secret in [*world.secrets, world.lab.name] if secret not in shared]


def leaked(content, secrets) -> list[str]:
    text = content.decode() if isinstance(content, bytes) else str(content)
    return [secret for secret in secrets if secret in text]


def number_of(code: str) -> int:
    return int(code.rsplit("-", 1)[1])


def issue_next(prefix: str, code: str) -> None:
    """The sequence of ``prefix`` issues ``code`` next (as after a restore that put it behind the records)."""
    BarcodeSequence.objects.filter(prefix=prefix).update(last_value=number_of(code) - 1)


def tube(world, barcode: str) -> Aliquot:
    """An aliquot of the lab with a barcode of its own (as one moved over from another system)."""
    return Aliquot.objects.create(
        lab=world.lab, sample=world.sample, barcode=barcode, initial_volume_ul=Decimal(100), volume_ul=Decimal(100)
    )


def manifest_of(*barcodes: str) -> bytes:
    rows = ["barcode,biofluid,volume_ml", *(f"{barcode},serum,1.5" for barcode in barcodes)]
    return ("\r\n".join(rows) + "\r\n").encode()


def checked_manifest(world, data: bytes) -> ManifestImport:
    uploaded = manifests.manifest_upload(
        actor=world.staff, project=world.project, uploaded_file=SimpleUploadedFile("shipment.csv", data)
    )
    return manifests.manifest_validate(manifest=uploaded, actor=world.staff)


def blind_first_check(monkeypatch, *, database_only: bool):
    """The service's check before the insert sees nothing (someone of the lab takes the barcode right after it);
    with ``database_only`` the model's own constraint check is skipped too, so the database's per-lab unique
    constraint is what refuses the insert."""
    real, calls = selectors.barcode_holders, []

    def blind_once(lab_id, barcodes):
        calls.append(lab_id)
        return {} if len(calls) == 1 else real(lab_id, barcodes)

    monkeypatch.setattr(selectors, "barcode_holders", blind_once)
    if database_only:
        monkeypatch.setattr(Sample, "validate_constraints", lambda self, exclude=None: None)
    return calls


@pytest.fixture
def both(alpha, beta):
    """A person on the staff of both labs."""
    person = member(alpha.lab, Role.LAB_STAFF, username="both-labs")
    Membership.objects.create(user=person, lab=beta.lab, role=Role.LAB_STAFF)
    return person


# ---------------------------------------------------------------------------------------- samples, by each door


def test_intake_page_registers_another_labs_barcode(alpha, beta, client_for):
    barcode = alpha.sample.barcode
    response = client_for(beta.staff).post(
        INTAKE,
        {"project": beta.project.pk, "biofluid": "blood_plasma", "volume_ml": "3", "barcode": barcode},
        follow=True,
    )
    registered = Sample.objects.get(lab=beta.lab, barcode=barcode)
    assert response.redirect_chain == [(reverse("evlims:sample-detail", args=[registered.pk]), 302)]
    page = response.content.decode()
    assert f"Sample {barcode} registered." in page
    assert TAKEN not in page and not leaked(page, unseen(alpha, barcode))
    assert Sample.objects.get(lab=alpha.lab, barcode=barcode) == alpha.sample


def test_intake_page_refuses_the_labs_own_barcodes(beta, client_for):
    client = client_for(beta.staff)
    own_tube = tube(beta, "BETA-TUBE-7")
    before = Sample.objects.count()
    for barcode, holder in [(beta.sample.barcode, "a sample"), (own_tube.barcode, "an aliquot")]:
        response = client.post(
            INTAKE, {"project": beta.project.pk, "biofluid": "blood_plasma", "volume_ml": "3", "barcode": barcode}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["barcode"] == [
            f"Barcode {barcode} is already in use by {holder} of this lab."
        ]
    assert Sample.objects.count() == before


def test_api_registers_another_labs_barcode_and_refuses_the_labs_own(alpha, beta):
    client = api_for(beta.staff)
    payload = {"project": beta.project.pk, "biofluid": "serum", "volume_ml": "1.000"}

    response = client.post(f"{API}/samples/", payload | {"barcode": alpha.sample.barcode}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["barcode"] == alpha.sample.barcode and response.json()["lab"] == beta.lab.pk
    assert not leaked(response.content, unseen(alpha, alpha.sample.barcode))

    before = Sample.objects.count()
    response = client.post(f"{API}/samples/", payload | {"barcode": beta.sample.barcode}, format="json")
    assert response.status_code == 400
    assert response.json() == {"barcode": [f"Barcode {beta.sample.barcode} is already in use by a sample of this lab."]}
    assert Sample.objects.count() == before


def test_manifest_dry_run_and_commit_take_another_labs_barcodes(alpha, beta, client_for):
    alpha_tube = tube(alpha, "ALPHA-TUBE-1")
    theirs = [alpha.sample.barcode, alpha_tube.barcode]
    manifest = checked_manifest(beta, manifest_of(*theirs, "BETA-NEW-1"))
    # The answer is the one a file of barcodes nobody has gets: no problem at all.
    assert manifest.status == ManifestImport.Status.VALID and manifest.errors == []
    assert checked_manifest(beta, manifest_of("NOBODY-1", "NOBODY-2", "NOBODY-3")).errors == []

    page = client_for(beta.staff).get(reverse("evlims:import-detail", args=[manifest.pk]))
    assert page.status_code == 200
    assert TAKEN not in page.content.decode() and not leaked(page.content, unseen(alpha, *theirs))

    # Lab A registering one of the file's barcodes between the dry run and the commit changes nothing for lab B.
    services.sample_register(
        actor=alpha.staff, project=alpha.project, barcode="BETA-NEW-1", biofluid="serum", volume_ml=Decimal(1)
    )
    manifest = manifests.manifest_commit(manifest=manifest, actor=beta.staff)
    assert manifest.status == ManifestImport.Status.COMMITTED, manifest.errors
    assert sorted(Sample.objects.filter(lab=beta.lab, barcode__in=[*theirs, "BETA-NEW-1"]).values_list("barcode")) == [
        (code,) for code in sorted([*theirs, "BETA-NEW-1"])
    ]
    assert Sample.objects.get(lab=alpha.lab, barcode=alpha.sample.barcode) == alpha.sample


def test_manifest_refuses_the_labs_own_barcodes_on_their_rows(beta):
    own_tube = tube(beta, "BETA-TUBE-9")
    manifest = checked_manifest(beta, manifest_of("BETA-FRESH-1", beta.sample.barcode, own_tube.barcode))
    assert manifest.status == ManifestImport.Status.INVALID
    assert [(p["row"], p["column"], p["message"]) for p in manifest.errors] == [
        (3, "barcode", f"Barcode {beta.sample.barcode} is already in use by a sample of this lab."),
        (4, "barcode", f"Barcode {own_tube.barcode} is already in use by an aliquot of this lab."),
    ]


@pytest.mark.parametrize("database_only", [False, True], ids=["model-check", "database-constraint"])
def test_a_duplicate_taken_between_check_and_insert_is_a_400_on_the_barcode(beta, monkeypatch, database_only):
    calls = blind_first_check(monkeypatch, database_only=database_only)
    before = Sample.objects.count()
    response = api_for(beta.staff).post(
        f"{API}/samples/",
        {"project": beta.project.pk, "biofluid": "serum", "volume_ml": "1.000", "barcode": beta.sample.barcode},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"barcode": [f"Barcode {beta.sample.barcode} is already in use by a sample of this lab."]}
    assert len(calls) == 2 and Sample.objects.count() == before


@pytest.mark.parametrize("database_only", [False, True], ids=["model-check", "database-constraint"])
def test_a_duplicate_taken_between_check_and_insert_is_a_form_error(beta, client_for, monkeypatch, database_only):
    blind_first_check(monkeypatch, database_only=database_only)
    response = client_for(beta.staff).post(
        INTAKE, {"project": beta.project.pk, "biofluid": "serum", "volume_ml": "1", "barcode": beta.sample.barcode}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["barcode"] == [
        f"Barcode {beta.sample.barcode} is already in use by a sample of this lab."
    ]


# ------------------------------------------------------------------- issued barcodes: aliquots, preparations, runs


def test_an_issued_aliquot_barcode_another_lab_has_is_fine_the_labs_own_is_a_400(alpha, beta):
    client = api_for(beta.staff)
    url = f"{API}/samples/{beta.sample.pk}/aliquots/"

    issue_next("EVA", alpha.aliquot.barcode)
    response = client.post(url, {"volumes_ul": ["100.0"]}, format="json")
    assert response.status_code == 201, response.json()
    [created] = response.json()
    assert created["barcode"] == alpha.aliquot.barcode
    assert Aliquot.objects.get(pk=created["id"]).lab_id == beta.lab.pk
    assert not leaked(response.content, unseen(alpha, alpha.aliquot.barcode))

    issue_next("EVA", beta.aliquot.barcode)
    before = Aliquot.objects.count()
    response = client.post(url, {"volumes_ul": ["100.0"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "barcode": [
            f"{beta.aliquot.barcode}, issued to a new aliquot, is already in use by an aliquot of this lab: the "
            "barcode sequence is behind the stored records. Ask an administrator."
        ]
    }
    assert Aliquot.objects.count() == before


def test_issued_run_codes_and_preparation_barcodes_are_unique_per_lab(alpha, beta):
    client = api_for(beta.staff)
    plan = {
        "project": beta.project.pk,
        "protocol_version": beta.protocol_version.pk,
        "inputs": [{"aliquot": beta.aliquot.pk, "volume_ul": "10.0"}],
    }
    alpha_preparation = alpha.run.preparations.order_by("id").first()

    issue_next("RUN", alpha.run.code)
    issue_next("EVP", alpha_preparation.barcode)
    response = client.post(f"{API}/runs/", plan, format="json")
    assert response.status_code == 201, response.json()
    run = IsolationRun.objects.get(pk=response.json()["id"])
    assert (run.lab_id, run.code) == (beta.lab.pk, alpha.run.code)
    assert [p.barcode for p in run.preparations.all()] == [alpha_preparation.barcode]
    assert not leaked(response.content, unseen(alpha, alpha.run.code, alpha_preparation.barcode))

    runs, preparations = IsolationRun.objects.count(), EVPreparation.objects.count()
    issue_next("RUN", beta.run.code)
    response = client.post(f"{API}/runs/", plan, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": [
            f"Run code {beta.run.code}, issued to this run, is already in use in this lab: the sequence is behind "
            "the stored records. Ask an administrator."
        ]
    }

    BarcodeSequence.objects.filter(prefix="RUN").update(last_value=9000)
    issue_next("EVP", beta.preparation.barcode)
    response = client.post(f"{API}/runs/", plan, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "inputs": [
            f"Preparation barcode {beta.preparation.barcode}, issued to this run, is already in use in this lab: "
            "the sequence is behind the stored records. Ask an administrator."
        ]
    }
    assert (IsolationRun.objects.count(), EVPreparation.objects.count()) == (runs, preparations)


# ----------------------------------------------------------------------- one person, the same barcode in two labs


@pytest.fixture
def twins(alpha, beta):
    """The same aliquot barcode in both labs: lab B's tube was issued after a sequence fell behind."""
    issue_next("EVA", alpha.aliquot.barcode)
    [beta_tube] = services.aliquots_create(actor=beta.staff, sample=beta.sample, volumes_ul=[200])
    assert beta_tube.barcode == alpha.aliquot.barcode
    return alpha.aliquot, beta_tube


def test_searches_and_labels_show_both_labs_records(alpha, beta, both, twins, client_for):
    for world in (alpha, beta):
        services.sample_register(
            actor=world.staff, project=world.project, barcode="TWIN-S-1", biofluid="serum", volume_ml=Decimal(1)
        )
    web, api = client_for(both), api_for(both)

    page = web.get(reverse("evlims:sample-list"), {"q": "TWIN-S-1"})
    assert page.status_code == 200
    assert {(s.lab_id, s.barcode) for s in page.context["page"]} == {
        (alpha.lab.pk, "TWIN-S-1"),
        (beta.lab.pk, "TWIN-S-1"),
    }
    listed = api.get(f"{API}/samples/", {"search": "TWIN-S-1"})
    assert listed.status_code == 200 and listed.json()["count"] == 2

    shared = twins[0].barcode
    page = web.get(reverse("evlims:sample-list"), {"q": shared})  # a search by aliquot barcode
    assert page.status_code == 200 and {s.pk for s in page.context["page"]} == {alpha.sample.pk, beta.sample.pk}
    listed = api.get(f"{API}/aliquots/", {"search": shared})
    assert listed.status_code == 200 and {row["id"] for row in listed.json()["results"]} == {t.pk for t in twins}

    sheet = web.get(reverse("evlims:labels"), {"aliquot": [t.pk for t in twins]})
    assert sheet.status_code == 200 and [item["label"].barcode for item in sheet.context["sheet"]] == [shared] * 2
    pdf = web.get(reverse("evlims:labels"), {"aliquot": [t.pk for t in twins], "format": "pdf"})
    assert pdf.status_code == 200 and body_of(pdf).startswith(b"%PDF")


def test_a_scanned_barcode_means_the_projects_labs_aliquot(alpha, beta, both, twins, client_for):
    web = client_for(both)
    for world, twin in zip((alpha, beta), twins, strict=True):
        for typed in (twin.barcode, twin.barcode.lower()):
            response = web.post(
                RUN_NEW,
                {
                    "project": world.project.pk,
                    "protocol_version": world.protocol_version.pk,
                    "barcodes": f"{typed} 10",
                },
            )
            assert response.status_code == 302, response.context["form"].errors
            run = IsolationRun.objects.order_by("-id").first()
            assert run.lab_id == world.lab.pk
            assert [p.input_aliquot_id for p in run.preparations.all()] == [twin.pk]


def test_the_api_plans_with_the_projects_labs_aliquot(alpha, beta, both, twins):
    api = api_for(both)
    for world, twin in zip((alpha, beta), twins, strict=True):
        response = api.post(
            f"{API}/runs/",
            {
                "project": world.project.pk,
                "protocol_version": world.protocol_version.pk,
                "inputs": [{"aliquot": twin.barcode, "volume_ul": "10.0"}],
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        run = IsolationRun.objects.get(pk=response.json()["id"])
        assert run.lab_id == world.lab.pk and [p.input_aliquot_id for p in run.preparations.all()] == [twin.pk]


def test_a_barcode_of_two_other_labs_asks_which_aliquot_is_meant(alpha, beta, both, twins, client_for):
    """The project is in a third lab of the person's; both aliquots with the barcode are elsewhere."""
    gamma = LabFactory(name="GAMMA Lab", slug="gamma-lab")
    Membership.objects.create(user=both, lab=gamma, role=Role.LAB_STAFF)
    project = ProjectFactory(lab=gamma, code="GAMMA-PRJ")
    SampleFactory(project=project, barcode="GAMMA-S-1")
    shared = twins[0].barcode
    runs = IsolationRun.objects.count()

    response = api_for(both).post(
        f"{API}/runs/",
        {
            "project": project.pk,
            "protocol_version": alpha.protocol_version.pk,
            "inputs": [{"aliquot": shared, "volume_ul": "10.0"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "inputs": {
            "0": {
                "aliquot": [
                    f"Aliquots of several of your labs have the barcode {shared} (ALPHA Lab, BETA Lab), none of them "
                    "in GAMMA Lab, the project's lab; give the aliquot's id."
                ]
            }
        }
    }

    response = client_for(both).post(
        RUN_NEW, {"project": project.pk, "protocol_version": alpha.protocol_version.pk, "barcodes": f"{shared} 10"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["barcodes"] == [
        f"Line 1 ({shared}): aliquots of several of your labs have this barcode (ALPHA Lab, BETA Lab); choose the "
        "project of the lab you mean, or tick the aliquot in the list."
    ]
    assert IsolationRun.objects.count() == runs


def test_a_lab_b_user_scanning_lab_as_barcode_finds_only_their_own(alpha, beta, twins, client_for):
    """Lab B's staff see lab B's tube only; lab A's is neither chosen nor mentioned."""
    response = client_for(beta.staff).post(
        RUN_NEW,
        {
            "project": beta.project.pk,
            "protocol_version": beta.protocol_version.pk,
            "barcodes": f"{twins[0].barcode} 10\n{alpha.sample.barcode} 10",
        },
    )
    assert response.status_code == 200
    # The shared barcode is lab B's own tube; lab A's sample barcode names no aliquot of lab B's.
    assert response.context["form"].errors["barcodes"] == [
        f"Line 2 ({alpha.sample.barcode}): no aliquot with this barcode in your labs."
    ]
    assert not leaked(response.content, unseen(alpha, twins[0].barcode, alpha.sample.barcode))
