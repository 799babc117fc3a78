"""Imports are bounded: hostile CSV and XLSX files, built here byte by byte, are refused with a code before they
cost more than the limits allow, and nothing of them is imported (issue 17, item 2). The worst case of each format
is measured and its figures printed and written to test-artifacts/imports/ (docs/operations.md, "Bulk import").

No assertion here is about time (the project's rule): the refusals are asserted by their codes, and the absence of a
million-element list by the memory traced."""
from __future__ import annotations

import datetime as dt
import gc
import io
import json
import subprocess
import sys
import tracemalloc
import warnings
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from openpyxl import Workbook, load_workbook
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from volunteer_registry.extensions import db
from volunteer_registry.organizations import importing
from volunteer_registry.organizations.importing import COLUMNS, ImportFileError, _cell, read_rows
from volunteer_registry.volunteers.sheets import Deadline, column_number

from ..conftest import login
from .test_import import counts, row, to_csv

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "imports"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"


# --- an XLSX package written by hand, so that its declared dimension, its cells and its zip can be hostile ----------

def letters(number: int) -> str:
    """A for 1, XFD for 16384."""
    out = ""
    while number:
        number, rest = divmod(number - 1, 26)
        out = chr(65 + rest) + out
    return out


def package(sheet: bytes, *, shared: bytes | None = None, styles: bytes | None = None, date1904: bool = False,
            extra: dict[str, bytes] | None = None, level: int = 6) -> bytes:
    """An XLSX file: the workbook, its first worksheet ``sheet`` and, if given, shared strings and styles."""
    rels = [("rId1", "worksheet", "worksheets/sheet1.xml")]
    if shared is not None:
        rels.append(("rId2", "sharedStrings", "sharedStrings.xml"))
    if styles is not None:
        rels.append(("rId3", "styles", "styles.xml"))
    types = {"/xl/workbook.xml": "sheet.main", "/xl/worksheets/sheet1.xml": "worksheet"}
    if shared is not None:
        types["/xl/sharedStrings.xml"] = "sharedStrings"
    if styles is not None:
        types["/xl/styles.xml"] = "styles"
    overrides = "".join(f'<Override PartName="{part}" ContentType="application/vnd.openxmlformats-officedocument.'
                        f'spreadsheetml.{kind}+xml"/>' for part, kind in types.items())
    workbook_properties = '<workbookPr date1904="1"/>' if date1904 else ""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'))
        archive.writestr("_rels/.rels", (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELATIONSHIPS}"><Relationship '
            f'Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        archive.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
            f'{workbook_properties}<sheets>'
            '<sheet name="volunteers" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
            + "".join(f'<Relationship Id="{rid}" Type="{RELATIONSHIPS}/{kind}" Target="{target}"/>'
                      for rid, kind, target in rels) + "</Relationships>"))
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is not None:
            archive.writestr("xl/sharedStrings.xml", shared)
        if styles is not None:
            archive.writestr("xl/styles.xml", styles)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def worksheet(rows: bytes, dimension: str | None = None, *, before: bytes = b"") -> bytes:
    dim = f'<dimension ref="{dimension}"/>'.encode() if dimension else b""
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode() + before + dim
            + b"<sheetData>" + rows + b"</sheetData></worksheet>")


def inline(reference: str, text: str) -> bytes:
    return f'<c r="{reference}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'.encode()


def header(number: int = 1, names=COLUMNS) -> bytes:
    return (f'<row r="{number}">'.encode() + b"".join(inline(f"{letters(i + 1)}{number}", name)
                                                        for i, name in enumerate(names)) + b"</row>")


def refused(name: str, content: bytes) -> str:
    with pytest.raises(ImportFileError) as info:
        read_rows(name, content)
    return info.value.code


