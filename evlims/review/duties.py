"""Separation of duties: who produced the record under review, and so may neither verify nor approve it.

Read from the records and from the audit trail, so that whoever changed a record counts as well as whoever
created it.
"""

from django.db.models import Q

from ..characterization.models import Measurement
from ..core.models import AuditEvent
from ..isolation.models import EVPreparation, IsolationRun
from ..isolation.selectors import protocol_version_authors


def _audit_actors(objects: dict) -> set[int]:
    """Users named as actor of any audit event on ``objects`` ({model: ids})."""
    match = Q(pk__in=[])
    for model, ids in objects.items():
        ids = [str(pk) for pk in ids if pk is not None]
        if ids:
            match |= Q(object_type=model._meta.model_name, object_id__in=ids)
    return set(AuditEvent.objects.filter(match, actor__isnull=False).values_list("actor", flat=True).distinct())


def review_producers(review) -> set[int]:
    """Everyone who created or changed a record the review covers, read from the records and the audit trail:
    the submitter; the run's operator and whoever recorded its steps or changed it; the authors and editors of
    its protocol version; whoever changed the preparations, their input aliquots (and the aliquots they were
    split from), samples and donors; whoever recorded, uploaded or committed a result on the preparations or
    their input samples. None of them may verify or approve the review."""
    from ..instruments.models import Ingestion, RawFile
    from ..isolation.models import RunStep
    from ..samples.models import Aliquot, Donor, Sample

    run = review.run or review.preparation.run
    preparations = EVPreparation.objects.filter(pk=review.preparation_id) if review.preparation_id else run.preparations
    rows = list(
        preparations.values_list("pk", "input_aliquot", "input_aliquot__sample", "input_aliquot__sample__donor")
    )
    prep_ids = [row[0] for row in rows]
    sample_ids = {row[2] for row in rows}
    donor_ids = {row[3] for row in rows if row[3] is not None}
    aliquot_ids, parents = set(), {row[1] for row in rows}
    while parents - aliquot_ids:  # walk up the split tree: an aliquot split from another carries its history
        aliquot_ids |= parents
        parents = set(Aliquot.objects.filter(pk__in=parents, parent__isnull=False).values_list("parent", flat=True))
    measurements = list(
        Measurement.objects.filter(Q(preparation__in=prep_ids) | Q(input_sample__in=sample_ids)).values_list(
            "pk", "recorded_by", "ingestion", "raw_file"
        )
    )
    producers = {review.submitted_by_id, run.operator_id}
    producers |= {recorded_by for _, recorded_by, _, _ in measurements}
    producers |= set(RunStep.objects.filter(run=run).values_list("recorded_by", flat=True))
    producers |= protocol_version_authors([run.protocol_version_id])
    producers |= _audit_actors(
        {
            IsolationRun: [run.pk],
            EVPreparation: prep_ids,
            Aliquot: aliquot_ids,
            Sample: sample_ids,
            Donor: donor_ids,
            Measurement: [m[0] for m in measurements],
            Ingestion: {m[2] for m in measurements},
            RawFile: {m[3] for m in measurements},
        }
    )
    return producers - {None}
