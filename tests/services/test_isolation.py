from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.core.models import AuditEvent, Role
from evlims.isolation import services
from evlims.isolation.models import IsolationRun, ProtocolVersion
from evlims.samples.models import Aliquot
from evlims.samples.services import sample_register
from tests.factories import member

LAB_PROTOCOL = """
schema_version: 1
slug: lab-sec
version: 1.0.0
title: Lab SEC
status: draft
description: Plasma cleared at 2,500 g, then home-made CL-2B SEC.
citations: [{text: "Böing et al. 2014", doi: 10.3402/jev.v3.23430, verified: false}]
steps:
  - method: differential_centrifugation
    params: {g_force: 2500, duration_min: 15, temperature_c: 20, fraction_kept: supernatant}
    tolerances: {g_force: {rel: 0.1}, duration_min: {abs: 2}}
  - method: sec
    params: {resin: Sepharose CL-2B, bed_volume_ml: 10, sample_volume_ml: 1, fraction_volume_ml: 0.5,
             fractions_collected: 20, fractions_pooled: [4, 5, 6], buffer: PBS}
"""


@pytest.fixture
def library(db):
    services.library_load()
    return ProtocolVersion.objects.filter(from_library=True)


@pytest.fixture
def aliquots(staff, project):
    sample = sample_register(
        actor=staff,
        project=project,
        biofluid="blood_plasma",
        volume_ml=Decimal("3"),
        aliquot_volumes_ul=[1000, 1000, 1000],
    )
    return list(sample.aliquots.order_by("id"))


@pytest.fixture
def approved_lab_version(lab, staff, qa_manager):
    draft = services.protocol_version_save_draft(actor=staff, lab=lab, source_text=LAB_PROTOCOL)
    return services.protocol_version_approve(actor=qa_manager, version=draft)


def test_library_load_is_idempotent(library):
    first = library.count()
    assert first >= 9
    assert services.library_load() == {"created": 0, "unchanged": first, "drafts_updated": 0}
    assert all(v.status == ProtocolVersion.Status.APPROVED for v in library if v.definition.get("status") == "released")


def test_library_load_refuses_changed_released_version(library):
    version = library.filter(status=ProtocolVersion.Status.APPROVED).first()
    ProtocolVersion.objects.filter(pk=version.pk).update(content_hash="0" * 64)
    with pytest.raises(ValidationError, match="immutable"):
        services.library_load()


def test_invalid_yaml_names_line(lab, staff):
    with pytest.raises(ValidationError, match="line 2"):
        services.protocol_version_save_draft(actor=staff, lab=lab, source_text="slug: x\n  bad: [")


def test_invalid_parameter_names_step_and_field(lab, staff):
    text = LAB_PROTOCOL.replace("duration_min: 15", "duration_min: -15")
    with pytest.raises(ValidationError) as caught:
        services.protocol_version_save_draft(actor=staff, lab=lab, source_text=text)
    assert "steps[1].duration_min" in caught.value.message_dict


def test_no_self_approval_and_approved_is_frozen(lab, staff):
    admin = member(lab, Role.LAB_ADMIN, username="admin")
    draft = services.protocol_version_save_draft(actor=admin, lab=lab, source_text=LAB_PROTOCOL)
    with pytest.raises(ValidationError, match="another QA manager"):
        services.protocol_version_approve(actor=admin, version=draft)
    with pytest.raises(PermissionDenied):
        services.protocol_version_approve(actor=staff, version=draft)
    qa = member(lab, Role.QA_MANAGER, username="qa2")
    services.protocol_version_approve(actor=qa, version=draft)
    with pytest.raises(ValidationError, match="new version"):
        services.protocol_version_save_draft(actor=staff, lab=lab, source_text=LAB_PROTOCOL.replace("PBS", "HEPES"))


