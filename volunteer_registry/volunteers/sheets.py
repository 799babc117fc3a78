"""Reading an uploaded CSV or XLSX file as rows of cells, never doing more work than the limits allow.

Every bound is checked while reading, before the work it guards: a CSV line too long to hold the allowed columns
is refused before it is split into fields; an XLSX file's zip directory (its parts and their sizes) before anything
is decompressed, and a sheet's declared dimension before its first row. Counters bound what a file does not declare
(rows, cells, columns, characters, XML elements), and a deadline bounds the time, so a hostile file is refused with a
coded ImportFileError within the limits, never by the worker's timeout. After the header the caller names the
columns it wants (``only``), and the readers skip the others' cells without decoding them.

XLSX is read with expat, not openpyxl: openpyxl builds every cell of a row before it yields the row (a 17 KB file
whose second row held 4 million cells: 13 s of processor, 1.2 GB), reads every sheet without a dimension in full
when the workbook opens, and costs up to 20 µs an XML element for rich text and styles. This reader reads the first
worksheet, its shared strings and the number formats that mark dates, in one pass each at a microsecond or two an
element, keeping only the cells of the wanted columns; the values are those openpyxl gives (its date rules and
conversions are used). The measured worst cases are in docs/operations.md, "Bulk import".
"""
from __future__ import annotations

import csv
import functools
import io
import posixpath
import pyexpat
import re
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

from ..errors import DomainError

#: how much of a zip part is decompressed and parsed at a time (the deadline is checked between chunks)
CHUNK = 64 * 1024
#: the longest piece of markup (a tag with its attributes, a comment) the XLSX reader waits for: expat 2.5 scans an
#: unfinished one again with every chunk, so a 60 MiB attribute took 53 s in 64 KiB chunks; no real part has one
#: longer than a few hundred bytes
MAX_MARKUP = 1024 * 1024


class ImportFileError(DomainError):
    """A file that cannot be imported as a whole: unreadable, of the wrong kind, or beyond a limit."""

    messages = {
        "file_empty": _l("The file is empty."),
        "file_type": _l("Upload a CSV or an XLSX file."),
        "file_encoding": _l("The CSV file must be saved as UTF-8 or GB18030 text."),
        "file_unreadable": _l("The spreadsheet cannot be read; save it again as XLSX or CSV."),
        "file_too_big": _l("A file may be at most %(max)s MB; split it."),
        "file_too_large": _l("The spreadsheet expands to more than the allowed size."),
        "too_many_parts": _l("The spreadsheet holds more than %(max)s parts; copy the volunteers into a new file."),
        "too_many_rows": _l("A file may hold at most %(max)s rows; split it."),
        "too_many_columns": _l("The file has more than %(max)s columns; delete the columns that are not in the "
                               "template."),
        "too_many_cells": _l("The file holds more than %(max)s cells, counting empty cells that are formatted; "
                             "delete the rows and columns you do not use, or save it as CSV."),
        "cell_too_long": _l("A cell on row %(row)s holds more than %(max)s characters."),
        "import_too_slow": _l("The import was stopped after %(seconds)s seconds, and nothing was imported; split "
                              "the file into smaller ones."),
        "missing_columns": _l("These columns are missing: %(columns)s."),
    }


@dataclass(frozen=True)
class ImportLimits:
    """What one file may hold. ``size`` is the file's own size in bytes; ``rows`` counts the rows after the header,
    blank ones included; ``cells`` every cell of a CSV line or of the XLSX sheet, formatted empty ones included;
    ``cell_chars`` the text of each cell that is read."""

    size: int = 8 * 1024 * 1024
    rows: int = 20_000
    columns: int = 64
    cells: int = 500_000
    cell_chars: int = 1_000
    xlsx_uncompressed: int = 64 * 1024 * 1024
    xlsx_parts: int = 1_000

    @classmethod
    def from_config(cls, config: Mapping) -> ImportLimits:
        return cls(size=config["IMPORT_MAX_BYTES"], rows=config["IMPORT_MAX_ROWS"],
                   columns=config["IMPORT_MAX_COLUMNS"], cells=config["IMPORT_MAX_CELLS"],
                   cell_chars=config["IMPORT_MAX_CELL_CHARS"],
                   xlsx_uncompressed=config["IMPORT_XLSX_MAX_UNCOMPRESSED"],
                   xlsx_parts=config["IMPORT_XLSX_MAX_PARTS"])


