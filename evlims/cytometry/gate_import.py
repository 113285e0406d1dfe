"""Gates imported from a FlowJo workspace (.wsp) or a Gating-ML 2.0 file (FCMPASS, FlowKit, Cytobank exports):
rectangle gates on one dimension (a threshold or range) or two, read into the gates evlims applies itself.

The element and attribute names are Gating-ML 2.0's (ISAC; as FlowKit reads them): ``gating:RectangleGate`` with
``gating:id`` and ``gating:parent_id``, ``gating:dimension`` with ``gating:min``/``gating:max`` around a
``data-type:fcs-dimension`` whose ``data-type:name`` is the parameter. A FlowJo 10 workspace nests the same
``gating:RectangleGate`` in ``Population/Gate`` elements (the population's ``name`` is the gate's, the enclosing
population its parent) under one ``SampleNode`` per file.

Refused, naming the gate: other gate shapes (polygon, ellipse, quadrant, Boolean), more than two dimensions,
bounds on a transformed or compensated scale (evlims applies neither), events outside a gate (FlowJo's
``eventsInside="0"``), and a dimension the FCS file has no parameter for. Parsed with defusedxml (no DTD, no
entities), at most ``MAX_BYTES``; pure: bytes in, gate dicts out.
"""

import re

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from .gating import MAX_GATES

MAX_BYTES = 5_000_000
GATING = "{http://www.isac-net.org/std/Gating-ML/v2.0/gating}"
DATATYPES = "{http://www.isac-net.org/std/Gating-ML/v2.0/datatypes}"
SHAPES = {"RectangleGate", "PolygonGate", "EllipsoidGate", "QuadrantGate", "BooleanGate"}
UNCOMPENSATED = {"", "uncompensated"}
MARKER = re.compile(r"^(CD\d+[A-Za-z]?)\s*(?:\+|⁺|pos)", re.IGNORECASE)


