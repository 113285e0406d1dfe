"""The compliance page's "What to do next": fixes in the lab's words, each with links to the form of this
preparation's record that records what is missing, the field focused."""

import re
from urllib.parse import urlsplit

from django.urls import resolve, reverse

from tests.web import test_compliance_pages as pages

# The compliance pages' fixtures: a SEC run of plasma, its first preparation evaluated with results.
sec_version, run, preparation = pages.sec_version, pages.run, pages.preparation
text_of = pages.text_of

CODE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b|\b[a-z][a-z0-9_]+\.[a-z][a-z0-9_]+")


def next_steps(client, preparation):
    return client.get(reverse("evlims:compliance-preparation", args=[preparation.pk])).context["view"]["next_steps"]


def test_fixes_read_as_words_and_link_to_the_forms(client, staff, preparation):
    client.force_login(staff)
    page = text_of(client.get(reverse("evlims:compliance-preparation", args=[preparation.pk])))
    steps = next_steps(client, preparation)
    assert steps and all(not CODE.search(step["fix"]) for step in steps)
    storage = next(step for step in steps if step["fix"].startswith("Record how the preparation is stored"))
    (link,) = storage["links"]
    assert link.url == reverse("evlims:preparation-edit", args=[preparation.pk]) + "?focus=buffer"
    assert f'href="{link.url}"' in page and link.text in page
    urls = {resolve(urlsplit(link.url).path).url_name for step in steps for link in step["links"]}
    assert {"preparation-edit", "result-new", "sample-edit"} <= urls


def test_following_a_link_lands_on_the_form_with_the_field(client, staff, preparation):
    client.force_login(staff)
    links = [link for step in next_steps(client, preparation) for link in step["links"]]
    for link in links:
        assert client.get(link.url).status_code == 200, link.url
    storage = next(link for link in links if link.url.endswith("?focus=buffer"))
    page = text_of(client.get(storage.url))
    # The field is on the page, and evlims.js focuses ?focus=<field> (tests/e2e checks it in a browser).
    assert 'name="buffer"' in page and 'id="id_buffer"' in page
    assert "evlims/js/evlims.js" in page


def test_readers_see_the_fixes_without_links(client, qa_manager, preparation):
    client.force_login(qa_manager)
    response = client.get(reverse("evlims:compliance-preparation", args=[preparation.pk]))
    assert all("links" not in step for step in response.context["view"]["next_steps"])
    assert 'class="fix-link"' not in text_of(response)
