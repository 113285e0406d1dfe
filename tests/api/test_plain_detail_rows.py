"""The detail rows a result post writes as plain tuples (``characterization.plain_rows``) equal, column by column
and type by type as read back, those the ORM's ``bulk_create`` of model instances wrote before."""

import uuid

import pytest
from django.db import connection
from django.utils import timezone

from evlims.characterization import services
from evlims.characterization.models import (
    AnalyteQuantification,
    ImagingResult,
    MarkerResult,
    Measurement,
    ParticleAnalysis,
    ProteinQuantification,
    SizeBin,
)
from evlims.characterization.references import marker_vocabulary

pytestmark = pytest.mark.django_db
RESULTS = "/api/v1/results/"
DETAIL_MODELS = (ProteinQuantification, MarkerResult, ImagingResult, AnalyteQuantification, ParticleAnalysis)


def _orm_store_details(measurements, results):
    """The recording of detail rows as it was: model instances through bulk_create (the reference)."""
    vocabulary = marker_vocabulary()
    protein, marker, imaging, analyte, particle = [], [], [], [], []
    for measurement, result in zip(measurements, results, strict=True):
        kind = result["kind"]
        if kind == "protein":
            p = result["protein"]
            protein.append(
                ProteinQuantification(
                    measurement=measurement,
                    assay=p["assay"],
                    concentration_ug_per_ml=p.get("concentration_ug_per_ml"),
                    volume_assayed_ul=p.get("volume_assayed_ul"),
                    out_of_range=p.get("out_of_range", False),
                    standard_curve=p.get("standard_curve", {}),
                )
            )
        elif kind == "marker":
            values = services._marker_row(measurement.pk, result["marker"], vocabulary)
            marker.append(MarkerResult(**dict(zip(services.MARKER_COLUMNS, values, strict=True))))
        elif kind == "imaging":
            i = result["imaging"]
            imaging.append(
                ImagingResult(
                    measurement=measurement,
                    technique=i["technique"],
                    wide_field=i["wide_field"],
                    close_up=i["close_up"],
                    magnification=i.get("magnification", ""),
                )
            )
        elif kind == "particle":
            particle.append((measurement, result["particle"]))
        else:
            a = result["analyte"]
            analyte.append(
                AnalyteQuantification(measurement=measurement, assay=a["assay"], value=a["value"], unit=a["unit"])
            )
    for model, rows in (
        (ProteinQuantification, protein),
        (MarkerResult, marker),
        (ImagingResult, imaging),
        (AnalyteQuantification, analyte),
    ):
        model.objects.bulk_create(rows)
    # Particle analyses are written through the ORM on both paths (their captures and bins need their ids).
    analyses = [services.particle_analysis(m, p) for m, p in particle]
    services._store_particles(analyses, [p for _, p in particle])


def _documents(barcode):
    curve = {"model": "quadratic", "coefficients": [0.1, 2, -0.003], "r_squared": 0.9993, "note": "µg é", "n": None}
    results = [
        {"kind": "protein", "method": "bca", "protein": {"assay": "micro_bca", "concentration_ug_per_ml": 41.7}},
        {"kind": "protein", "method": "bca", "protein": {"assay": "bca", "concentration_ug_per_ml": 300}},
        {"kind": "protein", "method": "bca", "protein": {
            "assay": "bca", "concentration_ug_per_ml": 12.5, "volume_assayed_ul": 25, "standard_curve": curve}},
        {"kind": "protein", "method": "bradford", "measured_at": "2026-03-01T09:30:00+01:00",
         "software_version": "SoftMax 7.1", "protein": {"assay": "bradford", "out_of_range": True}},
        {"kind": "marker", "method": "western_blot", "marker": {
            "protein": "CD63", "detected": True,
            "antibody": {"clone": "H5C6", "catalogue": "556019", "dilution": "1:1000", "supplier": "BD"},
            "lysate": {"buffer": "RIPA", "protocol": "10 min on ice", "reducing": False, "protein_loaded_ug": 10,
                       "compared_with_source": True},
            "topology": {"assay": "Proteinase K protection", "component": "luminal"}}},
        {"kind": "marker", "method": "western_blot", "marker": {"protein": "CALNEXIN", "detected": False}},
        {"kind": "marker", "method": "western_blot", "marker": {
            "protein": "TSG101", "semi_quantitative_value": 0.4, "lysate": {"reducing": True}}},
        {"kind": "imaging", "method": "tem", "imaging": {"technique": "tem", "wide_field": True, "close_up": True}},
        {"kind": "imaging", "method": "tem", "imaging": {
            "technique": "cryo_em", "wide_field": False, "close_up": True, "magnification": "30,000×"}},
        {"kind": "lipid", "method": "spv", "analyte": {"assay": "SPV", "value": 12, "unit": "nmol/mL"}},
        {"kind": "rna", "method": "qubit", "analyte": {"assay": "Qubit", "value": 3.25, "unit": "ng/µL"}},
        {"kind": "particle", "method": "nta", "particle": {
            "technique": "nta", "concentration_per_ml": 4e10, "size_mode_nm": 92, "settings": {"camera_level": 14},
            "histogram": {"bin_center_nm": [50.5, 51.5], "concentration_per_ml": [1e6, 2e6]}}},
    ]  # fmt: skip
    for result in results:
        result["preparation"] = barcode
    return results


def _rows(model, measurement_ids):
    """Every column of the rows of ``model`` for these measurements, as the database gives them back, in the
    order of the measurements; ids replaced by positions (they differ between two posts by construction)."""
    position = {pk: index for index, pk in enumerate(measurement_ids)}
    table, fk = model._meta.db_table, "measurement_id" if model is not Measurement else "id"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    rows = [row for row in rows if row[fk] in position]
    for row in rows:
        row[fk] = position[row[fk]]
        if model is not Measurement:
            row.pop("id")
        for volatile in ("created_at", "updated_at", "ingestion_id"):
            row.pop(volatile, None)
    rows.sort(key=lambda row: row[fk])
    return [{name: (type(value).__name__, value) for name, value in row.items()} for row in rows]


def _post(client, documents):
    response = client.post(RESULTS, {"results": documents}, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert response.status_code == 201, response.json()
    return response.json()["measurements"]


def test_plain_detail_rows_equal_the_orm_rows_column_by_column(write_key_api, evidence, monkeypatch):
    documents = _documents(evidence.preparation.barcode)
    moment = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: moment)  # a result without measured_at is stamped now
    plain = _post(write_key_api, documents)
    with monkeypatch.context() as patched:
        patched.setattr(services, "_store_details", _orm_store_details)
        orm = _post(write_key_api, documents)
    assert len(plain) == len(orm) == len(documents)
    for model in (Measurement, *DETAIL_MODELS):
        expected = _rows(model, orm)
        assert expected, model
        assert _rows(model, plain) == expected, model.__name__
    assert SizeBin.objects.filter(analysis__measurement_id__in=plain).count() == 2
    # Read back through the ORM too: the JSON column decodes to the payload's curve, floats are floats.
    curve = ProteinQuantification.objects.get(measurement_id=plain[2])
    assert curve.standard_curve == documents[2]["protein"]["standard_curve"]
    assert curve.volume_assayed_ul == 25.0 and isinstance(curve.volume_assayed_ul, float)
    assert ProteinQuantification.objects.get(measurement_id=plain[3]).concentration_ug_per_ml is None
