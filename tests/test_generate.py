"""The bulk generator (evlims_generate) at a tiny size: consistent, linked, deterministic data that the
metric and compliance computations accept, and the same rows whether COPY (PostgreSQL) or INSERTs
(SQLite) write them. The COPY test runs when DATABASE_URL points at PostgreSQL."""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count

from evlims.characterization.models import (
    ImagingResult,
    MarkerResult,
    Measurement,
    ParticleAnalysis,
    ProteinQuantification,
    SizeBin,
)
from evlims.compliance.models import ComplianceEvaluation
from evlims.compliance.services import evaluate_preparations
from evlims.core.models import AuditEvent, Lab, Membership, Project
from evlims.demo import scale
from evlims.demo.scale.writer import Writer
from evlims.instruments.models import Instrument
from evlims.isolation.models import EVPreparation, IsolationRun, RunStep
from evlims.metrics import services as metrics
from evlims.metrics.models import PreparationMetrics
from evlims.samples.models import Aliquot, CustodyEvent, Donor, Sample, StorageUnit

pytestmark = pytest.mark.django_db

TINY = scale.ScaleSize(preparations=40, samples=30, measurements=330, runs=8, histogram_bins=5, seed=7)
ON_POSTGRESQL = "postgresql" in settings.DATABASES["default"]["ENGINE"]
# Every generated table and the path from it to its lab, parents before children.
GENERATED = (
    (Donor, "lab"),
    (Sample, "lab"),
    (StorageUnit, "lab"),
    (Aliquot, "lab"),
    (CustodyEvent, "lab"),
    (IsolationRun, "lab"),
    (RunStep, "run__lab"),
    (EVPreparation, "lab"),
    (Measurement, "lab"),
    (ParticleAnalysis, "measurement__lab"),
    (ProteinQuantification, "measurement__lab"),
    (MarkerResult, "measurement__lab"),
    (ImagingResult, "measurement__lab"),
    (SizeBin, "analysis__measurement__lab"),
)
BARCODE = re.compile(r"\b([A-Z]{3})-(\d+)\b")


def logical_rows(lab) -> dict:
    """Every generated row of a lab with what depends on the database's earlier content taken out: ids
    become positions in their table, barcode numbers count from the lab's first, people are their role,
    projects and instruments their code and name, the lab's name is LAB. Creation timestamps are left
    out (they are the load's time)."""
    positions = {}
    tables = {}
    for model, path in GENERATED:
        rows = list(model.objects.filter(**{path: lab}).order_by("pk").values())
        positions[model] = {row["id"]: index for index, row in enumerate(rows)}
        tables[model] = rows
    users = {
        user.pk: user.username.rsplit(".", 1)[1]
        for user in get_user_model().objects.filter(evlims_memberships__lab=lab)
    }
    named = {
        Project: dict(Project.objects.filter(lab=lab).values_list("pk", "code")),
        Instrument: dict(Instrument.objects.filter(lab=lab).values_list("pk", "name")),
    }
    text = "\n".join(str(row) for rows in tables.values() for row in rows)
    first = {}
    for prefix, number in BARCODE.findall(text):
        first[prefix] = min(first.get(prefix, int(number)), int(number))

    def plain(value):
        if not isinstance(value, str):
            return value
        value = value.replace(lab.name, "LAB")
        return BARCODE.sub(lambda m: f"{m[1]}+{int(m[2]) - first[m[1]]}", value)

    logical = {}
    for model, rows in tables.items():
        fields = {field.attname: field for field in model._meta.concrete_fields}
        out = []
        for row in rows:
            values = {}
            for name, value in row.items():
                field = fields[name]
                target = field.related_model
                if name in ("created_at", "updated_at", "lab_id"):
                    continue
                if field.primary_key:
                    value = positions[model][value]
                elif target is not None and value is not None:
                    if target is get_user_model():
                        value = users[value]
                    elif target in named:
                        value = named[target][value]
                    elif target in positions:
                        value = positions[target][value]
                    # else a shared row (a library protocol version): the same id in every lab
                values[name] = plain(value)
            if model is ParticleAnalysis:  # "<preparation id> d<dilution>"
                prep, dilution = values["sample_name"].split(" ")
                values["sample_name"] = f"{positions[EVPreparation][int(prep)]} {dilution}"
            out.append(values)
        logical[model.__name__] = out
    return logical


@pytest.fixture
def generated():
    (summary,) = scale.generate(TINY)
    return summary


