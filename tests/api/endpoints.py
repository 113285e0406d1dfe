"""Every API endpoint with a valid request for it, so access rules can be checked across all of them."""

from collections.abc import Callable
from dataclasses import dataclass

API = "/api/v1"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: Callable  # world -> path
    payload: Callable = None  # world -> body, for writes

    def request(self, client, world):
        body = self.payload(world) if self.payload else None
        return getattr(client, self.method)(self.path(world), body, format="json")

    def __str__(self):
        return f"{self.method.upper()} {self.path.__name__}"


def _named(name, function):
    function.__name__ = name
    return function


LISTS = [
    Endpoint("get", _named("projects/", lambda w: f"{API}/projects/")),
    Endpoint("get", _named("donors/", lambda w: f"{API}/donors/")),
    Endpoint("get", _named("samples/", lambda w: f"{API}/samples/")),
    Endpoint("get", _named("aliquots/", lambda w: f"{API}/aliquots/")),
    Endpoint("get", _named("storage-units/", lambda w: f"{API}/storage-units/")),
    Endpoint("get", _named("custody-events/", lambda w: f"{API}/custody-events/")),
]

CREATES = [
    Endpoint(
        "post",
        _named("donors/", lambda w: f"{API}/donors/"),
        lambda w: {"lab": w.project.lab_id, "code": "NEW-DONOR"},
    ),
    Endpoint(
        "post",
        _named("samples/", lambda w: f"{API}/samples/"),
        lambda w: {"project": w.project.pk, "biofluid": "serum", "volume_ml": "1.5"},
    ),
    Endpoint(
        "post",
        _named("storage-units/", lambda w: f"{API}/storage-units/"),
        lambda w: {"lab": w.project.lab_id, "kind": "site", "name": "New site"},
    ),
]

DETAILS = [
    Endpoint("get", _named("projects/{id}/", lambda w: f"{API}/projects/{w.project.pk}/")),
    Endpoint("get", _named("donors/{id}/", lambda w: f"{API}/donors/{w.donor.pk}/")),
    Endpoint("get", _named("samples/{id}/", lambda w: f"{API}/samples/{w.sample.pk}/")),
    Endpoint("get", _named("aliquots/{id}/", lambda w: f"{API}/aliquots/{w.aliquots[0].pk}/")),
    Endpoint("get", _named("storage-units/{id}/", lambda w: f"{API}/storage-units/{w.box.pk}/")),
    Endpoint("get", _named("storage-units/{id}/grid/", lambda w: f"{API}/storage-units/{w.box.pk}/grid/")),
    Endpoint("get", _named("custody-events/{id}/", lambda w: f"{API}/custody-events/{w.custody_event.pk}/")),
]

OBJECT_WRITES = [
    Endpoint(
        "patch",
        _named("donors/{id}/", lambda w: f"{API}/donors/{w.donor.pk}/"),
        lambda w: {"diagnosis": "Changed", "reason": "Correction", "version": w.donor.version},
    ),
    Endpoint(
        "patch",
        _named("samples/{id}/", lambda w: f"{API}/samples/{w.sample.pk}/"),
        lambda w: {"remarks": "Changed", "reason": "Correction", "version": w.sample.version},
    ),
    Endpoint(
        "post",
        _named("samples/{id}/aliquots/", lambda w: f"{API}/samples/{w.sample.pk}/aliquots/"),
        lambda w: {"volumes_ul": ["100.0"]},
    ),
    Endpoint(
        "post",
        _named("aliquots/{id}/split/", lambda w: f"{API}/aliquots/{w.aliquots[0].pk}/split/"),
        lambda w: {"volumes_ul": ["100.0"]},
    ),
    Endpoint(
        "post",
        _named("aliquots/{id}/move/", lambda w: f"{API}/aliquots/{w.aliquots[0].pk}/move/"),
        lambda w: {"box": w.box.pk, "row": 9, "column": 9},
    ),
    Endpoint("post", _named("aliquots/{id}/thaw/", lambda w: f"{API}/aliquots/{w.aliquots[0].pk}/thaw/"), lambda w: {}),
    Endpoint(
        "post",
        _named("aliquots/{id}/consume/", lambda w: f"{API}/aliquots/{w.aliquots[0].pk}/consume/"),
        lambda w: {"volume_ul": "10.0"},
    ),
    Endpoint(
        "post",
        _named("aliquots/{id}/ship/", lambda w: f"{API}/aliquots/{w.aliquots[0].pk}/ship/"),
        lambda w: {"destination": "Core facility", "reason": "Collaboration"},
    ),
    Endpoint(
        "post",
        _named("aliquots/{id}/dispose/", lambda w: f"{API}/aliquots/{w.aliquots[0].pk}/dispose/"),
        lambda w: {"reason": "Cracked tube"},
    ),
]

ALL = LISTS + CREATES + DETAILS + OBJECT_WRITES