def post(client, org, content: bytes, filename: str):
    """The import form sent with ``content``, encoded in memory (the test client would spool a large body to a
    temporary file it never closes)."""
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(content), filename)})
    return client.post(f"/organizations/{org.code}/import", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


# --- the two files of the issue ---------------------------------------------------------------------------------

def wide_xlsx() -> bytes:
    """The issue's XLSX: about 22 KB, declaring a sheet A1:XFD4000 (16,384 columns, 4,000 rows), with the template's
    header and a cell in the first and the last column of every row."""
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c><c r="XFD%d"><v>1</v></c></row>' % (n, n, n)
                    for n in range(2, 4001))
    return package(worksheet(header() + rows, "A1:XFD4000"), level=9)


def wide_csv() -> bytes:
    """The issue's CSV: about 1 MB, a header of the template's columns followed by a million empty ones."""
    return (",".join(COLUMNS) + "," * 1_000_000 + "\r\n").encode() + to_csv([row()])[len(",".join(COLUMNS)) + 2:]


def test_the_issues_xlsx_is_refused_by_its_declared_dimension(app):
    content = wide_xlsx()
    assert 15_000 < len(content) < 40_000
    assert refused("wide.xlsx", content) == "too_many_columns"


def test_the_issues_csv_is_refused_without_splitting_its_million_columns(app):
    content = wide_csv()
    assert 1_000_000 < len(content) < 1_100_000
    gc.collect()
    tracemalloc.start()
    try:
        code = refused("wide.csv", content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == "too_many_columns"
    # the text and its one long line are about 1 MB each; a list of a million fields alone would be 8 MB
    assert peak < 6_000_000, peak


@pytest.mark.parametrize("filename, build", [("wide.xlsx", wide_xlsx), ("wide.csv", wide_csv)])
def test_the_page_shows_the_refusal_and_imports_nothing(make, client, filename, build):
    org = make.org()
    db.session.commit()
    login(client, make.org_admin_of(org))
    response = post(client, org, build(), filename)
    assert response.status_code == 422
    assert "The file has more than 64 columns; delete the columns that are not in the template." in \
        response.get_data(as_text=True)
    assert counts() == (0, 0)


def test_the_command_line_refuses_them_too(make, app, tmp_path):
    org = make.org()
    db.session.commit()
    path = tmp_path / "wide.xlsx"
    path.write_bytes(wide_xlsx())
    result = app.test_cli_runner().invoke(args=["volunteers", "import", str(path), "--org", org.code])
    assert result.exit_code == 1 and "too_many_columns" in result.output
    assert counts() == (0, 0)


# --- XLSX: the zip, the dimension, the counters, the markup ------------------------------------------------------

def test_a_spreadsheet_bomb_is_refused_before_it_is_decompressed(app):
    body = worksheet(header() + b'<row r="2"><c r="A2"><v>1</v></c></row>' + b"<row/>" * 12_000_000)
    content = package(body, level=9)
    assert len(content) < 1_000_000 and len(body) > 64 * 1024 * 1024
    assert refused("bomb.xlsx", content) == "file_too_large"


def test_a_file_of_many_parts_is_refused(app):
    content = package(worksheet(header()), extra={f"xl/media/p{n}.bin": b"" for n in range(1_000)})
    assert refused("parts.xlsx", content) == "too_many_parts"


def test_a_file_larger_than_an_upload_is_refused(app):
    app.config["IMPORT_MAX_BYTES"] = 500
    assert refused("big.csv", to_csv([row() for _ in range(10)])) == "file_too_big"


@pytest.mark.parametrize("dimension, code", [
    ("A1:XFD4000", "too_many_columns"),
    ("A1:BM2", "too_many_columns"),  # column 65
    ("A1:L20002", "too_many_rows"),  # the header and 20,001 rows
    ("A1:L1048576", "too_many_rows"),
])
def test_a_declared_dimension_beyond_the_limits_is_refused_before_any_row(app, dimension, code):
    assert column_number("XFD") == 16_384 and column_number("BM") == 65
    assert refused("d.xlsx", package(worksheet(header(), dimension))) == code


def test_a_dimension_within_the_limits_is_read(app):
    rows = read_rows("d.xlsx", package(worksheet(header() + b'<row r="2">' + inline("A2", "王芳") + b"</row>",
                                                 "A1:BL20001")))
    assert rows[0]["name"] == "王芳"


def many_cells_in_one_row(cells: int) -> bytes:
    return worksheet(header() + b'<row r="2">' + b"<c/>" * cells + b"</row>")


@pytest.mark.parametrize("build, code", [
    # no dimension, one row of 100,000 cells: refused at its 65th cell (openpyxl built all of them: 17 s, 1.2 GB
    # for four million)
    (lambda: many_cells_in_one_row(100_000), "too_many_columns"),
    (lambda: worksheet(header() + b'<row r="2"><c r="XFD2"><v>1</v></c></row>'), "too_many_columns"),
    # a dimension that understates the sheet: the counters still hold
    (lambda: worksheet(header() + b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (n, n)
                                           for n in range(2, 20_003)), "A1:L2"), "too_many_rows"),
    (lambda: worksheet(header() + b'<row r="20002"><c r="A20002"><v>1</v></c></row>'), "too_many_rows"),
    # rows without numbers count one by one
    (lambda: worksheet(header() + b"<row><c><v>1</v></c></row>" * 20_001), "too_many_rows"),
])
def test_a_sheet_without_a_true_dimension_is_bounded_by_the_counters(app, build, code):
    assert refused("n.xlsx", package(build())) == code


