"""Reading a chart written by evlims.metrics.svg back into numbers, the way a person reads it: a mark's place is
turned into a value through the axis' own tick labels, so a chart whose marks and ticks disagree reads wrong."""

from __future__ import annotations

import base64
import math
import re
import xml.etree.ElementTree as ET

NS = {"svg": "http://www.w3.org/2000/svg"}
SUPERSCRIPTS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def svg_root(uri: str) -> ET.Element:
    text = base64.b64decode(uri.split(",", 1)[1]).decode()
    return ET.fromstring(text)  # well-formed XML, or this fails


def label_value(label: str) -> float:
    """'10¹⁰' → 1e10, '2×10⁹' → 2e9, '1.5 × 10¹⁰' → 1.5e10, '4' → 4."""
    match = re.fullmatch(r"(?:([\d.]+)\s*×\s*)?10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", label.strip())
    if match is None:
        return float(label)
    mantissa = float(match.group(1) or 1)
    return mantissa * 10 ** int(match.group(2).translate(SUPERSCRIPTS))


def ticks(root, axis: str) -> list[tuple[float, float]]:
    """(pixel, value) of each tick of the "x" or "y" axis: the tick line's place and its label's number."""
    lines = root.findall(f".//svg:line[@class='{axis}-tick']", NS)
    labels = root.findall(f".//svg:text[@class='{axis}-tick']", NS)
    assert lines and len(lines) == len(labels)
    key = "y1" if axis == "y" else "x1"
    return [(float(line.get(key)), label_value(label.text)) for line, label in zip(lines, labels, strict=True)]


def reader(root, axis: str, *, log: bool):
    """Pixel → value through the first and last ticks of the axis."""
    (p0, v0), (p1, v1) = ticks(root, axis)[0], ticks(root, axis)[-1]
    scale = math.log10 if log else (lambda v: v)
    s0, s1 = scale(v0), scale(v1)

    def read(pixel: float) -> float:
        scaled = s0 + (pixel - p0) / (p1 - p0) * (s1 - s0)
        return 10**scaled if log else scaled

    return read


def vertices(path) -> list[tuple[float, float]]:
    """The points of a marked path: its vertices, the repeated first one dropped."""
    numbers = [float(n) for n in re.findall(r"-?[\d.]+", path.get("d"))]
    pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
    return pairs[1:]


def groups(root) -> dict[str, list[tuple[float, float]]]:
    return {path.get("data-group"): vertices(path) for path in root.findall(".//svg:path[@class='points']", NS)}


def texts(root, cls: str) -> list[str]:
    return [element.text for element in root.findall(f".//svg:text[@class='{cls}']", NS)]
