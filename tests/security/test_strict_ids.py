"""Ids typed by users are read strictly: Unicode digits ("²", "١٢") and numbers beyond 64 bits are a 400 or 404
(or a form error), never a server error. Each case is a route that reads an id from the query string or body."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from evlims.core.ids import MAX_ID, parse_id
from evlims.core.models import Role

HOSTILE_IDS = ["²", "١٢", "99999999999999999999", str(MAX_ID + 1), "-1", " 7", "0x10", ""]


@pytest.mark.parametrize(
    "text, expected",
    [("0", 0), ("42", 42), (str(MAX_ID), MAX_ID), ("²", None), ("١٢", None), ("99999999999999999999", None),
     (str(MAX_ID + 1), None), ("-1", None), (" 7", None), ("7\n", None), ("", None), (7, 7), (True, None),
     (2**64, None), (None, None), (1.0, None)],
)  # fmt: skip
def test_parse_id_reads_ascii_digits_within_64_bits_only(text, expected):
    assert parse_id(text) == expected


def _pages(world):
    """(url, query parameter or POST field, method) of every page reading an id typed by the user."""
    return [
        (reverse("evlims:labels"), "aliquot", "get"),
        (reverse("evlims:box-picker"), "box", "get"),
        (reverse("evlims:sample-create"), "donor", "get"),
        (reverse("evlims:run-new"), "version", "get"),
        (reverse("evlims:protocol-new"), "from", "get"),
        (reverse("evlims:protocol-compare", kwargs={"pk": world.protocol_version.pk}), "with", "get"),
        (reverse("evlims:dashboard-comparison"), "overlay", "get"),
        (reverse("evlims:preparation-list"), "run", "get"),
        (reverse("evlims:run-new"), "aliquot", "post"),
    ]


PAGE_CASES = [(index, value) for index in range(9) for value in HOSTILE_IDS]


@pytest.mark.parametrize("index, value", PAGE_CASES)
def test_pages_answer_a_bad_id_without_a_server_error(alpha, client_for, index, value):
    url, name, method = _pages(alpha)[index]
    client = client_for(alpha.users[Role.LAB_ADMIN])
    if method == "get":
        response = client.get(url, {name: value})
    else:
        response = client.post(url, {name: value, f"volume_{value}": "", "default_volume": "", "barcodes": ""})
    assert response.status_code in (200, 400, 404), (url, name, value, response.status_code)


@pytest.mark.parametrize("value", [*HOSTILE_IDS, 2**64, MAX_ID + 1, -1])
def test_api_run_refuses_a_bad_aliquot_id_naming_the_field(alpha, value):
    client = APIClient()
    client.force_authenticate(alpha.users[Role.LAB_ADMIN])
    body = {
        "protocol_version": alpha.protocol_version.pk,
        "project": alpha.project.pk,
        "inputs": [{"aliquot": value, "volume_ul": "10"}],
    }
    response = client.post(reverse("evlims:api:run-list"), body, format="json")
    assert response.status_code == 400, response.content[:500]
    assert b"aliquot" in response.content


def test_labels_name_a_bad_id_and_still_print_the_good_ones(alpha, client_for):
    client = client_for(alpha.users[Role.LAB_ADMIN])
    response = client.get(reverse("evlims:labels"), {"aliquot": [alpha.aliquot.pk, "²"]})
    assert response.status_code == 200
    assert b"not valid" in response.content
    assert alpha.aliquot.barcode.encode() in response.content


@pytest.mark.parametrize("field", ["project", "protocol_version"])
@pytest.mark.parametrize("value", [*HOSTILE_IDS, 2**64, -1])
def test_api_run_refuses_a_bad_record_id_naming_the_field(alpha, field, value):
    client = APIClient()
    client.force_authenticate(alpha.users[Role.LAB_ADMIN])
    body = {
        "protocol_version": alpha.protocol_version.pk,
        "project": alpha.project.pk,
        "inputs": [{"aliquot": alpha.aliquot.pk, "volume_ul": "10"}],
        field: value,
    }
    response = client.post(reverse("evlims:api:run-list"), body, format="json")
    assert response.status_code == 400, response.content[:500]
    assert field.encode() in response.content
