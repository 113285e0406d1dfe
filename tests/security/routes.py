"""Every URL of the plugin, read from the resolver, and how to fill each one's parameters with a lab's records.

A parameter is filled from the collection segment just before it in the route (``samples/<int:pk>/`` takes a
sample, ``instruments/<int:pk>/keys/<int:key_pk>/`` an instrument and then a key). Slug parameters take every
value the view accepts, read from the view module itself. A route whose parameter cannot be filled has no case:
``unfilled_routes`` lists it, and the tenancy matrix fails until this table learns it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

# Collection segment of a route → attribute of tests.security.world.LabRecords holding that kind of record.
COLLECTIONS = {
    "acquisitions": "flow_acquisition",
    "aliquots": "aliquot",
    "boxes": "box",
    "comparison-items": "comparison_item",
    "comparison-rounds": "comparison_round",
    "calibrations": "flow_calibration",
    "controls": "control_material",
    "control-materials": "control_material",
    "custody-events": "custody_event",
    "dilution-series": "dilution_series",
    "dilutions": "dilution_series",
    "donors": "donor",
    "imports": "manifest_import",
    "ingestions": "ingestion",
    "instruments": "instrument",
    "jobs": "metric_job",
    "keys": "api_key",
    "lab-admin": "lab",
    "lots": "reference_lot",
    "labs": "lab",
    "members": "membership",
    "measurements": "measurement",
    "plate-layouts": "plate_layout",
    "preparations": "preparation",
    "projects": "project",
    "protocol-versions": "protocol_version",
    "protocols": "protocol",
    "raw-files": "raw_file",
    "readouts": "tracer_readout",
    "results": "flow_result",
    "reference-lots": "reference_lot",
    "reviews": "review",
    "runs": "run",
    "samples": "sample",
    "spikes": "spike",
    "storage-units": "box",
    "tracer-readouts": "tracer_readout",
    "versions": "protocol_version",
}
# Integer parameters that are not record ids: a value valid for the record before them.
ORDINALS = {"number": 1}


def _slug_values():
    """(url name, parameter) → the values the view accepts, taken from the view modules."""
    from evlims.web.views import audit, results, reviews

    return {
        ("review-sign", "action"): sorted(reviews.SIGNING),
        ("result-new", "kind"): sorted(results.RESULT_FORMS),
        ("audit", "object_type"): sorted(audit.AUDITED),
        ("import-template", "file_format"): ["csv", "xlsx"],
    }


@dataclass(frozen=True)
class Route:
    name: str  # "evlims:sample-detail", "evlims:api:run-start"
    route: str  # the pattern text, e.g. "samples/<int:pk>/"
    params: tuple[str, ...]
    defaults: dict = field(default_factory=dict, compare=False, hash=False)
    callback: object = field(default=None, compare=False, hash=False)

    @property
    def is_api(self) -> bool:
        return self.name.startswith("evlims:api:")

    @property
    def url_name(self) -> str:
        return self.name.rsplit(":", 1)[1]

    def __str__(self):
        return self.name


def _params(pattern) -> tuple[str, ...]:
    if isinstance(pattern, RoutePattern):
        return tuple(re.findall(r"<(?:\w+:)?(\w+)>", pattern._route))
    return tuple(pattern.regex.groupindex)


def _walk(patterns, prefix: str, namespace: str, params: tuple[str, ...]):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner, params + _params(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name and namespace.split(":")[0] == "evlims":
            yield Route(
                name=f"{namespace}:{entry.name}",
                route=prefix + str(entry.pattern),
                params=params + _params(entry.pattern),
                defaults=dict(entry.default_args),
                callback=entry.callback,
            )


def evlims_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns, "", "", ()))


def _collection_before(route: str, param: str) -> str | None:
    match = re.search(r"([\w-]+)/<(?:\w+:)?" + re.escape(param) + ">", route)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Case:
    route: Route
    kwargs: dict

    def __str__(self):
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.kwargs.items()) if not isinstance(v, int))
        return f"{self.route.name}[{extra}]" if extra else self.route.name


def _fill(route: Route, records) -> list[dict] | None:
    """Every kwargs dict for ``route`` with ``records``' objects, or None when a parameter is unknown."""
    slugs = _slug_values()
    options: list[dict] = [{}]
    by_model = {
        obj._meta.model_name: obj
        for obj in vars(records).values()
        if hasattr(obj, "_meta") and getattr(obj, "pk", None) is not None
    }
    object_type_param = None
    for param in route.params:
        if (route.url_name, param) in slugs:
            values = slugs[(route.url_name, param)]
            options = [dict(o, **{param: v}) for o in options for v in values]
            if param == "object_type":
                object_type_param = param
        elif param in ORDINALS:
            options = [dict(o, **{param: ORDINALS[param]}) for o in options]
        elif object_type_param and param == "pk":
            options = [
                dict(o, pk=by_model[o[object_type_param]].pk) for o in options if o[object_type_param] in by_model
            ]
        else:
            attribute = COLLECTIONS.get(_collection_before(route.route, param) or "")
            if attribute is None or getattr(records, attribute, None) is None:
                return None
            options = [dict(o, **{param: getattr(records, attribute).pk}) for o in options]
    return options


def _names_a_record(route: Route) -> bool:
    slugs = _slug_values()
    return any((route.url_name, p) not in slugs and p not in ORDINALS for p in route.params)


def id_routes() -> list[Route]:
    """Routes that name a record (take at least one parameter that is not a fixed choice)."""
    return [route for route in evlims_routes() if _names_a_record(route)]


def plain_routes() -> list[Route]:
    """Routes naming no record (lists, forms, exports of the user's own labs)."""
    return [route for route in evlims_routes() if not _names_a_record(route)]


def plain_urls() -> list[tuple[Route, str]]:
    """Each plain route's URLs, one per accepted value of its fixed-choice parameters."""
    from django.urls import reverse

    urls = []
    for route in plain_routes():
        options = [{}]
        for param in route.params:
            options = [dict(o, **{param: v}) for o in options for v in _slug_values()[(route.url_name, param)]]
        urls += [(route, reverse(route.name, kwargs=kwargs)) for kwargs in options]
    return urls


def cases_for(records) -> tuple[list[Case], list[Route]]:
    """(cases, routes that could not be filled)."""
    cases, unfilled = [], []
    for route in id_routes():
        filled = _fill(route, records)
        if not filled:
            unfilled.append(route)
            continue
        cases += [Case(route, kwargs) for kwargs in filled]
    return cases, unfilled
