"""Every page a lab admin reaches in the demo speaks the lab's words: no raw codes, float reprs or Python reprs.

The demo (the builder ``make demo`` runs, at a small size) is loaded once; the crawl starts at the start page,
follows every link of the navigation and of the pages it reaches, and visits one URL per route (the first
record of each list stands for all of them). Each page's visible text is read without tags, attributes,
scripts, ``<code>``/``font-monospace`` elements (barcodes, identifiers) and URLs, then checked for:

- a snake_case word (``blood_plasma``, ``western_blot``, ``volume_ml``): a code or field name shown raw;
- a decimal number with more than 6 significant digits (``87.94000000000001``): a float repr;
- a Python repr (``{'``, ``['``, ``[<``, ``None``, ``True``, ``False``).
"""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.urls import Resolver404, resolve, reverse

from evlims.characterization.models import Measurement
from evlims.core.models import Role
from evlims.cytometry.models import FlowAcquisition
from evlims.demo import people
from evlims.instruments.models import Ingestion
from evlims.instruments.services import file_ingestion
from evlims.metrics.models import ControlMaterial
from evlims.samples.models import Aliquot
from tests.control_world import two_levels

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
LONG_DECIMAL = re.compile(r"(?<![\w.])(\d+)\.(\d+)(?![\w.])")
# Numbers in e-notation that a help text gives as an example of what may be typed (a spreadsheet's own form).
ALLOWED_E_NOTATION = frozenset({"1.2E+11"})
E_NOTATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+\b")
# A repr's brackets anywhere; None/True/False when they stand for a value: alone in an element, or after
# ':', '=', '→' or '(' ("None recorded." and "None (type a plate map below)" are sentences).
REPR = re.compile(r"\{'|\['|\[<|(?:[:=→(]\s*)(?:None|True|False)\b|^\s*(?:None|True|False)\s*$", re.MULTILINE)
URL = re.compile(r"https?://\S+|(?<!\S)/\S+")

