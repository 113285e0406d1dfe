"""FCS files written byte by byte for the tests: keywords in the order given (duplicates kept), any byte order
and data type, offsets that can be made to lie. Real files stand beside them in tests/fixtures/fcs/."""

import numpy as np


def fcs_bytes(
    events: np.ndarray,
    names: list[str],
    *,
    version: str = "3.1",
    datatype: str = "F",
    order: str = "<",
    bits: int = 32,
    extra: list[tuple[str, str]] | None = None,
    par: int | None = None,
    tot: int | None = None,
    ranges: list[int] | None = None,
    drop: tuple[str, ...] = (),
    header_data: tuple[int, int] | None = None,
) -> bytes:
    events = np.asarray(events)
    count, width = events.shape
    if datatype == "F":
        dtype = f"{order}f4"
    elif datatype == "D":
        dtype = f"{order}f8"
    else:
        dtype = f"{order}u{bits // 8}"
    data = events.astype(dtype).tobytes()
    pairs = [
        ("$BYTEORD", "1,2,3,4" if order == "<" else "4,3,2,1"),
        ("$DATATYPE", datatype),
        ("$MODE", "L"),
        ("$PAR", str(par if par is not None else width)),
        ("$TOT", str(tot if tot is not None else count)),
        ("$NEXTDATA", "0"),
    ]
    for n, name in enumerate(names, start=1):
        pairs += [
            (f"$P{n}N", name),
            (f"$P{n}B", str(bits if datatype == "I" else 32 if datatype == "F" else 64)),
            (f"$P{n}E", "0,0"),
            (f"$P{n}R", str((ranges or [262144] * width)[n - 1])),
        ]
    pairs += list(extra or [])
    pairs = [(k, v) for k, v in pairs if k not in drop]
    text_start = 256

    def text_for(data_start, data_stop):
        offsets = [("$BEGINDATA", str(data_start)), ("$ENDDATA", str(data_stop))] if version != "2.0" else []
        body = "".join(f"/{k}/{v}" for k, v in pairs + offsets) + "/"
        return body.encode("latin-1")

    text = text_for(0, 0)
    for _ in range(3):  # the offsets' own digits move the DATA segment
        data_start = text_start + len(text) + 10
        data_stop = data_start + len(data) - 1
        text = text_for(data_start, data_stop)
    data_start = text_start + len(text) + 10
    data_stop = data_start + len(data) - 1
    text = text_for(data_start, data_stop)
    h_start, h_stop = header_data or (data_start, data_stop)
    header = f"FCS{version}    {text_start:>8}{text_start + len(text) - 1:>8}{h_start:>8}{h_stop:>8}{0:>8}{0:>8}"
    out = header.encode().ljust(text_start, b" ") + text + b" " * (data_start - text_start - len(text)) + data
    return out
