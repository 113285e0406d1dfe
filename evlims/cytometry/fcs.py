"""FCS 2.0, 3.0 and 3.1 files read into a header (what the file says about the acquisition) and an event array.

FlowIO (BSD, pure Python) parses the HEADER and TEXT segments and checks the DATA offsets; the DATA segment is
then read here with numpy straight from the bytes (``np.frombuffer``, one float32 copy), because FlowIO's own
event reader builds Python lists for mixed bit widths and masks integer data byte by byte in Python, which is
slow and unbounded for 10⁶ events. tests/cytometry/test_fcs_real.py checks that both give the same numbers.

What the standard allows is read; what it does not is a warning (``FcsHeader.warnings``) when the data can still
be read without guessing, and a refusal (``FcsError``, naming the keyword or segment) when it cannot. Sizes are
checked before anything is allocated: a file whose declared segments, ``$PAR`` or ``$TOT`` do not fit its bytes
is refused at once.
"""

import io
import re
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from .fcs_text import acquisition_time, calibration_from, duplicated_keywords, trigger_from, volume_from

MAX_PARAMETERS = 1000  # spectral cytometers write a few hundred; more is not a real file
VERSIONS = {"FCS2.0": "2.0", "FCS3.0": "3.0", "FCS3.1": "3.1", "FCS3.2": "3.2"}
KEYWORDS_KEPT = 400  # keywords stored with the header (vendor files carry thousands of lines of settings)


class FcsError(ValueError):
    """The file cannot be read as FCS; the message names the keyword or segment in the lab's words."""


@dataclass
class Parameter:
    number: int  # n of $PnN, from 1
    name: str  # $PnN
    label: str = ""  # $PnS
    range: float = 0.0  # $PnR
    bits: int = 0  # $PnB
    decades: float = 0.0  # $PnE f1 (0: linear)
    log_zero: float = 0.0  # $PnE f2
    gain: float = 1.0  # $PnG
    voltage: str = ""  # $PnV
    calibration_factor: float | None = None  # $PnCALIBRATION f: one channel unit is f calibration units
    calibration_units: str = ""  # $PnCALIBRATION unit (MESF, ERF, nm, …)

    @property
    def kind(self) -> str:
        lowered = self.name.lower()
        if lowered.startswith(("fsc", "ssc", "sals", "lals", "wals", "ls", "vssc", "bssc")):
            return "scatter"
        if lowered.startswith("time"):
            return "time"
        return "fluorescence"


@dataclass
class FcsHeader:
    version: str
    instrument: str = ""
    serial_number: str = ""
    acquired_at: str | None = None  # ISO date or date-time, as the file gives it
    event_count: int = 0
    data_type: str = ""
    byte_order: str = ""
    parameters: list[Parameter] = field(default_factory=list)
    trigger_channel: str = ""
    trigger_threshold: float | None = None
    volume_ul: float | None = None  # analysed volume, from $VOL (nL) or a vendor keyword
    flow_rate_ul_per_min: float | None = None
    duration_s: float | None = None
    sample_name: str = ""
    timestep: float | None = None  # $TIMESTEP: seconds per unit of the time parameter
    data_start: int = 0
    data_stop: int = 0
    warnings: list[str] = field(default_factory=list)
    keywords: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = asdict(self)
        for item, parameter in zip(out["parameters"], self.parameters, strict=True):
            item["kind"] = parameter.kind
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "FcsHeader":
        values = dict(data)
        values["parameters"] = [
            Parameter(**{k: v for k, v in p.items() if k != "kind"}) for p in values.get("parameters", [])
        ]
        return cls(**values)

    def index_of(self, name: str) -> int:
        for position, parameter in enumerate(self.parameters):
            if name in (parameter.name, parameter.label):
                return position
        raise FcsError(f"The file has no parameter named “{name}”.")


def _offsets(data: bytes) -> tuple[str, list[int]]:
    if len(data) < 58:
        raise FcsError("The file is shorter than an FCS header (58 bytes).")
    magic = data[:6].decode("latin-1")
    if magic not in VERSIONS:
        raise FcsError(f"Not an FCS file: it starts with “{magic.strip() or 'nothing'}”, not FCS2.0, FCS3.0 or FCS3.1.")
    numbers = []
    for start in (10, 18, 26, 34):
        text = data[start : start + 8].decode("latin-1").strip() or "0"
        if not text.isdigit():
            raise FcsError(f"The HEADER's segment offset at byte {start} is “{text}”, not a number.")
        numbers.append(int(text))
    if not 58 <= numbers[0] <= numbers[1] < len(data):
        raise FcsError(f"The HEADER puts the TEXT segment at bytes {numbers[0]}–{numbers[1]}, outside the file.")
    return VERSIONS[magic], numbers