def test_cells_are_counted_formatted_empty_ones_too(app):
    app.config["IMPORT_MAX_CELLS"] = 1_000
    body = worksheet(header() + b"".join(b'<row r="%d">' % n + b'<c s="1"/>' * 40 + b"</row>"
                                         for n in range(2, 40)))
    assert refused("c.xlsx", package(body)) == "too_many_cells"


def test_xml_elements_are_counted_wherever_they_are(app):
    """A cell is at most a few elements; a file that is mostly elements of something else (here runs of rich text
    in one shared string) runs out of the element budget, four per allowed cell."""
    app.config["IMPORT_MAX_CELLS"] = 1_000
    shared = (f'<sst xmlns="{MAIN}"><si>'.encode() + b"<r><t>x</t></r>" * 10_000 + b"</si></sst>")
    assert refused("e.xlsx", package(worksheet(header()), shared=shared)) == "too_many_cells"


@pytest.mark.parametrize("sheet", [
    # a document type declaration is where entity expansion ("billion laughs") starts: none is read
    (b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     b'<worksheet xmlns="' + MAIN.encode() + b'"><sheetData><row><c t="inlineStr"><is><t>&b;</t></is></c></row>'
     b"</sheetData></worksheet>"),
    # one attribute of 2 MiB: expat 2.5 would scan it again with every chunk (a 60 MiB one took 53 s)
    worksheet(b'<row r="1"><c r="A1" x="' + b"a" * (2 * 1024 * 1024) + b'"/></row>'),
    worksheet(b"<!--" + b"<>" * (1024 * 1024) + b"-->"),
    b"\x00not xml",
])
def test_hostile_markup_is_unreadable(app, sheet):
    assert refused("m.xlsx", package(sheet)) == "file_unreadable"


def test_a_long_text_in_a_column_that_is_not_read_is_skipped(app):
    """Only the template's columns are read: an extra column's text, however long, is never decoded or kept (and
    a shared string index past the table there is not even looked up)."""
    data = b'<row r="2">' + inline("A2", "王芳") + b'<c r="N2" t="s"><v>999</v></c>' + b"</row>"
    data += b'<row r="3">' + inline("A3", "李强") + inline("O3", "x" * 60_000) + b"</row>"
    rows = read_rows("x.xlsx", package(worksheet(header() + data), shared=f'<sst xmlns="{MAIN}"/>'.encode()))
    assert [r["name"] for r in rows] == ["王芳", "李强"]
    long_name = b'<row r="2">' + inline("A2", "x" * 1_001) + b"</row>"
    assert refused("x.xlsx", package(worksheet(header() + long_name))) == "cell_too_long"


