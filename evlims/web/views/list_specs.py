"""The sorts and exported columns of each list page (samples, donors, runs, preparations, results received).

Every sort is on an indexed column, the id breaking ties (``web.sorting``): the lab-scoped indexes
(lab, collected_at, id), (lab, created_at, id), (lab, started_at, id) and the unique (lab, barcode) and
(lab, code) keep a cursor page as cheap as the first. Exported headers name the unit where there is one.
"""

from ...characterization import selectors as characterization_selectors
from ...isolation import selectors as isolation_selectors
from ...samples import selectors as sample_selectors
from ...samples.quality import quality_flags
from .. import display
from ..exports import Column
from ..sorting import SortChoices, SortColumn
from .lists import ListSpec


def person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def in_words(code, kind="") -> str | None:
    """A code as the pages show it (``web.display.label``); no value stays an empty cell."""
    return display.label(code, kind) if code else None


def short_purity(purity_class: str | None) -> str:
    return purity_class.replace("_", " ").capitalize() if purity_class else ""


def with_purity_labels(preparations) -> None:
    """The preparation list's figures (one query) and the purity class in words."""
    characterization_selectors.with_headline_figures(preparations)
    for preparation in preparations:
        preparation.purity_label = short_purity(preparation.purity_class)


def flag_labels(sample) -> str:
    return "; ".join(
        sample_selectors.QUALITY_FLAG_LABELS.get(flag.code, flag.message) for flag in quality_flags(sample)
    )


def with_flag_labels(samples) -> None:
    """Available tubes (one query) and the quality flags in words (from the rows themselves, no query)."""
    sample_selectors.with_available_aliquots(samples)
    for sample in samples:
        sample.flag_labels = flag_labels(sample)


SAMPLES = ListSpec(
    name="samples",
    title="Samples",
    sorts=SortChoices(
        SortColumn("barcode", "Barcode", "barcode"),
        SortColumn("collected", "Collected", "collected_at", first_descending=True),
        default="-collected",
    ),
    columns=(
        Column("Barcode", lambda s: s.barcode),
        Column("External id", lambda s: s.external_id),
        Column("Biofluid", lambda s: s.get_biofluid_display()),
        Column("Project", lambda s: s.project.code),
        Column("Donor", lambda s: s.donor.code if s.donor else None),
        Column("Collected", lambda s: s.collected_at),
        Column("Volume (mL)", lambda s: s.volume_ml),
        Column("Available aliquots", lambda s: s.aliquot_count),
        Column("Hemolysis (A414)", lambda s: s.hemolysis_a414),
        Column("Quality flags", lambda s: s.flag_labels),
        Column("Lab", lambda s: s.lab.name),
    ),
    decorate=with_flag_labels,
)

DONORS = ListSpec(
    name="donors",
    title="Donors",
    sorts=SortChoices(SortColumn("code", "Code", "code"), default="code"),
    columns=(
        Column("Code", lambda d: d.code),
        Column("Lab", lambda d: d.lab.name),
        Column("Project", lambda d: d.project.code if d.project else None),
        Column("Sex", lambda d: d.get_sex_display()),
        Column("Age band", lambda d: d.age_band),
        Column("Diagnosis", lambda d: d.diagnosis),
        Column("Consent", lambda d: d.get_consent_status_display()),
        Column("Samples", lambda d: d.sample_count),
    ),
    decorate=sample_selectors.with_sample_counts,
)

RUNS = ListSpec(
    name="isolation-runs",
    title="Isolation runs",
    sorts=SortChoices(
        SortColumn("code", "Run", "code"),
        SortColumn("planned", "Planned", "created_at", first_descending=True),
        SortColumn("started", "Started", "started_at", first_descending=True),
        default="-planned",
    ),
    columns=(
        Column("Run", lambda r: r.code),
        Column("Status", lambda r: r.get_status_display()),
        Column("Protocol", lambda r: r.protocol_name),
        Column("Isolation method", lambda r: in_words(r.method, "method")),
        Column("Project", lambda r: r.project.code),
        Column("Operator", lambda r: person(r.operator)),
        Column("Planned", lambda r: r.created_at),
        Column("Started", lambda r: r.started_at),
        Column("Completed", lambda r: r.completed_at),
        Column("Steps recorded", lambda r: r.step_count),
        Column("Preparations", lambda r: r.preparation_count),
    ),
    decorate=isolation_selectors.with_run_counts,
)