def test_run_lifecycle_consumes_volumes_and_computes_deviations(staff, project, aliquots, approved_lab_version):
    run = services.run_plan(
        actor=staff,
        project=project,
        protocol_version=approved_lab_version,
        inputs=[(aliquots[0], 500), (aliquots[1], 500), (aliquots[2], 1000)],
    )
    assert run.status == IsolationRun.Status.PLANNED and run.preparations.count() == 3
    assert run.method == "sec", "a run is known by its separation step, not its pre-clearing spin"
    assert Aliquot.objects.get(pk=aliquots[0].pk).volume_ul == 1000  # nothing consumed before the start
    services.run_start(actor=staff, run=run)
    assert Aliquot.objects.get(pk=aliquots[0].pk).volume_ul == 500
    assert Aliquot.objects.get(pk=aliquots[2].pk).status == Aliquot.Status.CONSUMED
    step = services.run_record_step(
        actor=staff,
        run=run,
        number=1,
        observed={"g_force": "3000 x g", "duration_min": "16 min", "temperature_c": 20, "fraction_kept": "supernatant"},
    )
    assert [d["field"] for d in step.deviations] == ["g_force"]
    assert step.observed_original["g_force"] == "3000 x g"
    services.run_record_step(
        actor=staff,
        run=run,
        number=2,
        observed={
            "resin": "Sepharose CL-2B",
            "bed_volume_ml": 10,
            "sample_volume_ml": 1,
            "fraction_volume_ml": 0.5,
            "fractions_collected": 20,
            "fractions_pooled": [4, 5, 6],
            "buffer": "PBS",
        },
    )
    prep = run.preparations.first()
    services.run_complete(actor=staff, run=run, outputs={prep.pk: {"final_volume_ul": 1500, "buffer": "PBS"}})
    run.refresh_from_db()
    prep.refresh_from_db()
    assert run.status == IsolationRun.Status.COMPLETED and prep.final_volume_ul == 1500
    assert AuditEvent.objects.filter(action__startswith="run.").count() == 5


def test_illegal_transitions(staff, project, aliquots, approved_lab_version):
    run = services.run_plan(
        actor=staff, project=project, protocol_version=approved_lab_version, inputs=[(aliquots[0], 100)]
    )
    with pytest.raises(ValidationError, match="planned run cannot become completed"):
        services.run_complete(actor=staff, run=run)
    with pytest.raises(ValidationError, match="in progress"):
        services.run_record_step(actor=staff, run=run, number=1, observed={})
    services.run_start(actor=staff, run=run)
    with pytest.raises(ValidationError, match="Record step"):
        services.run_complete(actor=staff, run=run)
    with pytest.raises(ValidationError, match="why"):
        services.run_abort(actor=staff, run=run, reason=" ")
    services.run_abort(actor=staff, run=run, reason="Column cracked")
    with pytest.raises(ValidationError, match="aborted run cannot become in progress"):
        services.run_start(actor=staff, run=run)


def test_aliquot_cannot_feed_two_runs_beyond_its_volume(staff, project, aliquots, approved_lab_version):
    first = services.run_plan(
        actor=staff, project=project, protocol_version=approved_lab_version, inputs=[(aliquots[0], 800)]
    )
    second = services.run_plan(
        actor=staff, project=project, protocol_version=approved_lab_version, inputs=[(aliquots[0], 800)]
    )
    services.run_start(actor=staff, run=first)
    with pytest.raises(ValidationError, match="holds 200"):
        services.run_start(actor=staff, run=second)
    second.refresh_from_db()
    assert second.status == IsolationRun.Status.PLANNED
    assert Aliquot.objects.get(pk=aliquots[0].pk).volume_ul == 200


def test_plan_refuses_bad_inputs(staff, project, aliquots, approved_lab_version, other_lab):
    plan = dict(actor=staff, project=project, protocol_version=approved_lab_version)
    with pytest.raises(ValidationError, match="listed twice"):
        services.run_plan(**plan, inputs=[(aliquots[0], 10), (aliquots[0], 10)])
    with pytest.raises(ValidationError, match="more than 0"):
        services.run_plan(**plan, inputs=[(aliquots[0], 0)])
    with pytest.raises(ValidationError, match="holds 1000"):
        services.run_plan(**plan, inputs=[(aliquots[0], 5000)])
    assert not IsolationRun.objects.exists()


def test_draft_protocols_cannot_run(staff, lab, project, aliquots):
    draft = services.protocol_version_save_draft(actor=staff, lab=lab, source_text=LAB_PROTOCOL)
    with pytest.raises(ValidationError, match="approved"):
        services.run_plan(actor=staff, project=project, protocol_version=draft, inputs=[(aliquots[0], 10)])


def test_step_errors_name_the_recorded_step(staff, project, aliquots, approved_lab_version):
    run = services.run_plan(
        actor=staff, project=project, protocol_version=approved_lab_version, inputs=[(aliquots[0], 100)]
    )
    services.run_start(actor=staff, run=run)
    with pytest.raises(ValidationError) as caught:
        services.run_record_step(actor=staff, run=run, number=2, observed={"bed_volume_ml": -10})
    assert any(key.startswith("steps[2].") for key in caught.value.message_dict)
