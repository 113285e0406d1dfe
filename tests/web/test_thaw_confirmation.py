"""A thaw is recorded only once the member confirms it."""

from django.urls import reverse

from evlims.samples.models import CustodyEvent


def test_thaw_asks_for_confirmation_with_the_count_it_will_become(member_client, sample):
    aliquot = sample.aliquots.order_by("id").first()
    thaw = reverse("evlims:aliquot-thaw", args=[aliquot.pk])
    sample_page = member_client.get(reverse("evlims:sample-detail", args=[sample.pk])).content.decode()
    assert f'href="{thaw}"' in sample_page  # the sample page links to the confirmation, no one-click POST
    assert f'action="{thaw}"' not in sample_page
    # A POST without the confirmation (an old page, a double-sent form) shows the question and thaws nothing.
    response = member_client.post(thaw)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Thaw " in html and "freeze–thaw count" in html and "from 0 to 1" in html
    aliquot.refresh_from_db()
    assert aliquot.freeze_thaw_count == 0
    assert not CustodyEvent.objects.filter(aliquot=aliquot, kind=CustodyEvent.Kind.THAWED).exists()
    member_client.post(thaw, {"confirm": "1"})
    aliquot.refresh_from_db()
    assert aliquot.freeze_thaw_count == 1