class Deadline:
    """A point in time after which ``check()`` refuses with import_too_slow; ``Deadline(None)`` never does."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self._at = None if seconds is None else time.monotonic() + seconds

    def check(self) -> None:
        if self._at is not None and time.monotonic() > self._at:
            raise ImportFileError("import_too_slow", field="file", seconds=f"{self.seconds:g}")


#: takes one row: its number in the file (the first is 1) and its cells, {column index from 0: value}
Take = Callable[[int, dict[int, object]], None]


class Rows:
    """Reads a file's rows in order and hands each to ``take`` as it is read (``read(take)``), empty cells left
    out. Once ``take`` has called ``only(columns)``, the rows after hold those columns alone: the others' cells are
    skipped without being decoded."""

    def __init__(self):
        self.wanted: frozenset[int] | None = None

    def only(self, columns: Iterable[int]) -> None:
        self.wanted = frozenset(columns)


def _refuse(code: str, **params) -> ImportFileError:
    return ImportFileError(code, field="file", **params)


# --- CSV -------------------------------------------------------------------------------------------------------------

def decode_csv(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refuse("file_encoding")


#: a physical line and its end (\r\n, \n or \r), or the last line without one
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class CsvRows(Rows):
    """A CSV file's records. A physical line longer than the allowed columns of the allowed characters could hold
    is refused before the csv module splits it (a line of a million commas is never a million fields); a quoted
    field running over many lines stops at the csv module's field limit."""

    def __init__(self, text: str, limits: ImportLimits, deadline: Deadline):
        super().__init__()
        self.text, self.limits, self.deadline = text, limits, deadline

    def _lines(self) -> Iterator[str]:
        """The physical lines, their ends kept (as the csv module wants them), one at a time: the text is not
        copied (io.StringIO would hold it four bytes a character)."""
        longest = self.limits.columns * (self.limits.cell_chars + 3)  # every field quoted, and its comma
        text = self.text
        for number, match in enumerate(_LINE.finditer(text), 1):
            start, end = match.span()
            if end - start > longest:
                if text.count(",", start, end) >= self.limits.columns:
                    raise _refuse("too_many_columns", max=self.limits.columns)
                raise _refuse("cell_too_long", row=number, max=self.limits.cell_chars)
            yield match.group()

    def read(self, take: Take) -> None:
        limits, cells = self.limits, 0
        records = csv.reader(self._lines())
        number = 0
        try:
            for number, fields in enumerate(records, 1):
                self.deadline.check()
                if number > limits.rows + 1:
                    raise _refuse("too_many_rows", max=limits.rows)
                if len(fields) > limits.columns:
                    raise _refuse("too_many_columns", max=limits.columns)
                cells += len(fields)
                if cells > limits.cells:
                    raise _refuse("too_many_cells", max=limits.cells)
                wanted = self.wanted if self.wanted is not None else range(len(fields))
                take(number, {i: fields[i] for i in wanted if i < len(fields) and fields[i]})
        except csv.Error as error:
            if "field limit" in str(error):  # a quoted field that never ends
                raise _refuse("cell_too_long", row=number + 1, max=limits.cell_chars) from None
            raise _refuse("file_unreadable") from None


# --- XLSX ------------------------------------------------------------------------------------------------------------

_DIMENSION = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,10})(?::\$?([A-Za-z]{1,3})\$?(\d{1,10}))?")


def column_number(letters: str) -> int:
    """1 for A, 27 for AA, 16384 for XFD."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


@functools.lru_cache(maxsize=256)
def _column_of(letters: str) -> int:
    """A cell reference's column number; past XFD, or not letters at all, a number past any limit."""
    if not 0 < len(letters) <= 3 or not letters.isalpha() or not letters.isascii():
        return 1 << 20
    return column_number(letters)


def _number(text: str) -> int | float:
    return float(text) if "." in text or "e" in text or "E" in text else int(text)


@functools.lru_cache(maxsize=256)
def _local(name: str) -> str:
    """An element's name without its namespace (expat gives "namespace name")."""
    return name[name.rfind(" ") + 1:]