def reference_rows(content: bytes) -> list[dict]:
    """What the import read before this reader: openpyxl's read-only mode, every column, the same conversions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a hand-written stylesheet without openpyxl's "Normal" style
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        table = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
        workbook.close()
    table = [r for r in table if any(str(_cell(c)).strip() for c in r)]
    names = [importing.HEADER_ALIASES.get(str(h).strip(), str(h).strip().lower()) for h in table[0]]
    return [{key: _cell(r[i]) if i < len(r) else "" for i, key in enumerate(names) if key in COLUMNS}
            for r in table[1:]]


@pytest.mark.parametrize("epoch_1904", [False, True])
def test_values_are_read_as_openpyxl_reads_them(app, epoch_1904):
    """Dates (date cells, date-and-time cells, a custom date format), numbers (a phone typed as a number, a float),
    booleans, text with Chinese, reordered and extra columns: the reader gives what openpyxl gave."""
    workbook = Workbook()
    if epoch_1904:
        workbook.epoch = dt.datetime(1904, 1, 1)
    sheet = workbook.active
    names = ["notes", "姓名", "phone", "birth_date", "gender", "id_number", "region_code", "consent", "skills",
             "email"]
    sheet.append(names)
    sheet.append(["extra", "卓玛", 13912345678, dt.date(1990, 5, 17), "女", "630102199005170023", 630102, True,
                  1.5, None])
    sheet.append([None, "Tashi", "13800138000", dt.datetime(1985, 1, 2, 10, 30), "male", "X", "630103", "是",
                  "first aid, 急救", "t@example.org"])
    sheet.append([None, None, None, None, None, None, None, None, None, None])
    sheet.append(["", "李强", 139.0, dt.date(1979, 12, 31), "m", 1234, "630102", False, "", ""])
    sheet.cell(row=5, column=4).number_format = "yyyy/mm/dd"
    buffer = io.BytesIO()
    workbook.save(buffer)
    content = buffer.getvalue()
    assert read_rows("v.xlsx", content) == reference_rows(content)


def test_shared_strings_rich_text_and_phonetic_guides(app):
    """Excel's shared strings: runs of rich text are joined, the phonetic guide (rPh) is not part of the text, and
    dates come from the styles' number formats (builtin 14 and a custom one)."""
    shared = (f'<sst xmlns="{MAIN}">'.encode()
              + b"".join(f"<si><t>{name}</t></si>".encode() for name in COLUMNS)
              + "<si><r><rPr><b/></rPr><t>王</t></r><r><t xml:space=\"preserve\">芳 </t></r>"
                "<rPh sb=\"0\" eb=\"1\"><t>ワン</t></rPh></si>".encode() + b"</sst>")
    styles = (f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;'
              f'm&quot;月&quot;d&quot;日&quot;"/></numFmts><cellXfs count="3"><xf numFmtId="0"/>'
              f'<xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>').encode()
    head = b'<row r="1">' + b"".join(f'<c r="{letters(i + 1)}1" t="s"><v>{i}</v></c>'.encode()
                                     for i in range(len(COLUMNS))) + b"</row>"
    rich = len(COLUMNS)  # the rich-text string's index, after the headings'
    data = (f'<row r="2"><c r="A2" t="s"><v>{rich}</v></c><c r="C2" s="1"><v>32940</v></c></row>'
            f'<row r="3"><c r="A3" t="s"><v>{rich}</v></c><c r="C3" s="2"><v>32941</v></c></row>').encode()
    content = package(worksheet(head + data), shared=shared, styles=styles)
    rows = read_rows("s.xlsx", content)
    assert [(r["name"], r["birth_date"]) for r in rows] == [("王芳", dt.date(1990, 3, 8)),
                                                             ("王芳", dt.date(1990, 3, 9))]
    assert rows == reference_rows(content)


