"""Every list page and list API endpoint answers in the same number of queries with 2 or 12 rows of
everything, on page 1 and on a page reached by keyset cursor. The routes come from the URL resolver: a new
``*-list`` route without an entry here fails."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from evlims.characterization.services import record_results
from evlims.core.models import Role
from evlims.cytometry import services as flow_services
from evlims.instruments import services as instrument_services
from evlims.interlab import services as interlab
from evlims.isolation import services as isolation_services
from evlims.metrics import services as metric_services
from evlims.metrics.services import controls
from evlims.review.services import review_submit
from evlims.samples import services as sample_services
from evlims.samples.services import manifests
from evlims.standards import services as standards
from tests.cytometry.ev_files import ev_file
from tests.factories import DonorFactory, ProjectFactory, member, storage_box
from tests.plate_layout_world import small_wells
from tests.run_states import completed

pytestmark = pytest.mark.django_db

SMALL, LARGE = 2, 12

# Pages that list records without the "-list" suffix in their name.
LIST_PAGES = {"evlims:home", "evlims:qa-queue", "evlims:dashboard", "evlims:dashboard-comparison"}
# Role that reads each route (staff unless named); the QA queue is for reviewers.
READERS = {
    "evlims:qa-queue": "qa",
    # A person's own notifications: the QA manager is told of every review submitted.
    "evlims:notification-list": "qa",
    "evlims:api:notification-list": "qa",
}
# Query strings that exercise each list's filters too.
FILTERS = {
    "evlims:sample-list": ["", "?q=EXT&biofluid=blood_plasma", "?flag=any&sort=barcode", "?flag=none&sort=-collected"],
    "evlims:donor-list": ["", "?q=D", "?sort=-code"],
    "evlims:preparation-list": ["", "?biofluid=blood_plasma&method=sec", "?q=EV&sort=barcode", "?q=RUN&sort=-barcode"],
    "evlims:run-list": ["", "?q=count&sort=code", "?q=staff&sort=-started", "?sort=planned"],
    "evlims:ingestion-list": ["", "?sort=received", "?status=committed&sort=-received"],
    "evlims:import-list": ["", "?sort=uploaded"],
    "evlims:box-list": ["", "?sort=-box"],
    "evlims:api:measurement-list": ["", "?kind=particle", "?status=all"],
}

PROTOCOL = """
schema_version: 1
slug: count-sec-{n}
version: 1.0.0
title: Count SEC {n}
status: draft
description: SEC for the query-count world.
citations: [{{text: "Böing et al. 2014", doi: 10.3402/jev.v3.23430, verified: false}}]
steps:
  - method: sec
    params: {{resin: Sepharose CL-2B, bed_volume_ml: 10, sample_volume_ml: 1, fraction_volume_ml: 0.5,
             fractions_collected: 20, fractions_pooled: [4, 5, 6], buffer: PBS}}