PREPARATIONS = ListSpec(
    name="ev-preparations",
    title="EV preparations",
    sorts=SortChoices(
        SortColumn("barcode", "Preparation", "barcode"),
        SortColumn("registered", "Registered", "created_at", first_descending=True),
        default="-registered",
    ),
    columns=(
        Column("Preparation", lambda p: p.barcode),
        Column("State", lambda p: p.state_label),
        Column("Run", lambda p: p.run.code),
        Column("Isolation method", lambda p: in_words(p.run.method, "method")),
        Column("Sample", lambda p: p.input_aliquot.sample.barcode),
        Column("Biofluid", lambda p: p.input_aliquot.sample.get_biofluid_display()),
        Column("Input (µL)", lambda p: p.input_volume_ul),
        Column("Final (µL)", lambda p: p.final_volume_ul),
        Column("Registered", lambda p: p.created_at),
        Column("Particle results", lambda p: p.particle_count),
        Column("Protein results", lambda p: p.protein_count),
        Column("Marker results", lambda p: p.marker_count),
        Column("Imaging results", lambda p: p.imaging_count),
        Column("Purity", lambda p: p.purity_label),
        Column("Particles per µg protein", lambda p: p.particles_per_ug),
        Column("EV-METRIC (%)", lambda p: p.ev_metric_pct),
        Column("Mandatory rules failed", lambda p: p.mandatory_failed),
    ),
    decorate=with_purity_labels,
)

INGESTIONS = ListSpec(
    name="results-received",
    title="Results received",
    sorts=SortChoices(SortColumn("received", "Received", "created_at", first_descending=True), default="-received"),
    columns=(
        Column("Ingestion", lambda i: i.pk),
        Column("Received", lambda i: i.created_at),
        Column("Instrument", lambda i: i.instrument.name if i.instrument else None),
        Column("Submitted by", lambda i: person(i.submitted_by) if i.submitted_by else None),
        Column("File", lambda i: i.uploaded_name if i.raw_file_id else "JSON post"),
        Column("Format", lambda i: in_words(i.file_format)),
        Column("Lab", lambda i: i.lab.name),
        Column("Status", lambda i: i.get_status_display()),
        Column("Results", lambda i: i.measurement_count),
    ),
    decorate=characterization_selectors.with_measurement_counts,
)

IMPORTS = ListSpec(
    name="sample-imports",
    title="Sample imports",
    sorts=SortChoices(SortColumn("uploaded", "Uploaded", "created_at", first_descending=True), default="-uploaded"),
    columns=(
        Column("Import", lambda m: m.pk),
        Column("File", lambda m: m.original_name),
        Column("Project", lambda m: m.project.code),
        Column("Lab", lambda m: m.lab.name),
        Column("Uploaded by", lambda m: person(m.uploaded_by)),
        Column("Uploaded", lambda m: m.created_at),
        Column("Status", lambda m: m.get_status_display()),
        Column("Rows", lambda m: m.row_count),
        Column("Samples created", lambda m: m.samples_created),
    ),
)


def with_occupancy(boxes) -> None:
    """Capacity and how full each box is (from the row's own count; no query)."""
    for box in boxes:
        box.capacity = box.rows * box.columns
        box.percent_full = round(100 * box.occupied / box.capacity)


BOXES = ListSpec(
    name="boxes",
    title="Boxes",
    sorts=SortChoices(SortColumn("box", "Box", "path"), default="box"),
    columns=(
        Column("Box", lambda b: b.path),
        Column("Lab", lambda b: b.lab.name),
        Column("Rows", lambda b: b.rows),
        Column("Columns", lambda b: b.columns),
        Column("Positions used", lambda b: b.occupied),
        Column("Positions", lambda b: b.capacity),
        Column("Occupancy (%)", lambda b: b.percent_full),
        Column("Temperature (°C)", lambda b: b.temperature_c),
    ),
    decorate=with_occupancy,
)
