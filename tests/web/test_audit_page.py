"""The audit page of a record: audit events with before → after, and saved versions."""

from django.urls import reverse

from evlims.samples import services


def test_sample_audit_shows_events_and_versions(member_client, staff, sample):
    services.sample_update(
        sample=sample, actor=staff, reason="Typo in tube", expected_version=1, changes={"tube_type": "BD 367525"}
    )
    response = member_client.get(reverse("evlims:audit", args=["sample", sample.pk]), HTTP_X_REQUEST_ID="req-42")
    html = response.content.decode()
    actions = [item["event"].action for item in response.context["events"]]
    assert actions == ["sample.edit", "sample.aliquot", "sample.register"]
    edit = response.context["events"][0]
    assert edit["changes"] == [{"field": "Collection tube", "before": "", "after": "BD 367525", "paired": True}]
    assert "Typo in tube" in html and "staff" in html
    versions = response.context["versions"]
    assert len(versions) == 2
    assert versions[0]["changes"] == [{"field": "Collection tube", "before": "", "after": "BD 367525"}]
    assert versions[0]["record"].history_change_reason == "Typo in tube"


def test_aliquot_audit_pairs_only_before_after_values(member_client, staff, sample, box):
    aliquot = sample.aliquots.order_by("id").first()
    services.aliquot_move(actor=staff, aliquot=aliquot, box=box, row=5, column=5, reason="Reorg")
    services.aliquot_split(actor=staff, aliquot=aliquot, volumes_ul=[10, 20])
    response = member_client.get(reverse("evlims:audit", args=["aliquot", aliquot.pk]))
    split, move = response.context["events"]
    by_field = {row["field"]: row for row in split["changes"]}
    assert by_field["Volume (µL)"]["paired"] and by_field["Volume (µL)"]["after"] == "470 µL"
    assert not by_field["Children"]["paired"]  # a list of two barcodes, not a before/after pair
    assert move["changes"][0]["before"].endswith("A1") and move["changes"][0]["after"].endswith("E5")
    assert "Reorg" in response.content.decode()


def test_request_id_is_shown(member_client, sample):
    response = member_client.post(
        reverse("evlims:aliquot-thaw", args=[sample.aliquots.order_by("id").first().pk]),
        {"confirm": "1"},
        HTTP_X_REQUEST_ID="trace-7f3a",
    )
    assert response.status_code == 302
    aliquot_id = sample.aliquots.order_by("id").first().pk
    html = member_client.get(reverse("evlims:audit", args=["aliquot", aliquot_id])).content.decode()
    assert "trace-7f3a" in html


def test_storage_unit_audit_has_no_versions_table(member_client, box):
    response = member_client.get(reverse("evlims:audit", args=["storageunit", box.pk]))
    assert response.status_code == 200
    assert response.context["versions"] is None