class GateImportError(ValueError):
    """The file's gates cannot be imported; the message names the gate, element or channel."""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _number(value, gate: str, bound: str):
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise GateImportError(f"Gate “{gate}”: the {bound} “{value[:40]}” is not a number.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise GateImportError(f"Gate “{gate}”: the {bound} is not a finite number.")
    return number


def _rectangle(element, name: str, parent: str) -> dict:
    """One gating:RectangleGate as {name, parent, dimensions: [(channel, min, max)]}."""
    dimensions = []
    for dimension in element.findall(f"{GATING}dimension"):
        if dimension.get(f"{GATING}transformation-ref"):
            raise GateImportError(
                f"Gate “{name}” is drawn on a transformed scale ({dimension.get(f'{GATING}transformation-ref')}); "
                "only gates on the file's own values are imported."
            )
        if (dimension.get(f"{GATING}compensation-ref") or "").lower() not in UNCOMPENSATED:
            raise GateImportError(f"Gate “{name}” is on compensated data; evlims does not apply compensation.")
        channel = dimension.find(f"{DATATYPES}fcs-dimension")
        if channel is None or not channel.get(f"{DATATYPES}name"):
            raise GateImportError(f"Gate “{name}”: a dimension names no FCS parameter (data-type:fcs-dimension).")
        low = _number(dimension.get(f"{GATING}min"), name, "lower bound")
        high = _number(dimension.get(f"{GATING}max"), name, "upper bound")
        dimensions.append((channel.get(f"{DATATYPES}name"), low, high))
    if not 1 <= len(dimensions) <= 2:
        raise GateImportError(f"Gate “{name}” has {len(dimensions)} dimensions; one or two are imported.")
    return {"name": name[:60], "parent": parent, "dimensions": dimensions}


def _shape_of(element, name: str):
    shapes = [child for child in element if _local(child.tag) in SHAPES]
    if len(shapes) != 1:
        raise GateImportError(f"Gate “{name}” holds {len(shapes)} gate shapes; one is expected.")
    shape = shapes[0]
    if _local(shape.tag) != "RectangleGate":
        raise GateImportError(
            f"Gate “{name}” is a {_local(shape.tag)}; only rectangle and threshold gates are imported."
        )
    return shape


def _gating_ml(root) -> list[dict]:
    gates = []
    for child in root:
        kind = _local(child.tag)
        if kind not in SHAPES:
            continue  # transformations and spectrum matrices: refused where a gate refers to them
        name = child.get(f"{GATING}id") or ""
        if kind != "RectangleGate":
            raise GateImportError(f"Gate “{name}” is a {kind}; only rectangle and threshold gates are imported.")
        gates.append(_rectangle(child, name, child.get(f"{GATING}parent_id") or ""))
    return _ordered(gates)


def _sample_node(root, fcs_name: str):
    nodes = list(root.iter("SampleNode"))
    if not nodes:
        raise GateImportError("The workspace holds no sample (SampleNode) with gates.")
    named = [node for node in nodes if (node.get("name") or "").strip() == fcs_name]
    if named:
        return named[0]
    if len(nodes) == 1:
        return nodes[0]
    names = ", ".join(sorted((node.get("name") or "?")[:60] for node in nodes)[:10])
    raise GateImportError(f"The workspace holds {len(nodes)} samples ({names}); none is called {fcs_name}.")


def _flowjo(root, fcs_name: str) -> list[dict]:
    gates: list[dict] = []

    def walk(element, parent: str) -> None:
        for holder in element.findall("Subpopulations"):
            for population in holder.findall("Population"):
                name = (population.get("name") or "").strip()
                gate = population.find("Gate")
                if gate is None:
                    raise GateImportError(f"Population “{name}” has no gate.")
                shape = _shape_of(gate, name)
                if shape.get("eventsInside", "1") == "0":
                    raise GateImportError(f"Gate “{name}” keeps the events outside it; only inside is imported.")
                gates.append(_rectangle(shape, name, parent))
                if len(gates) > MAX_GATES:
                    raise GateImportError(f"More than {MAX_GATES} gates; at most {MAX_GATES} are applied at once.")
                walk(population, name)

    walk(_sample_node(root, fcs_name), "")
    return gates


def _ordered(gates: list[dict]) -> list[dict]:
    """Parents before children (Gating-ML lists them in any order); an unknown parent is refused."""
    if len(gates) > MAX_GATES:
        raise GateImportError(f"{len(gates)} gates; at most {MAX_GATES} are applied at once.")
    names = {gate["name"] for gate in gates}
    for gate in gates:
        if gate["parent"] and gate["parent"] not in names:
            raise GateImportError(
                f"Gate “{gate['name']}” is inside “{gate['parent']}”, which the file does not define."
            )
    placed: list[dict] = []
    done: set[str] = set()
    while len(placed) < len(gates):
        ready = [g for g in gates if g["name"] not in done and (not g["parent"] or g["parent"] in done)]
        if not ready:
            raise GateImportError("The file's gates are inside each other in a circle.")
        placed += ready
        done |= {g["name"] for g in ready}
    return placed


def _channel(name: str, gate: str, parameters: list) -> str:
    for parameter in parameters:
        if name in (parameter.name, parameter.label):
            return parameter.name
    if name.lower().startswith("comp-"):
        raise GateImportError(f"Gate “{gate}” is on the compensated channel “{name}”; evlims does not compensate.")
    known = ", ".join(p.name for p in parameters)
    raise GateImportError(f"Gate “{gate}” is on the channel “{name}”, which the FCS file does not have ({known}).")


def read_gates(data: bytes, *, parameters: list, fcs_name: str, source: str) -> tuple[list[dict], str]:
    """The file's gates as evlims gate dicts (bounds in the file's values; ``source`` on each) and what kind of
    file it was. ``parameters`` are the FCS file's (name = $PnN, label = $PnS)."""
    if len(data) > MAX_BYTES:
        raise GateImportError(f"The gate file is {len(data):,} bytes; the limit is {MAX_BYTES:,}.")
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise GateImportError("The gate file declares a DTD or entities; such XML is not read.") from None
    except ElementTree.ParseError as exc:
        raise GateImportError(f"The gate file is not well-formed XML ({exc}).") from None
    kind = _local(root.tag)
    if kind == "Gating-ML":
        found, what = _gating_ml(root), "Gating-ML 2.0 file"
    elif kind == "Workspace":
        found, what = _flowjo(root, fcs_name), "FlowJo workspace"
    else:
        raise GateImportError(f"The file is neither a Gating-ML 2.0 file nor a FlowJo workspace (it is <{kind[:40]}>).")
    if not found:
        raise GateImportError(f"The {what} holds no gate.")
    gates = []
    for item in found:
        gate = {"name": item["name"], "parent": item["parent"], "source": source[:120]}
        for axis, (channel, low, high) in zip(("x", "y"), item["dimensions"], strict=False):
            gate |= {axis: _channel(channel, item["name"], parameters), f"{axis}_min": low, f"{axis}_max": high}
        marker = MARKER.match(item["name"])
        gate["marker"] = marker.group(1).upper() if marker else ""
        gates.append(gate)
    return gates, what