"""
MANIFEST = "barcode,biofluid,volume_ml\r\nMAN-{n}-1,serum,2\r\n"


def list_routes() -> set[str]:
    """Names (with namespaces) of every route named ``*-list``, from the resolver."""
    found = set()

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name and pattern.name.endswith("-list"):
                found.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns, "")
    return {name for name in found if name.startswith("evlims:")}


class World:
    def __init__(self, lab, staff, qa, admin):
        self.lab, self.staff, self.qa, self.admin = lab, staff, qa, admin
        self.grown = 0

    def grow(self, count):
        """``count`` more of every kind: projects, donors, boxes, samples with aliquots and custody, lab
        protocols, runs, preparations with particle, protein and marker results, instruments and their
        ingestions, metrics, reviews, control materials, manifests, metric jobs and plate layouts."""
        for _ in range(count):
            self.grown += 1
            n = self.grown
            project = ProjectFactory(lab=self.lab)
            donor = DonorFactory(lab=self.lab, project=project)
            box = storage_box(self.lab, name=f"Count box {n}")
            sample = sample_services.sample_register(
                actor=self.staff,
                project=project,
                donor=donor,
                biofluid="blood_plasma",
                volume_ml=Decimal("4"),
                external_id=f"EXT-{n}",
                aliquot_volumes_ul=[500, 500],
                box=box,
            )
            first, second = sample.aliquots.order_by("id")
            sample_services.aliquot_split(actor=self.staff, aliquot=second, volumes_ul=[50])
            sample_services.aliquot_thaw(actor=self.staff, aliquot=first)
            draft = isolation_services.protocol_version_save_draft(
                actor=self.staff, lab=self.lab, source_text=PROTOCOL.format(n=n)
            )
            version = isolation_services.protocol_version_approve(actor=self.qa, version=draft)
            run = isolation_services.run_plan(
                actor=self.staff, project=project, protocol_version=version, inputs=[(first, 100)]
            )
            prep = completed(run).preparations.get()
            instrument = instrument_services.instrument_register(
                actor=self.admin, lab=self.lab, name=f"NTA {n}", kind="nta"
            )
            instrument_services.results_ingest(
                actor=None, instrument=instrument, lab=self.lab, documents=[_particle(prep.barcode)]
            )
            record_results(actor=self.staff, lab=self.lab, documents=[_protein(prep.barcode), _marker(prep.barcode)])
            metric_services.recompute([prep.pk])
            review_submit(
                actor=self.staff,
                preparation=prep,
                reason=f"Batch {n}",
                justification="Accepted as it is for this study.",
            )
            controls.control_material_create(
                actor=self.admin, lab=self.lab, name=f"Reference EV {n}", sample_barcodes=[sample.barcode]
            )
            upload = SimpleUploadedFile(f"manifest-{n}.csv", MANIFEST.format(n=n).encode(), "text/csv")
            manifests.manifest_upload(actor=self.staff, project=project, uploaded_file=upload)
            metric_services.job_create(lab=self.lab, full=True)
            instrument_services.plate_layout_create(
                actor=self.staff, lab=self.lab, name=f"BCA layout {n}", wells=small_wells()
            )
            lot = standards.reference_lot_create(
                actor=self.staff,
                lab=self.lab,
                material="rEV",
                lot_number=f"LOT-{n}",
                readout="fluorescent_nta",
                assigned_value=1e10,
                assigned_uncertainty=1e9,
                unit="particles/mL",
            )
            spike = standards.spike_record(actor=self.staff, lot=lot, run=run, amount=10, amount_unit="µL")
            standards.tracer_readout_record(
                actor=self.staff, spike=spike, preparation=prep, value=4e7, unit="particles"
            )
            standards.dilution_series_record(
                actor=self.staff,
                preparation=prep,
                technique="nta",
                points=[{"dilution_factor": 100, "readings": [4e8]}, {"dilution_factor": 200, "readings": [2e8]}],
            )
            self._comparison_and_flow(n, prep, sample)

    def _comparison_and_flow(self, n, prep, sample):
        """A comparison scheme with a round sending one item to the lab itself, and an FCS file of the
        preparation."""
        scheme = interlab.scheme_create(
            actor=self.staff, lab=self.lab, code=f"PT-{n}", name=f"Count scheme {n}", quantity="particles_per_ml"
        )
        round_ = interlab.round_create(
            actor=self.staff, scheme=scheme, code=f"R{n}", material="Pooled plasma EVs", sigma_pt=1e9
        )
        participant = interlab.participant_enrol(actor=self.staff, round=round_, lab=self.lab)
        interlab.item_add(actor=self.staff, participant=participant)
        flow_services.calibration_create(
            actor=self.staff,
            lab=self.lab,
            name=f"FL1 MESF {n}",
            kind="fluorescence",
            channel="FL1-H",
            units="MESF",
            beads="Spherotech RCP-30-5A",
            calibrated_on=datetime.date(2026, 12, 1),
            measured=[20, 50, 500, 5000],
            assigned=[0, 500, 5000, 50000],
        )
        flow_services.acquisition_upload(
            actor=self.staff, lab=self.lab, data=ev_file(), name=f"ev-{n}.fcs", preparation=prep, dilution_factor=10
        )


def _particle(barcode):
    return {
        "kind": "particle",
        "method": "nta",
        "preparation": barcode,
        "particle": {
            "technique": "nta",
            "concentration_per_ml": 4.3e10,
            "size_mode_nm": 95.0,
            "d50_nm": 110.0,
            "histogram": {"bin_center_nm": [75.0, 125.0, 175.0], "concentration_per_ml": [1e10, 2e10, 1e10]},
        },
    }


def _protein(barcode):
    return {
        "kind": "protein",
        "method": "bca",
        "preparation": barcode,
        "protein": {"assay": "micro_bca", "concentration_ug_per_ml": 40.0},
    }


def _marker(barcode):
    return {
        "kind": "marker",
        "method": "western_blot",
        "preparation": barcode,
        "marker": {"protein": "CD63", "detected": True},
    }


ROUTES = sorted(list_routes() | LIST_PAGES)


def _urls(name):
    return [reverse(name) + query for query in FILTERS.get(name, [""])]


def _is_api(response) -> bool:
    return response["Content-Type"].startswith("application/json")


def _keyset_url(client, url) -> str | None:
    """The second page of the list reached by cursor (one row per page), or None for a page without one."""
    with override_settings(EVLIMS={"PAGE_SIZE": 1}):
        if url.startswith("/api/"):
            following = client.get(url + ("&" if "?" in url else "?") + "cursor=").json()["next"]
            return following and following.replace("http://testserver", "")
        page = client.get(url).context.get("page")
    cursor = getattr(page, "next_cursor", "")
    return cursor and url + ("&" if "?" in url else "?") + f"after={cursor}"


def _measure(clients, name) -> list[tuple[int, int | None]]:
    """(queries, rows reported) for each URL of the route, then (queries, None) for its cursor pages."""
    client = clients[READERS.get(name, "staff")]
    measured = []
    for url in _urls(name):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        measured.append((len(queries), response.json().get("count") if _is_api(response) else None))
    for url in filter(None, (_keyset_url(client, url) for url in _urls(name))):
        with override_settings(EVLIMS={"PAGE_SIZE": 1}), CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        assert len(response.json()["results"] if _is_api(response) else response.context["page"]) == 1, url
        measured.append((len(queries), None))
    return measured


def test_every_list_route_is_measured():
    """The resolver's list routes are exactly what this module covers (a new list must be added here)."""
    assert list_routes(), "no list routes found: the resolver walk is broken"
    assert set(ROUTES) >= list_routes()
    for name in ROUTES:
        reverse(name)


