"""Bulk import of an organization's volunteers from CSV or XLSX: every row checked first, then all rows written
(volunteers registered or found, then made members or invited), or none."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..errors import DomainError
from ..text import check_plain_text
from ..volunteers.identity import normalize_id_number
from ..volunteers.services import (
    VolunteerData,
    VolunteerError,
    clean_volunteer_data,
    names_match,
    register_imported_volunteer,
    volunteers_by_document,
    volunteers_by_national_number,
)
from ..volunteers.sheets import Deadline, ImportFileError, ImportLimits, open_rows
from .services import add_imported_member, invite_member

COLUMNS = ("name", "gender", "birth_date", "id_type", "id_number", "phone", "region_code", "email", "skills",
           "consent", "guardian_name", "guardian_consent", "national_number")
REQUIRED_COLUMNS = ("name", "gender", "birth_date", "id_number", "phone", "region_code", "consent")
#: Chinese headings accepted for the same columns
HEADER_ALIASES = {"姓名": "name", "性别": "gender", "出生日期": "birth_date", "证件类型": "id_type",
                  "证件号码": "id_number", "手机号": "phone", "手机号码": "phone", "地区代码": "region_code",
                  "邮箱": "email", "电子邮箱": "email", "技能": "skills", "同意": "consent",
                  "监护人姓名": "guardian_name", "监护人同意": "guardian_consent",
                  "全国志愿者编号": "national_number", "全国志愿服务信息系统编号": "national_number"}
GENDER_ALIASES = {"男": "male", "女": "female", "m": "male", "f": "female"}


class ImportRowError(DomainError):
    """Why one row of an otherwise readable file is refused (reported with the row, never raised to the caller)."""

    messages = {
        "duplicate_in_file": _l("The same ID document appears on row %(row)s."),
        "national_number_duplicate_in_file": _l("The same national volunteer number appears on row %(row)s."),
        # says nothing of the record (not its name): only that this document and this name do not go together
        "name_mismatch": _l("This ID document is registered to a volunteer under another name. Check the name as "
                            "it is written on the ID document."),
    }


@dataclass
class RowProblem:
    row: int  # the spreadsheet row number, header = 1
    field: str
    code: str
    message: str


#: what a good row led to; for a person already registered the report says this and nothing else about them
ROW_OUTCOMES = {
    "created": _l("New volunteer registered, now a member"),
    "invited": _l("Invited: already registered, becomes a member on accepting"),
    "already_member": _l("Already a member"),
    "requested": _l("Has asked to join: decide the request on the members page"),
    "refused": _l("Declined an earlier invitation: not invited again"),
}


@dataclass
class RowOutcome:
    row: int  # the spreadsheet row number, header = 1
    outcome: str  # a key of ROW_OUTCOMES

    @property
    def label(self) -> str:
        return str(ROW_OUTCOMES[self.outcome])


@dataclass
class ImportReport:
    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.outcomes if row.outcome == outcome)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def invited(self) -> int:
        return self.count("invited")


def _cell(value) -> str | dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def import_deadline() -> Deadline:
    """The time an import on a web request may take (IMPORT_MAX_SECONDS, well under the worker's timeout)."""
    return Deadline(current_app.config["IMPORT_MAX_SECONDS"])


def read_rows(filename: str, content: bytes, *, deadline: Deadline | None = None) -> list[dict]:
    """The data rows of a CSV or XLSX file as dicts keyed by column name, holding only the template's columns.

    The first non-blank row is the header; blank rows are skipped (but count towards the row limit). Bounded by
    the IMPORT_* limits (sheets.py) and by ``deadline`` (default: IMPORT_MAX_SECONDS from now). Raises
    ImportFileError: file_empty, file_type, file_encoding, file_unreadable, file_too_big, file_too_large,
    too_many_parts, too_many_rows, too_many_columns, too_many_cells, cell_too_long, missing_columns,
    import_too_slow.
    """
    limits = ImportLimits.from_config(current_app.config)
    rows = open_rows(filename, content, limits, deadline or import_deadline())
    header: dict[int, str] = {}
    records: list[dict] = []

    def take(number: int, cells: dict) -> None:
        nonlocal header
        values = {index: _cell(value) for index, value in cells.items()}
        if not any(str(value).strip() for value in values.values()):
            return
        if not header:
            names = {index: HEADER_ALIASES.get(str(name), str(name).lower()) for index, name in values.items()}
            # a column named twice: the later one counts, as before
            header = {index: key for index, key in sorted(names.items()) if key in COLUMNS}
            missing = [c for c in REQUIRED_COLUMNS if c not in header.values()]
            if missing:
                raise ImportFileError("missing_columns", field="file", columns=", ".join(missing))
            rows.only(header)  # from the next row on the readers skip every other column
            return
        record = {key: values.get(index, "") for index, key in header.items()}
        if any(isinstance(value, str) and len(value) > limits.cell_chars for value in record.values()):
            raise ImportFileError("cell_too_long", field="file", row=number, max=limits.cell_chars)
        records.append(record)

    rows.read(take)
    if not header:
        raise ImportFileError("file_empty", field="file")
    return records


def _row_data(row: dict) -> VolunteerData:
    row = dict(row)
    for key, value in row.items():  # every cell, not only the names: text.check_plain_text's rule, text_* codes
        if isinstance(value, str):
            check_plain_text(value, multiline=key == "skills", field=key, error=VolunteerError)
    gender = str(row.get("gender", "")).strip()
    row["gender"] = GENDER_ALIASES.get(gender.lower(), GENDER_ALIASES.get(gender, gender))
    row.setdefault("national_number", "")  # a sheet without the column: no national number, not "keep"
    return VolunteerData.from_mapping(row)


def import_volunteers(actor, org, rows: list[dict], *,
                      progress: Callable[[Iterable, str], Iterable] | None = None,
                      deadline: Deadline | None = None) -> ImportReport:
    """Check every row, then — only if all are good — register the new volunteers as active members, and invite
    the people already registered.

    A row whose ID document is already registered is never an enrolment: when its name is the record's name the
    person is invited (see ``invite_member``: they join only by accepting) and their record is left as it is; when
    it is not, the row is bad (name_mismatch), with a message that reveals nothing of the record. A row's national
    volunteer number (optional) is checked (national_number_format; national_number_taken when a volunteer other
    than the row's document holder has it; national_number_duplicate_in_file) and stored with a new volunteer; an
    existing record keeps its own, as it keeps everything else. The report lists
    each bad row with its field and reason; when there is any, nothing is written. Otherwise it gives each row's
    outcome (ROW_OUTCOMES), and nothing more about an existing person. ``progress(items, stage)`` may wrap the two
    passes (stages "check" and "write"), e.g. in a progress bar. Past ``deadline`` it raises import_too_slow
    (ImportFileError), even halfway through writing: the caller rolls back, and nothing of the file is kept.
    """
    progress = progress or (lambda items, stage: items)
    deadline = deadline or Deadline(None)
    report = ImportReport(rows=len(rows))
    cleaned: list[tuple[int, VolunteerData]] = []
    seen: dict[tuple[str, str], int] = {}
    seen_national: dict[str, int] = {}
    for index, row in enumerate(progress(rows, "check")):
        deadline.check()
        line = index + 2
        try:
            clean = clean_volunteer_data(_row_data(row))
        except VolunteerError as error:
            report.problems.append(RowProblem(line, error.field or "", error.code, error.message))
            continue
        key = (clean.id_type, normalize_id_number(clean.id_number))
        if key in seen:
            error = ImportRowError("duplicate_in_file", row=seen[key])
            report.problems.append(RowProblem(line, "id_number", error.code, error.message))
            continue
        seen[key] = line
        if clean.national_number:
            if clean.national_number in seen_national:
                error = ImportRowError("national_number_duplicate_in_file", row=seen_national[clean.national_number])
                report.problems.append(RowProblem(line, "national_number", error.code, error.message))
                continue
            seen_national[clean.national_number] = line
        cleaned.append((line, clean))
    registered = volunteers_by_document((clean.id_type, clean.id_number) for _line, clean in cleaned)
    national_holders = volunteers_by_national_number(clean.national_number for _line, clean in cleaned
                                                     if clean.national_number)
    deadline.check()
    for line, clean in cleaned:
        holder = registered.get((clean.id_type, clean.id_number))
        if holder is not None and not names_match(clean.name, holder.name):
            error = ImportRowError("name_mismatch")
            report.problems.append(RowProblem(line, "name", error.code, error.message))
        national_holder = national_holders.get(clean.national_number or "")
        if national_holder is not None and national_holder is not holder:
            error = VolunteerError("national_number_taken", field="national_number")
            report.problems.append(RowProblem(line, "national_number", error.code, error.message))
    if report.problems:
        report.problems.sort(key=lambda problem: problem.row)
        return report
    for line, clean in progress(cleaned, "write"):
        deadline.check()
        holder = registered.get((clean.id_type, clean.id_number))
        if holder is None:
            add_imported_member(actor, org, register_imported_volunteer(actor, org, clean))
            outcome = "created"
        else:
            _membership, outcome = invite_member(actor, org, holder, via="import")
        report.outcomes.append(RowOutcome(line, outcome))
    return report


def template_csv() -> bytes:
    return ("\ufeff" + ",".join(COLUMNS) + "\r\n").encode("utf-8")


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "volunteers"
    sheet.append(list(COLUMNS))
    notes = workbook.create_sheet("instructions")
    for line in (
        ("name", "Real name as on the ID document / 证件上的姓名"),
        ("gender", "male or female / 男 或 女"),
        ("birth_date", "YYYY-MM-DD"),
        ("id_type", "resident_id (default), passport, hk_macao_permit, taiwan_permit, foreign_permanent_residence"),
        ("id_number", "The document number; resident ID numbers are checked / 证件号码"),
        ("phone", "Mobile number / 手机号"),
        ("region_code", "Administrative division code, e.g. 630102 / 行政区划代码"),
        ("email", "Optional / 可选"),
        ("skills", "Optional, comma separated / 可选"),
        ("consent", "yes: the volunteer consented to record keeping / 是：本人已同意"),
        ("guardian_name", "Required under 14 / 未满14周岁必填"),
        ("guardian_consent", "yes, required under 14 / 未满14周岁必填"),
        ("national_number", "Optional: the volunteer's number in the national volunteer service information system, "
                            "8 to 32 digits and capital letters / 可选：全国志愿服务信息系统的志愿者编号"),
    ):
        notes.append(list(line))
    for column in "ABCDEFGHIJKLM":
        sheet.column_dimensions[column].width = 18
        sheet[f"{column}1"].number_format = "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