def test_counts_match_the_request(generated):
    lab = generated.lab
    assert Sample.objects.filter(lab=lab).count() == 30
    assert EVPreparation.objects.filter(lab=lab).count() == 40
    assert IsolationRun.objects.filter(lab=lab).count() == 8
    assert Measurement.objects.filter(lab=lab).count() == 330
    assert generated.counts["measurements"] == 330
    statuses = set(IsolationRun.objects.filter(lab=lab).values_list("status", flat=True))
    assert statuses == {"completed", "aborted", "in_progress", "planned"}
    assert set(Membership.objects.filter(lab=lab).values_list("role", flat=True)) == {
        "lab_staff",
        "qa_manager",
        "lab_admin",
        "instrument",
    }


def test_every_preparation_has_a_run_and_its_own_input_aliquot(generated):
    preparations = list(EVPreparation.objects.filter(lab=generated.lab).select_related("run", "input_aliquot__sample"))
    assert all(prep.run.lab_id == generated.lab.pk for prep in preparations)
    assert all(prep.input_aliquot.lab_id == generated.lab.pk for prep in preparations)
    assert len({prep.input_aliquot_id for prep in preparations}) == len(preparations)
    for prep in preparations:
        # A run takes tubes of one project and biofluid, and never more than the tube held.
        assert prep.input_aliquot.sample.project_id == prep.run.project_id
        assert Decimal(0) < prep.input_volume_ul <= prep.input_aliquot.initial_volume_ul
        started = prep.run.status != IsolationRun.Status.PLANNED
        taken = prep.input_aliquot.initial_volume_ul - prep.input_aliquot.volume_ul
        assert taken == (prep.input_volume_ul if started else 0)
        if prep.input_aliquot.status == Aliquot.Status.CONSUMED:
            assert prep.input_aliquot.volume_ul == 0 and prep.input_aliquot.box_id is None
        measured = prep.measurements.exists()
        assert not measured or prep.run.status == IsolationRun.Status.COMPLETED


def test_runs_record_their_protocol_steps_and_tubes_their_custody(generated):
    for run in IsolationRun.objects.filter(lab=generated.lab).select_related("protocol_version"):
        recorded = RunStep.objects.filter(run=run).count()
        expected = len(run.protocol_version.steps)
        if run.status == IsolationRun.Status.COMPLETED:
            assert recorded == expected
        elif run.status == IsolationRun.Status.PLANNED:
            assert recorded == 0
    aliquots = Aliquot.objects.filter(lab=generated.lab)
    received = CustodyEvent.objects.filter(lab=generated.lab, kind="received")
    assert received.count() == aliquots.count()
    consumed = CustodyEvent.objects.filter(lab=generated.lab, kind="consumed").count()
    assert consumed == EVPreparation.objects.filter(lab=generated.lab).exclude(run__status="planned").count()


def test_particle_measurements_carry_linked_histograms(generated):
    analyses = ParticleAnalysis.objects.filter(measurement__lab=generated.lab).annotate(n=Count("bins"))
    assert analyses.exists()
    assert {analysis.n for analysis in analyses} == {TINY.histogram_bins}
    assert SizeBin.objects.filter(analysis__measurement__lab=generated.lab).count() == TINY.histogram_bins * len(
        analyses
    )
    kinds = set(Measurement.objects.filter(lab=generated.lab).values_list("kind", flat=True))
    assert {"particle", "protein", "marker"} <= kinds
    for measurement in Measurement.objects.filter(lab=generated.lab, kind="particle").select_related("particle"):
        assert measurement.values["particles_per_ml"] == measurement.particle.concentration_per_ml


def test_metrics_and_compliance_run_on_generated_data(generated):
    ids = list(EVPreparation.objects.filter(lab=generated.lab).values_list("pk", flat=True))
    assert metrics.recompute(ids) == len(ids)
    measured = EVPreparation.objects.filter(lab=generated.lab, run__status="completed")
    figures = PreparationMetrics.objects.filter(preparation__in=measured)
    with_both = [m for m in figures if m.provenance.get("particles_per_ug")]
    assert with_both and all(m.particles_per_ug > 0 and m.purity_class for m in with_both)
    # Only what a completed run produced is evaluated (docs/runs.md); the others have no evaluation.
    produced = set(measured.values_list("pk", flat=True))
    assert 0 < len(produced) < len(ids)
    assert evaluate_preparations(ids) == len(produced)
    assert (
        set(ComplianceEvaluation.objects.filter(preparation_id__in=ids).values_list("preparation_id", flat=True))
        == produced
    )


