"""CSV in and out. Plain functions: no Flask import.

Exports are UTF-8 with a byte-order mark (so Excel opens accents correctly) and every cell that
a spreadsheet would run as a formula is neutralised with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write_csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class CsvError(ValueError):
    pass


def read_csv(data: bytes, *, max_rows: int) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Parse an uploaded CSV (UTF-8, with or without BOM; Excel's Windows-1252 as a fallback).

    Returns the normalised header and the rows as (line number in the file, dict) pairs, blank
    lines skipped; raises CsvError with a readable reason.
    """
    if not data.strip():
        raise CsvError("The file is empty.")
    if b"\x00" in data:
        raise CsvError("This does not look like a CSV file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise CsvError("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.") from None
    rows: list[tuple[int, list[str]]] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        line = 1
        for raw in reader:
            if any(cell.strip() for cell in raw):
                rows.append((line, raw))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise CsvError(f"The file could not be read as CSV ({exc}).") from None
    if not rows:
        raise CsvError("The file is empty.")
    header = [h.strip().lower().replace(" ", "_") for h in rows[0][1]]
    body = rows[1:]
    if len(body) > max_rows:
        raise CsvError(f"The file has {len(body)} rows; import at most {max_rows} at a time.")
    out = []
    for number, raw in body:
        out.append(
            (number, {header[i]: (raw[i].strip() if i < len(raw) else "") for i in range(len(header)) if header[i]})
        )
    return header, out