class _Part:
    """Parses one XML part of the package with expat, in chunks: no DTD (so no entities), at most the package's
    remaining element budget, the deadline checked between chunks. Subclasses handle the elements (local names;
    namespaces are ignored)."""

    def __init__(self, book: XlsxRows):
        self.book = book

    def start(self, name: str, attrs: dict) -> None:
        pass

    def end(self, name: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass

    def _start(self, name: str, attrs: dict) -> None:
        book = self.book
        book.elements -= 1
        if book.elements < 0:
            raise _refuse("too_many_cells", max=book.limits.cells)
        self.start(_local(name), attrs)

    def _end(self, name: str) -> None:
        self.end(_local(name))

    @staticmethod
    def _doctype(*_args) -> None:
        raise _refuse("file_unreadable")  # no OOXML part has one; it is the door to entity expansion

    def read(self, name: str) -> None:
        """Parse the part ``name``; its handlers do the rest."""
        parser = pyexpat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.StartDoctypeDeclHandler = self._doctype
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self.text
        try:
            fed = 0
            with self.book.archive.open(self.book.member(name)) as source:
                while chunk := source.read(CHUNK):
                    parser.Parse(chunk, False)
                    fed += len(chunk)
                    if fed - parser.CurrentByteIndex > MAX_MARKUP:  # outside a handler: just past the last token
                        raise _refuse("file_unreadable")
                    self.book.deadline.check()
            parser.Parse(b"", True)
        except (pyexpat.ExpatError, zipfile.BadZipFile, EOFError, OSError, RuntimeError, ValueError):
            # RuntimeError: an encrypted part, or a compression method zipfile does not support (a subclass)
            raise _refuse("file_unreadable") from None


class _Relationships(_Part):
    def __init__(self, book):
        super().__init__(book)
        self.found: dict[str, tuple[str, str]] = {}  # Id → (Type, Target)

    def start(self, name, attrs):
        if name == "Relationship" and attrs.get("TargetMode") != "External":
            self.found[attrs.get("Id", "")] = (attrs.get("Type", ""), attrs.get("Target", ""))

    def of_type(self, kind: str) -> str | None:
        return next((target for rel_type, target in self.found.values() if rel_type.endswith("/" + kind)), None)


class _Workbook(_Part):
    def __init__(self, book):
        super().__init__(book)
        self.sheets: list[str] = []  # relationship ids, in the workbook's order
        self.date1904 = False

    def start(self, name, attrs):
        if name == "sheet":
            self.sheets.append(next((value for key, value in attrs.items() if key.endswith(" id")), ""))
        elif name == "workbookPr":
            self.date1904 = attrs.get("date1904", "").lower() in ("1", "true")


class _Styles(_Part):
    """Which cell styles (indexes into cellXfs) show numbers as dates, or as durations: openpyxl's rules."""

    def __init__(self, book):
        super().__init__(book)
        self.formats: dict[int, str] = {}
        self.cell_formats: list[int] = []
        self.in_cell_xfs = False

    def start(self, name, attrs):
        if name == "numFmt":
            self.formats[_int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif name == "cellXfs":
            self.in_cell_xfs = True
        elif name == "xf" and self.in_cell_xfs:
            self.cell_formats.append(_int(attrs.get("numFmtId", "0")))

    def end(self, name):
        if name == "cellXfs":
            self.in_cell_xfs = False

    def kinds(self) -> tuple[frozenset[int], frozenset[int]]:
        dates, durations = set(), set()
        kind_of: dict[int, tuple[bool, bool]] = {}  # each format is looked at once, however many styles use it
        for index, format_id in enumerate(self.cell_formats):
            if format_id not in kind_of:
                code = self.formats.get(format_id, BUILTIN_FORMATS.get(format_id)) or ""
                kind_of[format_id] = (bool(code) and is_date_format(code), bool(code) and is_timedelta_format(code))
            is_date, is_duration = kind_of[format_id]
            if is_date:
                dates.add(index)
            if is_duration:
                durations.add(index)
        return frozenset(dates), frozenset(durations)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _refuse("file_unreadable") from None


class _Text(_Part):
    """Collects the text of a string item (shared string or inline string): its ``t`` elements, plain or in runs,
    but not the phonetic guide (``rPh``), capped one character past the limit."""

    def __init__(self, book):
        super().__init__(book)
        self.cap = book.limits.cell_chars + 1
        self.collecting = False
        self.in_phonetic = False
        self.parts: list[str] = []
        self.length = 0

    def begin_item(self) -> None:
        self.parts, self.length = [], 0

    def item(self) -> str:
        return "".join(self.parts).replace("x005F_", "")

    def text(self, data):
        if self.collecting and self.length < self.cap:
            data = data[:self.cap - self.length]
            self.parts.append(data)
            self.length += len(data)


class _SharedStrings(_Text):
    def __init__(self, book):
        super().__init__(book)
        self.strings: list[str] = []

    def _start(self, name, attrs):  # as hot as the sheet's: the base class's work inlined
        book = self.book
        book.elements -= 1
        if book.elements < 0:
            raise _refuse("too_many_cells", max=book.limits.cells)
        name = _local(name)
        if name == "si":
            if len(self.strings) >= self.book.limits.cells:
                raise _refuse("too_many_cells", max=self.book.limits.cells)
            self.begin_item()
        elif name == "t" and not self.in_phonetic:
            self.collecting = True
        elif name == "rPh":
            self.in_phonetic = True

    def _end(self, name):
        name = _local(name)
        if name == "t":
            self.collecting = False
        elif name == "rPh":
            self.in_phonetic = False
        elif name == "si":
            self.strings.append(self.item())


class _Sheet(_Text):
    """The rows of a worksheet. Refuses, as soon as it sees them: a declared dimension beyond the limits, a row
    beyond the row limit, a cell beyond the column limit, more cells than the cell limit. Keeps the values of the
    wanted columns only, and hands each row to ``take`` as soon as it ends."""

    def __init__(self, book, take: Take, strings: list[str], dates: frozenset[int], durations: frozenset[int],
                 epoch):
        super().__init__(book)
        self.take = take
        self.strings, self.dates, self.durations, self.epoch = strings, dates, durations, epoch
        limits = book.limits
        self.max_row, self.max_column, self.max_cells = limits.rows + 1, limits.columns, limits.cells
        self.in_data = False
        self.rows = self.cells = 0
        self.row_number = 0
        self.row: dict[int, object] | None = None
        self.row_cells = 0
        self.column = 0
        self.cell: tuple[int, str, str] | None = None  # (column index, type, style) of a wanted cell
        self.value: list[str] = []
        self.in_value = False

    def _start(self, name, attrs):  # the hot path: the base class's work inlined, one call an element
        book = self.book
        book.elements -= 1
        if book.elements < 0:
            raise _refuse("too_many_cells", max=book.limits.cells)
        name = _local(name)
        if name == "c" and self.row is not None:
            self.cells += 1
            self.row_cells += 1
            if self.cells > self.max_cells:
                raise _refuse("too_many_cells", max=self.max_cells)
            reference = attrs.get("r")
            if reference:
                self.column = _column_of(reference.rstrip("0123456789"))
            else:
                self.column += 1
            if self.column > self.max_column or self.row_cells > self.max_column:
                raise _refuse("too_many_columns", max=self.max_column)
            wanted = book.wanted
            index = self.column - 1
            if wanted is None or index in wanted:
                self.cell = (index, attrs.get("t", "n"), attrs.get("s", "0"))
                self.value = []
                self.begin_item()
            else:
                self.cell = None
        elif self.cell is None:
            if name == "row" and self.in_data:
                self.begin_row(attrs.get("r"))
            elif name == "sheetData":
                self.in_data = True
            elif name == "dimension" and not self.in_data:
                self.check_dimension(attrs.get("ref", ""))
        elif name == "v":
            self.in_value = True
        elif name == "t" and not self.in_phonetic:
            self.collecting = True
        elif name == "rPh":
            self.in_phonetic = True

    def begin_row(self, number: str | None) -> None:
        self.rows += 1
        self.row_number = _int(number) if number else self.row_number + 1
        if self.rows > self.max_row or self.row_number > self.max_row:
            raise _refuse("too_many_rows", max=self.max_row - 1)
        self.row, self.row_cells, self.column = {}, 0, 0

    def check_dimension(self, ref: str) -> None:
        """The sheet's own statement of its extent, checked before any row is read (a file may understate it; the
        counters still hold)."""
        match = _DIMENSION.fullmatch(ref.strip())
        if not match:
            return
        last_column, last_row = match.group(3) or match.group(1), match.group(4) or match.group(2)
        if column_number(last_column) > self.max_column:
            raise _refuse("too_many_columns", max=self.max_column)
        if int(last_row) > self.max_row:
            raise _refuse("too_many_rows", max=self.max_row - 1)

    def text(self, data):
        if self.in_value:
            if len(self.value) < 64:  # a number, an index or a short text: expat hands it over in a piece or two
                self.value.append(data[:self.cap])
        else:
            super().text(data)

    def _end(self, name):
        name = _local(name)
        if name == "v":
            self.in_value = False
        elif name == "t":
            self.collecting = False
        elif name == "rPh":
            self.in_phonetic = False
        elif name == "c":
            if self.cell is not None and self.row is not None:
                value = self.decode(*self.cell)
                if value is not None and value != "":
                    self.row[self.cell[0]] = value
            self.cell = None
        elif name == "row" and self.row is not None:
            self.take(self.row_number, self.row)
            self.row = None
        elif name == "sheetData":
            self.in_data = False

    def decode(self, index: int, kind: str, style: str) -> object:
        """A cell's value as openpyxl's read-only mode gives it (data only: a formula's cached result)."""
        if kind == "inlineStr":
            return self.item()
        text = "".join(self.value)
        if not text:
            return None
        if kind == "s":
            number = _int(text)
            if not 0 <= number < len(self.strings):
                raise _refuse("file_unreadable")
            return self.strings[number]
        if kind == "b":
            return text.strip() in ("1", "true")
        if kind == "d":
            try:
                return from_ISO8601(text)
            except ValueError:
                return text
        if kind != "n":
            return text  # str (a formula's text), e (an error such as #N/A)
        try:
            number = _number(text)
        except ValueError:
            return text
        style_index = _int(style) if style else 0
        if style_index in self.dates:
            try:
                return from_excel(number, self.epoch, timedelta=style_index in self.durations)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number


class XlsxRows(Rows):
    """The first worksheet of an XLSX file. The zip directory is checked first (number of parts, their total
    uncompressed size); then the parts needed are parsed, each at most once."""

    def __init__(self, content: bytes, limits: ImportLimits, deadline: Deadline):
        super().__init__()
        self.content, self.limits, self.deadline = content, limits, deadline
        # every XML element read counts here: a cell is at most four (row, c, v or is and t) in a plain file
        self.elements = 4 * limits.cells + 10_000
        self.archive: zipfile.ZipFile | None = None
        self.members: dict[str, zipfile.ZipInfo] = {}

    def member(self, name: str) -> zipfile.ZipInfo:
        """A part by name; OOXML part names are case-insensitive."""
        info = self.members.get(name.lstrip("/").lower())
        if info is None:
            raise _refuse("file_unreadable")
        return info

    def _open(self) -> None:
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(self.content))
            infos = self.archive.infolist()
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError):
            raise _refuse("file_unreadable") from None
        if len(infos) > self.limits.xlsx_parts:
            raise _refuse("too_many_parts", max=self.limits.xlsx_parts)
        if sum(info.file_size for info in infos) > self.limits.xlsx_uncompressed:
            raise _refuse("file_too_large")
        self.members = {info.filename.lower(): info for info in infos}

    def _relationships(self, part: str) -> _Relationships:
        folder, name = posixpath.split(part)
        rels = _Relationships(self)
        rels_name = posixpath.join(folder, "_rels", name + ".rels")
        if rels_name.lower() in self.members:
            rels.read(rels_name)
        return rels

    @staticmethod
    def _target(source: str, target: str) -> str:
        if target.startswith("/"):
            return target[1:]
        return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))

    def read(self, take: Take) -> None:
        try:
            self._open()
            workbook_path = self._relationships("").of_type("officeDocument")
            if not workbook_path:
                raise _refuse("file_unreadable")
            workbook_path = self._target("", workbook_path)
            workbook = _Workbook(self)
            workbook.read(workbook_path)
            rels = self._relationships(workbook_path)
            sheet_path = None
            for rel_id in workbook.sheets:
                rel_type, target = rels.found.get(rel_id, ("", ""))
                if rel_type.endswith("/worksheet"):
                    sheet_path = self._target(workbook_path, target)
                    break
            if sheet_path is None:
                raise _refuse("file_unreadable")
            dates = durations = frozenset()
            styles_path = rels.of_type("styles")
            if styles_path:
                styles = _Styles(self)
                styles.read(self._target(workbook_path, styles_path))
                dates, durations = styles.kinds()
            strings: list[str] = []
            strings_path = rels.of_type("sharedStrings")
            if strings_path:
                shared = _SharedStrings(self)
                shared.read(self._target(workbook_path, strings_path))
                strings = shared.strings
            epoch = MAC_EPOCH if workbook.date1904 else WINDOWS_EPOCH
            _Sheet(self, take, strings, dates, durations, epoch).read(sheet_path)
        finally:
            if self.archive is not None:
                self.archive.close()


def is_zip(content: bytes) -> bool:
    return content[:4] == b"PK\x03\x04"


def open_rows(filename: str, content: bytes, limits: ImportLimits, deadline: Deadline) -> Rows:
    """The reader for ``content``: XLSX when it is a zip or named .xlsx, CSV when named .csv or .txt or when it
    looks like text; else file_type. Raises file_empty, file_encoding."""
    if not content:
        raise _refuse("file_empty")
    if len(content) > limits.size:
        raise _refuse("file_too_big", max=f"{limits.size / 1024 / 1024:g}")
    name = filename.lower()
    if is_zip(content) or name.endswith(".xlsx"):
        return XlsxRows(content, limits, deadline)
    if name.endswith((".csv", ".txt")) or b"\x00" not in content[:1024]:
        return CsvRows(decode_csv(content), limits, deadline)
    raise _refuse("file_type")