def _flowio_text(data: bytes, version: str, notes: list[str]):
    import flowio  # imported here: the pure modules load without it until a file is read

    options = {}
    for _ in range(2):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                parsed = flowio.FlowData(io.BytesIO(data), only_text=True, **options)
            notes.extend(str(w.message) for w in caught)
            return parsed, options
        except flowio.exceptions.DataOffsetDiscrepancyError as exc:
            if options:
                raise FcsError(str(exc).replace("InMemoryFile ", "")) from exc
            notes.append(
                "The HEADER and the TEXT segment give different DATA offsets; the ones that fit $TOT × $PAR are used."
            )
            options = {"ignore_offset_discrepancy": True}
        except KeyError as exc:
            keyword = str(exc).strip("'").upper()
            raise FcsError(f"The TEXT segment has no ${keyword}, which the FCS standard requires.") from exc
        except (ValueError, EOFError, IndexError, UnicodeDecodeError, flowio.exceptions.FlowIOException) as exc:
            message = str(exc).replace("InMemoryFile ", "")
            raise FcsError(f"The FCS {version} TEXT segment cannot be read: {message}") from exc
    raise FcsError("The file cannot be read.")  # pragma: no cover


def _int(text: dict, key: str, what: str) -> int:
    value = str(text.get(key, "")).strip()
    if not re.fullmatch(r"\d{1,12}", value):
        raise FcsError(f"${key.upper()} ({what}) is “{value}”, not a whole number.")
    return int(value)


def _float(value, default=None):
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return default
    return number if np.isfinite(number) else default


def _parameters(text: dict, count: int, notes: list[str]) -> list[Parameter]:
    present = {int(m.group(1)) for key in text if (m := re.fullmatch(r"p(\d+)n", key))}
    extra = sorted(n for n in present if n > count)
    if extra:
        notes.append(
            f"$PAR is {count} but the TEXT segment names parameters up to P{max(extra)}N; only {count} are read."
        )
    parameters = []
    for n in range(1, count + 1):
        name = str(text.get(f"p{n}n", "")).strip()
        if not name:
            notes.append(f"$P{n}N is missing; parameter {n} is called P{n}.")
            name = f"P{n}"
        amplification = str(text.get(f"p{n}e", "0,0")).split(",")
        decades, log_zero = _float(amplification[0], 0.0), _float(amplification[-1], 0.0)
        if decades > 0 and log_zero <= 0:
            given = text.get(f"p{n}e")
            notes.append(f"$P{n}E is “{given}”: a log scale with log(0) of 0; 1 is used as the standard says.")
            log_zero = 1.0
        bits_text = str(text.get(f"p{n}b", "0")).strip()
        factor, units = calibration_from(text.get(f"p{n}calibration"), n, notes)
        parameters.append(
            Parameter(
                number=n,
                name=name,
                label=str(text.get(f"p{n}s", "")).strip(),
                range=_float(text.get(f"p{n}r"), 0.0),
                bits=int(bits_text) if bits_text.isdigit() else 0,
                decades=decades,
                log_zero=log_zero,
                gain=_float(text.get(f"p{n}g"), 1.0) or 1.0,
                voltage=str(text.get(f"p{n}v", "")).strip(),
                calibration_factor=factor,
                calibration_units=units,
            )
        )
    return parameters


def _data_segment(header_offsets, text, version, size, expected, notes) -> tuple[int, int]:
    """The DATA segment's first and last byte: the TEXT's offsets for FCS 3.x (the HEADER's hold 0 past 99,999,999
    bytes), else the HEADER's; whichever pair fits $TOT × $PAR × width when they disagree."""
    candidates = [(header_offsets[2], header_offsets[3])]
    if version != "2.0" and "begindata" in text:
        candidates.insert(0, (_int(text, "begindata", "DATA start"), _int(text, "enddata", "DATA end")))
    for start, stop in candidates:
        if 0 < start <= stop < size and stop - start + 1 in (expected, expected + 1):
            if stop - start + 1 == expected + 1:
                notes.append("The DATA segment's last byte is given one past its end (a common writer slip); ignored.")
            return start, start + expected - 1
    start, stop = candidates[0]
    if stop >= size:
        raise FcsError(f"The DATA segment is declared at bytes {start}–{stop} but the file has {size} bytes.")
    raise FcsError(
        f"$TOT × $PAR needs {expected:,} bytes of event data but the DATA segment holds {stop - start + 1:,}."
    )