# --- CSV ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, code", [
    # one field of 200,000 characters on one line: refused before the line is split
    ((",".join(COLUMNS) + "\r\n" + '"' + "x" * 200_000 + '",female\r\n').encode(), "cell_too_long"),
    # a quoted field running over many short lines, never closed: stopped at the csv module's field limit
    ((",".join(COLUMNS) + '\r\n"' + ("x" * 100 + "\r\n") * 2_000).encode(), "cell_too_long"),
    # a name of 1,001 characters
    (to_csv([row(name="x" * 1_001)]), "cell_too_long"),
    # 65 columns
    ((",".join(COLUMNS) + "," * 53 + "\r\n").encode(), "too_many_columns"),
])
def test_csv_fields_and_columns_are_bounded(app, content, code):
    assert refused("f.csv", content) == code


def test_csv_reads_only_the_template_columns(app):
    content = (",".join(COLUMNS) + ",notes\r\n").encode() + b"".join(
        line.rstrip(b"\r\n") + b',"' + b"n" * 5_000 + b'"\r\n'
        for line in to_csv([row(), row(name="李强")]).splitlines(keepends=True)[1:])
    rows = read_rows("n.csv", content)
    assert [r["name"] for r in rows] == ["王芳", "李强"] and set(rows[0]) == set(COLUMNS)


def test_blank_rows_count_towards_the_row_limit(app):
    app.config["IMPORT_MAX_ROWS"] = 5
    assert len(read_rows("b.csv", to_csv([row()]) + b"\r\n" * 4)) == 1
    assert refused("b.csv", to_csv([row()]) + b"\r\n" * 5) == "too_many_rows"
    assert refused("b.xlsx", package(worksheet(header() + b"<row/>" * 6))) == "too_many_rows"


# --- time ----------------------------------------------------------------------------------------------------------

class ChecksThenStops(Deadline):
    """A deadline that passes after ``checks`` checks: time made deterministic."""

    def __init__(self, checks: int):
        super().__init__(60)
        self.left = checks

    def check(self) -> None:
        self.left -= 1
        if self.left < 0:
            self._at = 0.0
        super().check()


def test_reading_stops_at_the_deadline(app):
    assert refused_with(Deadline(-1), "v.csv", to_csv([row()])) == "import_too_slow"
    assert refused_with(Deadline(-1), "v.xlsx", package(worksheet(header()))) == "import_too_slow"


def refused_with(deadline: Deadline, name: str, content: bytes) -> str:
    with pytest.raises(ImportFileError) as info:
        read_rows(name, content, deadline=deadline)
    return info.value.code


def test_an_import_stopped_while_writing_leaves_nothing(make, client, monkeypatch):
    """The deadline covers reading, checking and writing: stopped halfway through the writing, the page says so
    and the rows already written are rolled back."""
    org = make.org()
    db.session.commit()
    login(client, make.org_admin_of(org))
    volunteers = [row(name=f"志愿者{n}", birth=dt.date(1980, 1, 1) + dt.timedelta(days=n)) for n in range(6)]
    content = to_csv(volunteers)
    # reading checks once a record (7), checking once a row (6) and once after the lookup (1): stop at the 4th write
    monkeypatch.setattr("volunteer_registry.organizations.views.import_deadline",
                        lambda: ChecksThenStops(7 + 6 + 1 + 3))
    response = post(client, org, content, "v.csv")
    assert response.status_code == 422
    assert "The import was stopped after 60 seconds, and nothing was imported" in response.get_data(as_text=True)
    assert counts() == (0, 0)
    monkeypatch.undo()
    assert post(client, org, content, "v.csv").status_code == 200 and counts() == (6, 6)


# --- the worst case of each format, measured ------------------------------------------------------------------

