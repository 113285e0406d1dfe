"""What the TEXT segment of an FCS file says beyond the parameters: when it was acquired, the trigger, the analysed
volume and flow rate, and keywords given twice. Standard keywords first ($DATE, $BTIM, $ETIM, $TR, $VOL); vendor
keywords seen in real files after them, marked [M] where no vendor document was read (docs/flow-cytometry.md)."""

import re
from datetime import date, datetime

MONTHS = {m: i for i, m in enumerate(("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC").split(), start=1)}

# Keywords some instruments use for the trigger and the flow rate instead of $TR [M]: Attune NxT writes
# #TR1 “OR_FSC,25000”; BD FACSDiva writes THRESHOLD “FSC,5000”. The flow rate is in µL/min (Attune #FLOWRATE).
TRIGGER_KEYWORDS = ("tr", "#tr1", "threshold", "#threshold")
FLOW_RATE_KEYWORDS = ("#flowrate", "flowrate", "#flow_rate")


def duplicated_keywords(raw: bytes) -> dict[str, list[str]]:
    """Keywords the TEXT segment gives more than once, with every value given ({KEY: [values]})."""
    if len(raw) < 2:
        return {}
    text = raw.decode("latin-1")
    delimiter = re.escape(text[0])
    parts = re.split(f"(?<!{delimiter}){delimiter}(?!{delimiter})", text[1:].rstrip(text[0]))
    seen: dict[str, list[str]] = {}
    for key, value in zip(parts[::2], parts[1::2], strict=False):
        seen.setdefault(key.strip().lstrip("$").upper(), []).append(value[:40])
    return {key: values for key, values in seen.items() if len(values) > 1}


def _date(text: str) -> date | None:
    text = text.strip()
    match = re.fullmatch(r"(\d{1,2})[-/ ]([A-Za-z]{3})[-/ ](\d{2}|\d{4})", text)
    if match and match.group(2).upper() in MONTHS:
        year = int(match.group(3))
        year += 2000 if year < 70 else 1900 if year < 100 else 0
        return _safe_date(year, MONTHS[match.group(2).upper()], int(match.group(1)))
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if match:
        return _safe_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)  # US month/day/year (FACSDiva exports) [M]
    if match:
        return _safe_date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
    return None


def _safe_date(year, month, day) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _seconds(text: str) -> float | None:
    """$BTIM/$ETIM as seconds of the day: hh:mm:ss[.cc] (3.1) or hh:mm:ss[:tt] in 1/60 s (2.0, 3.0)."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?(?:([.:])(\d{1,3}))?\s*", text or "")
    if not match:
        return None
    hours, minutes, seconds = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    fraction = 0.0
    if match.group(5):
        fraction = int(match.group(5)) / 60 if match.group(4) == ":" else float("0." + match.group(5))
    return hours * 3600 + minutes * 60 + seconds + fraction


def acquisition_time(text: dict) -> tuple[str | None, str]:
    """($DATE with $BTIM as an ISO date or date-time, a note when $DATE cannot be read)."""
    raw = str(text.get("date", "")).strip()
    if "begindatetime" in text:  # FCS 3.2
        try:
            return datetime.fromisoformat(str(text["begindatetime"]).strip()).isoformat(), ""
        except ValueError:
            pass
    if not raw:
        return None, "The file gives no acquisition date ($DATE)."
    day = _date(raw)
    if day is None:
        return None, f"$DATE is “{raw[:40]}”, not a date; the acquisition date is left empty."
    start = _seconds(str(text.get("btim", "")))
    if start is None:
        return day.isoformat(), ""
    moment = datetime(day.year, day.month, day.day, int(start // 3600), int(start % 3600 // 60), int(start % 60))
    return moment.isoformat(), ""


def trigger_from(text: dict) -> tuple[str, float | None]:
    """The trigger parameter and its threshold ($TR “FSC-H,500”; vendor keywords after it)."""
    for key in TRIGGER_KEYWORDS:
        value = str(text.get(key, "")).strip()
        if not value:
            continue
        channel, _, threshold = value.rpartition(",")
        if not channel:
            return value, None
        channel = re.sub(r"^(OR|AND)_", "", channel.strip())
        try:
            return channel, float(threshold)
        except ValueError:
            return channel, None
    return "", None


def _number(value) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 and number < 1e12 else None


def volume_from(text: dict) -> tuple[float | None, float | None, float | None]:
    """(analysed volume in µL from $VOL in nL, flow rate in µL/min, acquisition time in s from $BTIM to $ETIM)."""
    volume = _number(text.get("vol"))
    flow_rate = next((n for key in FLOW_RATE_KEYWORDS if (n := _number(text.get(key))) is not None), None)
    start, stop = _seconds(str(text.get("btim", ""))), _seconds(str(text.get("etim", "")))
    duration = None
    if start is not None and stop is not None:
        duration = stop - start if stop >= start else stop + 86400 - start  # past midnight
    return (volume / 1000 if volume is not None else None), flow_rate, duration


def calibration_from(value, number: int, notes: list[str]) -> tuple[float | None, str]:
    """$PnCALIBRATION (FCS 3.1) “f,unit”: one channel unit is f of the unit (FCMPASS writes “1,nm” on its
    diameter parameters and e.g. “0.0123,MESF” on fluorescence). (None, "") when absent or unreadable (a note)."""
    text = str(value or "").strip()
    if not text:
        return None, ""
    factor, _, units = text.partition(",")
    try:
        number_value = float(factor)
    except ValueError:
        number_value = None
    units = units.strip()
    if number_value is None or not number_value > 0 or number_value == float("inf") or not units or "," in units:
        notes.append(f"$P{number}CALIBRATION is “{text[:60]}”, not “factor,unit”; parameter {number} is uncalibrated.")
        return None, ""
    return number_value, units[:20]