def read_header(data: bytes) -> FcsHeader:
    """The acquisition as the file describes it; raises FcsError when the file cannot be read."""
    version, offsets = _offsets(data)
    notes: list[str] = []
    raw_text = data[offsets[0] : offsets[1] + 1]
    for keyword, values in duplicated_keywords(raw_text).items():
        notes.append(f"${keyword} is given {len(values)} times ({', '.join(values)}); the last one is used.")
    parsed, _ = _flowio_text(data, version, notes)
    text = parsed.text
    if int(text.get("nextdata", "0") or 0):
        notes.append("The file holds more than one data set ($NEXTDATA); only the first is read.")
    count = _int(text, "par", "number of parameters")
    if not 1 <= count <= MAX_PARAMETERS:
        raise FcsError(f"$PAR is {count}; between 1 and {MAX_PARAMETERS} parameters are read.")
    events = _int(text, "tot", "number of events")
    mode = str(text.get("mode", "L")).upper()
    if mode != "L":
        raise FcsError(f"$MODE is {mode}: only list-mode data (L) holds events.")
    data_type = str(text.get("datatype", "")).upper()
    if data_type not in {"I", "F", "D"}:
        raise FcsError(f"$DATATYPE is “{data_type}”; integer (I), float (F) and double (D) event data are read.")
    parameters = _parameters(text, count, notes)
    width = _row_width(parameters, data_type)
    if events * width > len(data):
        raise FcsError(f"$TOT is {events:,} events of {width} bytes, more than the file's {len(data):,} bytes.")
    start, stop = _data_segment(offsets, text, version, len(data), events * width, notes)
    byte_order = str(text.get("byteord", "")).replace(" ", "")
    if _endian(byte_order) is None:
        raise FcsError(f"$BYTEORD is “{byte_order}”; 1,2,3,4 (little-endian) and 4,3,2,1 (big-endian) are read.")
    when, date_note = acquisition_time(text)
    notes.extend([date_note] if date_note else [])
    trigger, threshold = trigger_from(text)
    volume_ul, flow_rate, duration = volume_from(text)
    keywords = {k.upper(): str(v)[:300] for k, v in list(text.items())[:KEYWORDS_KEPT]}
    return FcsHeader(
        version=version,
        instrument=str(text.get("cyt", "")).strip(),
        serial_number=str(text.get("cytsn", "") or text.get("cytnum", "")).strip(),
        acquired_at=when,
        event_count=events,
        data_type=data_type,
        byte_order=byte_order,
        parameters=parameters,
        trigger_channel=trigger,
        trigger_threshold=threshold,
        volume_ul=volume_ul,
        flow_rate_ul_per_min=flow_rate,
        duration_s=duration,
        sample_name=str(text.get("smno", "") or text.get("fil", "")).strip(),
        timestep=_float(text.get("timestep")),
        data_start=start,
        data_stop=stop,
        warnings=notes,
        keywords=keywords,
    )


def _endian(byte_order: str) -> str | None:
    return {"1,2,3,4": "<", "1,2": "<", "4,3,2,1": ">", "2,1": ">"}.get(byte_order)


def _row_width(parameters: list[Parameter], data_type: str) -> int:
    if data_type == "F":
        return 4 * len(parameters)
    if data_type == "D":
        return 8 * len(parameters)
    for p in parameters:
        if p.bits not in (8, 16, 32, 64):
            raise FcsError(f"$P{p.number}B is {p.bits}: integer data is read in 8, 16, 32 or 64 bits per value.")
    return sum(p.bits // 8 for p in parameters)


def read_events(data: bytes, header: FcsHeader) -> np.ndarray:
    """The events as a (events × parameters) float32 array, log-amplified values ($PnE) brought back to linear
    and gains ($PnG) divided out, as the standard says. Memory: one float32 copy of the DATA segment."""
    order = _endian(header.byte_order)
    segment = memoryview(data)[header.data_start : header.data_stop + 1]
    parameters = header.parameters
    if header.data_type in {"F", "D"}:
        dtype = np.dtype(f"{order}f{4 if header.data_type == 'F' else 8}")
        events = np.frombuffer(segment, dtype=dtype).reshape(header.event_count, len(parameters)).astype(np.float32)
    else:
        fields = np.dtype([(f"p{p.number}", f"{order}u{p.bits // 8}") for p in parameters])
        rows = np.frombuffer(segment, dtype=fields, count=header.event_count)
        events = np.empty((header.event_count, len(parameters)), dtype=np.float32)
        for position, p in enumerate(parameters):
            column = rows[f"p{p.number}"]
            if p.range >= 1 and 2**p.bits > p.range:
                column = column & np.array(_mask(p.range), dtype=column.dtype)  # bits above $PnR are ignored
            events[:, position] = column
    for position, p in enumerate(parameters):
        if p.decades > 0 and p.range > 0:
            events[:, position] = np.power(10.0, p.decades * events[:, position] / p.range) * p.log_zero
        if p.kind == "time" and header.timestep:
            events[:, position] *= header.timestep
        elif p.gain not in (0.0, 1.0) and p.kind != "time":
            events[:, position] /= p.gain
    return events


def _mask(value_range: float) -> int:
    power = 1
    while power < value_range:
        power <<= 1
    return power - 1


def read_fcs(data: bytes) -> tuple[FcsHeader, np.ndarray]:
    header = read_header(data)
    return header, read_events(data, header)
