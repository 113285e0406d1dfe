"""The demo loader: right amounts, the variety the pages need, an intact audit trail, and idempotence."""

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from evlims.characterization.models import Measurement
from evlims.core.models import AuditEvent, Lab, Membership, Role
from evlims.demo import people
from evlims.demo.builder import split
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples.models import Aliquot, CustodyEvent, Donor, ManifestImport, Sample, StorageUnit
from evlims.samples.quality import quality_flags
from evlims.tasks import audit_trail_problems

SMALL = {"donors": 30, "samples": 160, "force": True}


def load(**options) -> str:
    out = StringIO()
    call_command("evlims_demo", stdout=out, **(SMALL | options))
    return out.getvalue()


def fingerprint() -> list[tuple]:
    return list(
        Sample.objects.order_by("barcode").values_list(
            "barcode", "biofluid", "volume_ml", "processing_delay_min", "hemolysis_a414", "collected_at"
        )
    )


@pytest.fixture(scope="class")
def demo_world(django_db_setup, django_db_blocker):
    """One demo load shared by the tests of the class, rolled back when the class is done.

    Each test still runs in its own savepoint (the ``db`` fixture), so what a test changes is undone.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield load()
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_world, db):
    return demo_world


class TestTheDemoWorld:
    """Read-mostly checks of one small demo load."""

    def test_loads_the_requested_amounts_across_three_labs(self, demo):
        assert Lab.objects.count() == 3
        assert Donor.objects.count() == 30
        assert Sample.objects.count() == 160
        assert set(Sample.objects.values_list("biofluid", flat=True)) == {
            "blood_plasma",
            "serum",
            "urine",
            "csf",
            "cell_culture_medium",
        }
        assert not Sample.objects.filter(biofluid="cell_culture_medium", donor__isnull=False).exists()
        assert Aliquot.objects.count() >= 2 * Sample.objects.count()

    def test_each_lab_has_a_committed_and_a_refused_manifest(self, demo):
        for lab in Lab.objects.all():
            statuses = sorted(ManifestImport.objects.filter(lab=lab).values_list("status", flat=True))
            assert statuses == [ManifestImport.Status.COMMITTED, ManifestImport.Status.INVALID]
        committed = ManifestImport.objects.filter(status=ManifestImport.Status.COMMITTED)
        assert (
            sum(committed.values_list("samples_created", flat=True)) == Sample.objects.exclude(external_id="").count()
        )
        refused = ManifestImport.objects.filter(status=ManifestImport.Status.INVALID).first()
        assert {problem["column"] for problem in refused.errors} >= {"biofluid", "volume_ml"}

    def test_every_lab_has_one_account_per_role_with_the_demo_password(self, demo):
        for lab in Lab.objects.all():
            roles = set(Membership.objects.filter(lab=lab).values_list("role", flat=True))
            assert roles == set(Role.values)
        user = get_user_model().objects.get(username="vesicle.qa")
        assert user.check_password(people.DEMO_PASSWORD)
        assert "vesicle.qa" in demo and people.DEMO_PASSWORD in demo

    def test_storage_tree_custody_and_quality_problems_are_present(self, demo):
        box = StorageUnit.objects.filter(kind=StorageUnit.Kind.BOX).first()
        assert box.parent.kind == StorageUnit.Kind.RACK
        assert box.parent.parent.kind == StorageUnit.Kind.FREEZER
        assert box.parent.parent.parent.kind == StorageUnit.Kind.SITE
        kinds = set(CustodyEvent.objects.values_list("kind", flat=True))
        assert {CustodyEvent.Kind.RECEIVED, CustodyEvent.Kind.THAWED, CustodyEvent.Kind.CONSUMED} <= kinds
        flags = {flag.code for sample in Sample.objects.all() for flag in quality_flags(sample)}
        assert {"processing_delay", "hemolysis"} <= flags
        assert Sample.objects.filter(biofluid="urine", storage_temperature_c=-20).exists()

    def test_runs_preparations_and_measurements_are_linked(self, demo):
        completed = IsolationRun.objects.filter(status=IsolationRun.Status.COMPLETED)
        assert completed.exists()
        preparation = EVPreparation.objects.filter(run__in=completed).first()
        assert preparation.lab_id == preparation.input_aliquot.lab_id == preparation.run.lab_id
        kinds = set(preparation.measurements.values_list("kind", flat=True))
        assert {Measurement.Kind.PARTICLE, Measurement.Kind.PROTEIN} <= kinds
        particle = preparation.measurements.get(kind=Measurement.Kind.PARTICLE)
        assert particle.values["particles_per_ml"] > 0 and 30 < particle.values["size_mode_nm"] < 300
        marker = Measurement.objects.filter(kind=Measurement.Kind.MARKER).first()
        assert set(marker.values) == {"protein", "detected"}

    def test_runs_and_their_results_are_spread_over_the_past_months(self, demo):
        now = timezone.now()
        completed = list(IsolationRun.objects.filter(status=IsolationRun.Status.COMPLETED))
        starts = sorted(run.started_at for run in completed)
        assert starts[-1] - starts[0] > dt.timedelta(days=90)
        assert len({(start.year, start.month) for start in starts}) >= 3
        for run in IsolationRun.objects.exclude(status=IsolationRun.Status.PLANNED):
            received = max(p.input_aliquot.sample.received_at for p in run.preparations.all())
            assert received < run.started_at < now, run.code
        for run in completed:
            assert run.started_at < run.completed_at < now
            measured = Measurement.objects.filter(preparation__run=run).values_list("measured_at", flat=True)
            assert measured and all(run.completed_at <= when < now for when in measured), run.code
        assert not IsolationRun.objects.filter(status=IsolationRun.Status.PLANNED, started_at__isnull=False).exists()

    def test_each_lab_spikes_a_reference_material_and_reads_its_recovery(self, demo):
        from evlims.standards.linearity import assess
        from evlims.standards.models import DilutionSeries, ReferenceMaterialLot, TracerReadout
        from evlims.standards.recovery import recoveries, with_related

        assert ReferenceMaterialLot.objects.count() == Lab.objects.count()
        rows = recoveries(with_related(TracerReadout.objects.all()))
        assert len(rows) >= Lab.objects.count() * 2
        assert all(row.recovery.problem == "" and 0 < row.recovery.value < 1 for row in rows)
        assert len({row.run.method for row in rows}) >= 2
        for series in DilutionSeries.objects.all():
            result = assess(series.points, series.technique)
            assert result.concentration_per_ml and 50 not in result.used

    def test_the_audit_trail_of_the_demo_is_intact(self, demo):
        # Samples registered by hand have an event each; those of a committed manifest share its one event.
        registered = AuditEvent.objects.filter(action="sample.register").count()
        imported = sum(event.changes["samples"] for event in AuditEvent.objects.filter(action="manifest.commit"))
        assert (registered, imported) == (152, 8) and registered + imported == Sample.objects.count()
        assert audit_trail_problems() == []

    def test_a_second_run_changes_nothing_and_restores_passwords(self, demo):
        before = fingerprint()
        counts = (Sample.objects.count(), Aliquot.objects.count(), AuditEvent.objects.count())
        user = get_user_model().objects.get(username="renal.staff")
        user.set_password("changed-during-the-tour")
        user.save()

        output = load()

        assert "already loaded" in output
        assert fingerprint() == before
        assert (Sample.objects.count(), Aliquot.objects.count(), AuditEvent.objects.count()) == counts
        user.refresh_from_db()
        assert user.check_password(people.DEMO_PASSWORD)

    def test_a_database_holding_the_demo_is_accepted_without_force(self, demo, settings):
        settings.DEBUG = True
        assert "already loaded" in load(force=False)


def build_and_roll_back(seed: int) -> list[tuple]:
    with transaction.atomic():
        load(seed=seed, donors=10, samples=40)
        records = fingerprint()
        transaction.set_rollback(True)
    return records


def test_same_seed_gives_the_same_records(db):
    first = build_and_roll_back(seed=7)
    assert not Sample.objects.exists()
    assert build_and_roll_back(seed=7) == first
    assert build_and_roll_back(seed=8) != first


def test_refuses_to_load_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="published password"):
        call_command("evlims_demo", donors=5, samples=10, stdout=StringIO())
    assert not Lab.objects.exists()


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [(10, [1, 1, 1], [4, 3, 3]), (7, [0.7, 0.3], [5, 2]), (0, [1, 2], [0, 0]), (5, [1, 0], [5, 0])],
)
def test_split_keeps_the_total(total, weights, expected):
    assert split(total, weights) == expected


def test_scale_large_runs_the_lab_years_generator(db, settings, monkeypatch):
    """``--scale large`` is the bulk generator at its full size (shrunk here), not the demo multiplied."""
    from evlims.demo import scale

    monkeypatch.setattr(scale, "DEFAULT_PREPARATIONS", 30)
    settings.DEBUG = False  # no published password is involved: no --force needed
    out = StringIO()
    call_command("evlims_demo", "--scale", "large", "--seed", "3", stdout=out)
    (lab,) = Lab.objects.all()
    assert lab.slug == "generated-lab-1"
    assert EVPreparation.objects.filter(lab=lab).count() == 30
    assert Measurement.objects.filter(lab=lab).count() == 300
    assert AuditEvent.objects.get(lab=lab, action="scale.generate").changes["seed"] == 3
    assert "Generated Lab 1 (generated-lab-1): " in out.getvalue() and "rows/s" in out.getvalue()
    assert not Lab.objects.filter(slug__in=[plan.slug for plan in people.LABS]).exists()


def test_scale_takes_a_number_or_large(db):
    with pytest.raises(CommandError, match="a number or 'large'"):
        call_command("evlims_demo", "--scale", "huge", "--force", stdout=StringIO())
    assert not Lab.objects.exists()


def test_refuses_a_database_that_holds_accounts_or_labs_unless_forced(db, settings):
    """A host's database: the demo would add its labs and a superuser with the published password."""
    from tests.factories import UserFactory

    settings.DEBUG = True
    UserFactory(username="host.user")
    with pytest.raises(CommandError, match=r"already holds 1 user account\. .*'siteadmin'.*--force"):
        call_command("evlims_demo", donors=5, samples=10, stdout=StringIO())
    Lab.objects.create(name="Host Lab", slug="host-lab")
    with pytest.raises(CommandError, match="1 user account and 1 lab"):
        call_command("evlims_demo", donors=5, samples=10, stdout=StringIO())
    assert list(Lab.objects.values_list("slug", flat=True)) == ["host-lab"]

    call_command("evlims_demo", donors=5, samples=10, force=True, stdout=StringIO())
    assert Lab.objects.count() == 1 + len(people.LABS)


def test_the_protocol_library_alone_does_not_count_as_data(db, settings):
    """``make demo`` loads the protocol library first, into an otherwise empty database."""
    settings.DEBUG = True
    call_command("evlims_load_protocols", stdout=StringIO())
    output = load(donors=5, samples=10, force=False)
    assert "Demo data loaded" in output
