"""Streamed CSV and XLSX downloads: rows go out as they are read, so an export of any length runs in flat memory.

A cell that a spreadsheet would run as a formula (text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) is written with a leading apostrophe, in both formats (OWASP's advice against CSV injection). Numbers stay
numbers."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context

from ..timeutil import local

FORMATS = ("csv", "xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: what a spreadsheet reads as the start of a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBERS = (int, float, decimal.Decimal)
#: control characters that XML 1.0 cannot hold (openpyxl refuses a cell containing one, which would break the
#: download halfway); tab, line feed and carriage return are allowed
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: CSV rows gathered before a chunk is sent
CSV_BATCH = 500
CHUNK = 64 * 1024


def neutralise(value):
    """``value`` as safe to put in a spreadsheet cell: text that a spreadsheet would run as a formula gets a leading
    apostrophe; numbers, dates and None are kept."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_value(value):
    """A cell as CSV text: dates in ISO 8601, booleans yes/no, numbers as numbers, text defused (neutralise)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        # local (Beijing) wall time, as the pages and the XLSX show it
        return (local(value).replace(tzinfo=None) if value.tzinfo else value).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, NUMBERS):
        return value
    return neutralise(str(value))  # text, and anything that becomes text (a lazily translated label)


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """UTF-8 CSV (with a byte-order mark, so that spreadsheets in Chinese read it right), a batch of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(str(name)) for name in header])
    yield codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    count = 0
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
        count += 1
        if count % CSV_BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def _xlsx_value(value):
    """A cell as openpyxl can always write it: numbers and dates typed, aware times as local wall time, text
    defused (neutralise) and without the control characters XML cannot hold."""
    if isinstance(value, dt.datetime):
        # spreadsheets have no time zones: local (Beijing) wall time, as the pages show it
        return local(value).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or isinstance(value, (*NUMBERS, dt.date)):
        return value
    # anything else as text (a lazily translated label would otherwise stop openpyxl halfway through the file)
    return neutralise(XML_ILLEGAL.sub("", str(value)))


def xlsx_chunks(header: Sequence[str], rows: Iterable[Sequence], *, title: str = "Export") -> Iterator[bytes]:
    """An XLSX workbook of one sheet, built by openpyxl's write-only mode (rows go to a temporary file as they
    come), then sent from that file in chunks. Memory stays flat whatever the number of rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    bold = Font(bold=True)
    header_cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=neutralise(str(name)))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_xlsx_value(value) for value in row])
    with tempfile.TemporaryFile(suffix=".xlsx") as out:
        workbook.save(out)
        out.seek(0)
        while chunk := out.read(CHUNK):
            yield chunk


def _deferred(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks`` after an empty first one. A WSGI caller may pull the first chunk to see that the response has
    begun (werkzeug's test client does, before it returns the response): none of the body runs then, so the
    request's contexts are pushed only where the body is really read, and never for a body nobody reads."""
    yield b""
    yield from chunks


def download(fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence], *,
             title: str = "Export") -> Response:
    """A streamed download of ``rows`` (an iterator, read lazily inside the request's context) as ``fmt``."""
    if fmt == "csv":
        body, mimetype = csv_chunks(header, rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = xlsx_chunks(header, rows, title=title), XLSX_MIMETYPE
    response = Response(_deferred(stream_with_context(body)), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
