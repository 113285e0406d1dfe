"""The world the ingestion benchmarks post to (bench_ingest.py in process, bench_http.py over HTTP): a lab with
its people, one sample split into aliquots, an approved SEC protocol, a completed run of PREPARATIONS
preparations, and an NTA instrument with a results:write key. Needs Django set up and migrated."""

from django.contrib.auth import get_user_model

from evlims.core.models import Lab, Membership, Project, Role
from evlims.instruments import services as instrument_services
from evlims.isolation import services as isolation_services
from evlims.samples.services import sample_register
from tests.run_states import completed

PROTOCOL = """
schema_version: 1
slug: bench-sec
version: 1.0.0
title: Bench SEC
status: draft
description: SEC for the ingestion benchmark.
citations: [{text: "Böing et al. 2014", doi: 10.3402/jev.v3.23430, verified: false}]
steps:
  - method: sec
    params: {resin: Sepharose CL-2B, bed_volume_ml: 10, sample_volume_ml: 1, fraction_volume_ml: 0.5,
             fractions_collected: 20, fractions_pooled: [4, 5, 6], buffer: PBS}
"""
PREPARATIONS = 20


def setup_world():
    lab = Lab.objects.create(name="Bench lab", slug="bench-lab")
    project = Project.objects.create(lab=lab, code="BENCH", title="Ingestion benchmark")
    users = get_user_model().objects
    staff = users.create_user("bench-staff", password="bench-password-1")
    qa = users.create_user("bench-qa", password="bench-password-1")
    admin = users.create_user("bench-admin", password="bench-password-1")
    for user, role in ((staff, Role.LAB_STAFF), (qa, Role.QA_MANAGER), (admin, Role.LAB_ADMIN)):
        Membership.objects.create(user=user, lab=lab, role=role)
    sample = sample_register(
        actor=staff, project=project, biofluid="blood_plasma", volume_ml=4, aliquot_volumes_ul=[100] * PREPARATIONS
    )
    draft = isolation_services.protocol_version_save_draft(actor=staff, lab=lab, source_text=PROTOCOL)
    version = isolation_services.protocol_version_approve(actor=qa, version=draft)
    run = isolation_services.run_plan(
        actor=staff,
        project=project,
        protocol_version=version,
        inputs=[(aliquot, 50) for aliquot in sample.aliquots.order_by("id")],
    )
    completed(run)  # results are accepted only for the preparations of a completed run
    preparations = list(run.preparations.order_by("barcode"))
    instrument = instrument_services.instrument_register(actor=admin, lab=lab, name="Bench NTA", kind="nta")
    _, raw_key = instrument_services.api_key_issue(actor=admin, instrument=instrument, scopes=["results:write"])
    return lab, preparations, instrument, raw_key


def documents(preparations, n):
    return [
        {
            "kind": "protein",
            "method": "bca",
            "preparation": preparations[i % len(preparations)].barcode,
            "protein": {"assay": "micro_bca", "concentration_ug_per_ml": 10.0 + i % 97},
        }
        for i in range(n)
    ]
