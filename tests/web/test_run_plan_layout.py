"""The plan page keeps its action in sight above a long list of aliquots."""

from django.urls import reverse


def test_plan_button_comes_before_the_aliquot_list_and_the_list_scrolls(member_client):
    page = member_client.get(reverse("evlims:run-new")).content.decode()
    button = page.index("Plan the run")
    assert button < page.index('id="aliquot-picker"')
    assert 'id="run-plan-actions"' in page and "sticky-top" in page[page.index('id="run-plan-actions"') - 200 :][:400]
    assert 'class="aliquot-picker-scroll' in page
