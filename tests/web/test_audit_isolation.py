from decimal import Decimal

from django.urls import reverse

from evlims.isolation import services as isolation
from evlims.isolation.models import ProtocolVersion
from evlims.samples.services import sample_register


def test_run_and_preparation_have_audit_pages(client, staff, outsider, project):
    isolation.library_load()
    version = ProtocolVersion.objects.get(protocol__slug="sec-qev-70nm", version="1.0.0")
    sample = sample_register(
        actor=staff, project=project, biofluid="serum", volume_ml=Decimal("1"), aliquot_volumes_ul=[500]
    )
    run = isolation.run_plan(
        actor=staff, project=project, protocol_version=version, inputs=[(sample.aliquots.get(), 500)]
    )
    prep = run.preparations.get()
    client.force_login(staff)
    for object_type, pk in (("isolationrun", run.pk), ("evpreparation", prep.pk)):
        url = reverse("evlims:audit", args=[object_type, pk])
        response = client.get(url)
        assert response.status_code == 200
    assert b"run.plan" in client.get(reverse("evlims:audit", args=["isolationrun", run.pk])).content
    client.force_login(outsider)
    assert client.get(reverse("evlims:audit", args=["isolationrun", run.pk])).status_code == 404