def worst_csv() -> bytes:
    """The most a CSV makes the reader do within the limits: as near 8 MiB as fits, 20,001 lines (the header and
    the row limit) of 25 fields, every template column filled, refused on its last line by the cell limit."""
    fields = 25
    head = ",".join([*COLUMNS, *(f"extra{n}" for n in range(fields - len(COLUMNS)))]) + "\r\n"
    line = ",".join(["王芳王芳王芳", "female", "1990-05-17", "resident_id", "630102199005170023", "13912345678",
                     "630102", "someone@example.org", "first aid, driving", "yes", "x" * 10, "yes"]
                    + ["y" * 15] * (fields - len(COLUMNS))) + "\r\n"
    return (head + line * 19_999 + line.rstrip("\r\n") + ",z\r\n").encode()


def worst_xlsx() -> bytes:
    """The most an XLSX makes the reader do within the limits: 500,000 shared strings of about 80 characters (the
    cell limit, and close to the 64 MiB the parts may expand to), a sheet of 20,001 rows of 24 cells (12 read, 12
    not) naming them, within the element budget, refused at its last row by the row limit."""
    strings = b"".join(b"<si><t>%06d" % n + b"v" * 74 + b"</t></si>" for n in range(500_000))
    shared = f'<sst xmlns="{MAIN}">'.encode() + strings + b"</sst>"
    rows = [header()]
    for number in range(2, 20_003):
        cells = b"".join(b'<c r="%s%d" t="s"><v>%d</v></c>' % (letters(col).encode(), number, (number * 24 + col)
                                                                 % 500_000) for col in range(1, 25))
        rows.append(b'<row r="%d">' % number + cells + b"</row>")
    return package(worksheet(b"".join(rows)), shared=shared)


#: run in a fresh interpreter, so that its peak resident memory is the reading's, not this test run's. Linux keeps
#: the parent's peak in a child's ru_maxrss across fork and exec, so the peak is read from /proc (VmHWM), reset to
#: the current size first ("5" in clear_refs); elsewhere it falls back to ru_maxrss.
MEASURE = """
import json, resource, sys, time
from volunteer_registry import create_app
from volunteer_registry.organizations.importing import ImportFileError, read_rows
from volunteer_registry.volunteers.sheets import Deadline


def kilobytes(field):
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


name, path, instance = sys.argv[1:]
app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "s",
                  "ID_ENCRYPTION_KEY": "k"}, instance_path=instance)
with open(path, "rb") as fh:
    content = fh.read()
with app.app_context():
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # the peak starts again from here
    except OSError:
        pass
    before = kilobytes("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    try:
        read_rows(name, content, deadline=Deadline(None))  # the whole work, however loaded the machine
        code = None
    except ImportFileError as error:
        code = error.code
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    growth = kilobytes("VmHWM") - before
print(json.dumps({"code": code, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                  "peak_memory_mb": round(growth / 1024, 1)}))
"""


def measure(name: str, content: bytes, folder: Path) -> dict:
    """Reads ``content`` in a fresh interpreter: the wall time, the processor time (what a busy machine does not
    change), and how far reading it raised the process's peak resident memory, with the refusal's code."""
    path = folder / name
    path.write_bytes(content)
    done = subprocess.run([sys.executable, "-c", MEASURE, name, str(path), str(folder / "instance")],
                          capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    return {"file": name, "bytes": len(content), **json.loads(done.stdout.splitlines()[-1])}


def test_the_worst_case_of_each_format(tmp_path):
    """Measured, printed and recorded, never asserted on: the refusal is."""
    results = [measure("worst.csv", worst_csv(), tmp_path), measure("worst.xlsx", worst_xlsx(), tmp_path)]
    for result in results:
        print(f"\n{result['file']}: {result['bytes'] / 1e6:.1f} MB refused ({result['code']}) in "
              f"{result['seconds']} s ({result['cpu_seconds']} s of processor), peak memory "
              f"+{result['peak_memory_mb']} MB")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "worst-case.json").write_text(json.dumps(results, indent=2) + "\n")
    assert [(r["code"], r["bytes"] <= 8 * 1024 * 1024) for r in results] == [
        ("too_many_cells", True), ("too_many_rows", True)]
