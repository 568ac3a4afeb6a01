"""CSV text for exports: cells that a spreadsheet cannot run as formulas, written a chunk at a
time so an export of a million rows never holds more than one chunk.

Plain Python, no Django: strings in, text chunks out.
"""

import csv
import io
from collections.abc import Iterable, Iterator

# Excel reads a CSV file as the local code page unless it starts with a byte order mark:
# with it, Chinese names and labels open correctly.
BOM = "\ufeff"
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (tab and carriage return hide such a start). OWASP "CSV injection".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 200


def safe_cell(text: str) -> str:
    """The text, with a leading quote if a spreadsheet would take it for a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


def csv_chunks(
    header: list[str], rows: Iterable[list], *, rows_per_chunk: int = ROWS_PER_CHUNK
) -> Iterator[str]:
    """The BOM and header first (before a single row is read), then the rows in chunks of
    `rows_per_chunk`. Every string cell passes `safe_cell`; numbers (already text) are the
    caller's `Number` cells and keep a leading minus."""
    yield BOM + csv_line(safe_cell(h) for h in header)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    count = 0
    for row in rows:
        writer.writerow(c if isinstance(c, Number) else safe_cell(c) for c in row)
        count += 1
        if count == rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            count = 0
    if count:
        yield buffer.getvalue()


class Number(str):
    """A cell holding a number written out in full (``-12.50``): never a formula, so it is
    written as it is, minus sign and all."""
