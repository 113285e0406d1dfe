"""An approved preparation and what it rests on, built through the services: a donor, the source sample and its
aliquots, a completed run with its recorded steps, and a second preparation of the same run; plus an unrelated
donor and sample of the same lab. For the tests of approvals that follow their evidence (services, pages, API)."""

from dataclasses import dataclass
from decimal import Decimal

from evlims.core.models import Role
from evlims.isolation import services as isolation
from evlims.review import services as review_services
from evlims.samples import services as samples
from tests.factories import member

PASSWORD = "correct horse battery"

LAB_PROTOCOL = """
schema_version: 1
slug: lab-sec-approved
version: 1.0.0
title: Lab SEC
status: draft
description: Plasma cleared at 2,500 g, then SEC.
citations: [{text: "Böing et al. 2014", doi: 10.3402/jev.v3.23430, verified: false}]
steps:
  - method: differential_centrifugation
    params: {g_force: 2500, duration_min: 15, temperature_c: 20, fraction_kept: supernatant}
  - method: sec
    params: {resin: Sepharose CL-2B, bed_volume_ml: 10, sample_volume_ml: 1, fraction_volume_ml: 0.5,
             fractions_collected: 20, fractions_pooled: [4, 5, 6], buffer: PBS}
"""


@dataclass
class ApprovedWorld:
    lab: object
    project: object
    staff: object
    verifier: object
    approver: object
    donor: object
    sample: object
    aliquot: object
    run: object
    preparation: object
    review: object
    other_donor: object
    other_sample: object


def approved_world(lab, project, staff) -> ApprovedWorld:
    verifier = member(lab, Role.QA_MANAGER, username="verifier")
    approver = member(lab, Role.QA_MANAGER, username="approver")
    author = member(lab, Role.LAB_STAFF, username="author")
    draft = isolation.protocol_version_save_draft(actor=author, lab=lab, source_text=LAB_PROTOCOL)
    version = isolation.protocol_version_approve(actor=verifier, version=draft)
    donor = samples.donor_create(actor=staff, lab=lab, code="DN-APPROVED", sex="female", age_band="50-59")
    sample = samples.sample_register(
        actor=staff,
        project=project,
        donor=donor,
        biofluid="blood_plasma",
        volume_ml=Decimal("3"),
        anticoagulant="k2_edta",
        processing_delay_min=45,
        aliquot_volumes_ul=[500, 500, 500],
    )
    aliquots = list(sample.aliquots.order_by("id"))
    run = isolation.run_plan(
        actor=staff, project=project, protocol_version=version, inputs=[(aliquots[0], 400), (aliquots[1], 400)]
    )
    run = isolation.run_start(actor=staff, run=run)
    for number in (1, 2):
        isolation.run_record_step(actor=staff, run=run, number=number, observed={})
    run = isolation.run_complete(actor=staff, run=run)
    preparation = run.preparations.order_by("id").first()
    review = review_services.review_submit(
        actor=staff, preparation=preparation, reason="Ready", justification="Accepted as it is for this study."
    )
    review = review_services.review_verify(actor=verifier, review=review, password=PASSWORD, statement="Checked")
    review = review_services.review_approve(actor=approver, review=review, password=PASSWORD, statement="Released")
    other_donor = samples.donor_create(actor=staff, lab=lab, code="DN-OTHER", sex="male", age_band="30-39")
    other_sample = samples.sample_register(
        actor=staff,
        project=project,
        donor=other_donor,
        biofluid="serum",
        volume_ml=Decimal("2"),
        aliquot_volumes_ul=[500],
    )
    return ApprovedWorld(
        lab=lab,
        project=project,
        staff=staff,
        verifier=verifier,
        approver=approver,
        donor=donor,
        sample=sample,
        aliquot=aliquots[0],
        run=run,
        preparation=preparation,
        review=review,
        other_donor=other_donor,
        other_sample=other_sample,
    )