def test_one_summary_audit_event_per_lab(generated):
    events = AuditEvent.objects.filter(lab=generated.lab)
    assert list(events.values_list("action", flat=True)) == ["scale.generate"]
    assert events.get().changes["preparations"] == 40


def test_same_seed_same_rows_in_a_new_lab():
    first, second = scale.generate(TINY)[0], scale.generate(TINY)[0]
    assert first.lab.slug != second.lab.slug
    rows = logical_rows(first.lab)
    assert rows == logical_rows(second.lab)
    assert {name: len(table) for name, table in rows.items()}["Measurement"] == 330
    assert first.counts == second.counts
    other = scale.generate(scale.ScaleSize(**{**TINY.__dict__, "seed": 8}))[0]
    assert logical_rows(other.lab)["Measurement"] != rows["Measurement"]


@pytest.mark.skipif(not ON_POSTGRESQL, reason="COPY needs PostgreSQL (DATABASE_URL)")
def test_copy_writes_the_rows_the_insert_path_writes():
    """The PostgreSQL path (COPY) against the SQLite one (executemany INSERTs), both on PostgreSQL."""
    copied = scale.generate(TINY, method="copy")[0]
    inserted = scale.generate(TINY, method="insert")[0]
    assert copied.counts == inserted.counts
    assert logical_rows(copied.lab) == logical_rows(inserted.lab)
    assert AuditEvent.objects.get(lab=copied.lab).changes == AuditEvent.objects.get(lab=inserted.lab).changes


def test_default_method_follows_the_database():
    assert Writer().method == ("copy" if ON_POSTGRESQL else "insert")
    if not ON_POSTGRESQL:
        with pytest.raises(ValueError, match="COPY needs PostgreSQL"):
            Writer("copy")
    with pytest.raises(ValueError, match="unknown write method"):
        Writer("bulk")


@pytest.mark.parametrize("method", ["copy", "insert"] if ON_POSTGRESQL else ["insert"])
def test_writer_fills_defaults_and_returns_the_new_ids(method):
    lab = Lab.objects.create(name="Writer lab", slug="writer-lab")
    writer = Writer(method)
    ids = writer.write(Donor, ("lab_id", "code", "sex"), [(lab.pk, "D-1", "female"), (lab.pk, "D-2", "male")])
    donors = list(Donor.objects.filter(lab=lab).order_by("pk"))
    assert [donor.pk for donor in donors] == ids and ids[0] < ids[1]
    assert [(d.code, d.sex, d.consent_status, d.version) for d in donors] == [
        ("D-1", "female", Donor.Consent.PENDING, 1),
        ("D-2", "male", Donor.Consent.PENDING, 1),
    ]
    assert all(donor.created_at == donor.updated_at == writer.now for donor in donors)
    # Ids are reserved from the table's own sequence: the ORM goes on after them.
    assert Donor.objects.create(lab=lab, code="D-3").pk > ids[1]
    with pytest.raises(ValueError, match="no column"):
        writer.write(Donor, ("lab_id", "nickname"), [(lab.pk, "x")])


def test_command_splits_the_counts_over_labs():
    out = StringIO()
    call_command(
        "evlims_generate",
        "--preparations",
        "20",
        "--samples",
        "16",
        "--measurements",
        "60",
        "--runs",
        "4",
        "--labs",
        "2",
        "--histogram-bins",
        "4",
        stdout=out,
    )
    text = out.getvalue()
    assert text.count("Generated Lab") == 2 and "Generated " in text.splitlines()[-1]
    assert EVPreparation.objects.count() == 20 and Sample.objects.count() == 16
    assert Measurement.objects.count() == 60


def test_bench_reuse_finds_a_loaded_lab_of_the_same_size():
    """bench/run.py --reuse measures a lab loaded earlier when its sizes and seed match, and only then."""
    from tests.bench_scripts import load_bench

    bench = load_bench("run")
    size = scale.ScaleSize.from_preparations(20, seed=5, histogram_bins=4)
    assert bench.loaded_lab(size) is None
    (loaded,) = scale.generate(size)
    found = bench.loaded_lab(size)
    assert found.lab == loaded.lab and found.counts == loaded.counts
    assert {key: user.pk for key, user in found.users.items()} == {key: user.pk for key, user in loaded.users.items()}
    assert bench.loaded_lab(scale.ScaleSize.from_preparations(20, seed=6, histogram_bins=4)) is None
    assert bench.loaded_lab(scale.ScaleSize.from_preparations(21, seed=5, histogram_bins=4)) is None