def test_list_query_counts_do_not_grow(lab, staff, qa_manager):
    admin = member(lab, Role.LAB_ADMIN, username="admin")
    world = World(lab, staff, qa_manager, admin)
    clients = {}
    for role, user in (("staff", staff), ("qa", qa_manager)):
        clients[role] = APIClient()
        clients[role].force_login(user)
    world.grow(SMALL)
    for name in ROUTES:  # first requests fill per-process caches (rule sets, vocabularies)
        _measure(clients, name)
    small = {name: _measure(clients, name) for name in ROUTES}
    world.grow(LARGE - SMALL)
    large = {name: _measure(clients, name) for name in ROUTES}

    grew = [name for name in ROUTES if any(s[1] is not None for s in small[name])]
    assert grew, "no API list reported a row count"
    for name in grew:
        for (_, few), (_, many) in zip(small[name], large[name], strict=True):
            if few is None:  # a cursor page: no count by design
                continue
            assert many > few, f"{name}: the larger world shows no more rows ({few} → {many})"
    # Every list of rows also answers by cursor, in as many queries whatever the depth and the data.
    keyset_routes = {name for name in ROUTES if len(small[name]) > len(_urls(name))}
    assert keyset_routes >= {
        "evlims:sample-list",
        "evlims:donor-list",
        "evlims:preparation-list",
        "evlims:run-list",
        "evlims:qa-queue",
        "evlims:ingestion-list",
        "evlims:api:sample-list",
        "evlims:api:preparation-list",
        "evlims:api:run-list",
        "evlims:api:aliquot-list",
        "evlims:api:measurement-list",
    }, keyset_routes
    differences = {
        name: ([q for q, _ in small[name]], [q for q, _ in large[name]])
        for name in ROUTES
        if [q for q, _ in small[name]] != [q for q, _ in large[name]]
    }
    assert differences == {}, f"query counts grew with the data (route: small, large): {differences}"