# Words in snake_case that are genuine identifiers a person types: the keys of a plate map written as JSON,
# shown in the upload form's help as an example of what to type.
ALLOWED_SNAKE = frozenset({"ug_per_ml"})
# Routes the crawl does not open: they answer with a file, sign the user out, or act on a GET.
SKIPPED_ROUTES = frozenset({"logout", "labels"})
SKIPPED_QUERY = re.compile(r"(?:^|&)(?:format|export|download)=")
HIDDEN_TAGS = {"script", "style", "code", "pre", "textarea", "svg", "template", "title"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class VisibleText(HTMLParser):
    """The text a person sees, and the page's links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hidden_depth = 0
        self.stack: list[bool] = []
        self.chunks: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag in VOID_TAGS:
            return
        hides = (
            tag in HIDDEN_TAGS or "font-monospace" in (attributes.get("class") or "").split() or "hidden" in attributes
        )
        self.stack.append(hides)
        self.hidden_depth += hides

    def handle_endtag(self, tag):
        if tag in VOID_TAGS or not self.stack:
            return
        self.hidden_depth -= self.stack.pop()

    def handle_data(self, data):
        if not self.hidden_depth:
            self.chunks.append(data)

    def text(self) -> str:
        return URL.sub(" ", "\n".join(self.chunks))


def problems_in(text: str) -> list[str]:
    found = [f"raw code {word!r}" for word in SNAKE.findall(text) if word not in ALLOWED_SNAKE]
    for whole, fraction in LONG_DECIMAL.findall(text):
        digits = (whole.lstrip("0") + fraction).lstrip("0")
        if len(digits) > 6:
            found.append(f"float repr {whole}.{fraction}")
    found += [f"float repr {match}" for match in E_NOTATION.findall(text) if match not in ALLOWED_E_NOTATION]
    found += [f"Python repr {match.strip()!r}" for match in REPR.findall(text)]
    return found


def test_problems_in_finds_each_kind():
    assert problems_in("Biofluid: blood_plasma") == ["raw code 'blood_plasma'"]
    assert problems_in("Mean 87.94000000000001 nm") == ["float repr 87.94000000000001"]
    assert problems_in("Changed {'a': 1} to: None") == ['Python repr "{\'"', "Python repr ': None'"]
    assert problems_in("Brake\nFalse\n") == ["Python repr 'False'"]
    assert problems_in("Concentration 1.500e+10 particles/mL") == ["float repr 1.500e+10"]
    assert problems_in("Blood plasma, 87.9 nm, 4.31 × 10¹⁰/mL, Yes. None recorded.") == []


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("evlims_demo", donors=12, samples=60, force=True, stdout=StringIO())
        add_what_the_small_demo_lacks()
        yield
        transaction.set_rollback(True)


def add_what_the_small_demo_lacks():
    """An uploaded instrument file awaiting confirmation and two control levels, in the first lab."""
    admin = get_user_model().objects.get(username=people.username(people.LABS[0], Role.LAB_ADMIN))
    lab = admin.evlims_memberships.get().lab
    mapping = {"fields": {"sample_name": "sample", "concentration_per_ml": "conc", "size_mode_nm": "mode"}}
    file_ingestion.file_upload(
        actor=admin,
        lab=lab,
        data=b"sample,conc,mode\nA,1.5e10,87.94000000000001\n",
        name="plate.csv",
        file_format="generic",
        parse_options={"mapping": mapping},
    )
    two_levels(lab, lab.projects.order_by("pk").first(), admin)


def _route(url: str):
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    if match.namespace != "evlims" or match.url_name in SKIPPED_ROUTES:
        return None
    if SKIPPED_QUERY.search(parts.query) or parts.path.endswith((".csv", ".pdf", ".json", ".xlsx", ".png")):
        return None
    # One page per route, and per kind of record where the route takes a kind (the audit trail of each).
    return (match.url_name, *sorted(str(v) for v in match.kwargs.values() if not str(v).isdigit()))


def first_records(lab) -> list[str]:
    """Pages of the first record of lists whose detail links sit deeper than the crawl's one page per route."""
    aliquot = Aliquot.objects.filter(sample__lab=lab, status=Aliquot.Status.AVAILABLE).order_by("pk").first()
    ingestion = Ingestion.objects.filter(lab=lab).order_by("pk").first()
    control = ControlMaterial.objects.filter(lab=lab).order_by("pk").first()
    measurement = Measurement.objects.filter(preparation__run__lab=lab).order_by("pk").first()
    flow_sample = FlowAcquisition.objects.filter(lab=lab, role=FlowAcquisition.Role.SAMPLE).order_by("pk").first()
    return [
        reverse("evlims:flow-detail", args=[flow_sample.pk]),
        reverse("evlims:result-detail", args=[measurement.pk]),
        reverse("evlims:aliquot-split", args=[aliquot.pk]),
        reverse("evlims:aliquot-move", args=[aliquot.pk]),
        reverse("evlims:ingestion-detail", args=[ingestion.pk]),
        reverse("evlims:control-detail", args=[control.pk]),
        reverse("evlims:audit", args=["sample", aliquot.sample_id]),
        reverse("evlims:audit", args=["aliquot", aliquot.pk]),
    ]


def crawl(client, starts: list[str], limit: int = 400) -> tuple[dict[str, list[str]], set[str]]:
    """{url: problems} for every page reached, one URL per route; and the routes visited."""
    queue, seen_routes, report = deque(starts), set(), {}
    while queue and len(seen_routes) < limit:
        url = queue.popleft()
        route = _route(url)
        if route is None or route in seen_routes:
            continue
        seen_routes.add(route)
        response = client.get(url)
        assert response.status_code in (200, 302), f"{url} answered {response.status_code}"
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        parser = VisibleText()
        parser.feed(response.content.decode())
        problems = problems_in(parser.text())
        if problems:
            report[url] = sorted(set(problems))
        queue.extend(link.split("#")[0] for link in parser.links if link and not link.startswith("#"))
    return report, seen_routes


def test_every_page_a_lab_admin_reaches_speaks_the_labs_words(demo_world, client, db):
    admin = get_user_model().objects.get(username=people.username(people.LABS[0], Role.LAB_ADMIN))
    client.force_login(admin)
    report, routes = crawl(client, ["/", *first_records(admin.evlims_memberships.get().lab)])
    expected = {
        "sample-detail",
        "donor-detail",
        "aliquot-split",
        "run-detail",
        "preparation-detail",
        "result-detail",
        "ingestion-detail",
        "review-detail",
        "control-detail",
        "protocol-version",
        "qa-queue",
        "dashboard",
        "flow-list",
        "flow-detail",
        "flow-calibrations",
    }
    assert expected <= {route[0] for route in routes}, sorted(expected - {route[0] for route in routes})
    assert report == {}, "\n".join(f"{url}: {', '.join(found)}" for url, found in report.items())
