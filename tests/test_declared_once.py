"""A limit is declared once, in its part's schemas.py: no form restates it as a number, and no column that holds a
value a schema limits copies the number. docs/ARCHITECTURE.md, "One declaration per shape"."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

from volunteer_registry.schema import Schema, Text

PACKAGE = Path(__file__).resolve().parent.parent / "volunteer_registry"

#: forms that still write their limit as a number, each with the reason it is not a declared limit
LENGTH_EXCEPTIONS = {
    # the form is defined in the views module, which another branch of the same round moves between parts
    "verification/views.py": "a pasted verification link: parsed, never stored",
}

#: columns that copy another part's value, as {file: {column: (the field copied, the constant its String reads)}}
SNAPSHOTS = {
    "ledger/models.py": {"activity_title": ("activities.title", "TITLE_MAX"),
                         "place": ("activities.address", "ADDRESS_MAX"),
                         "recipient": ("activities.recipient", "RECIPIENT_MAX"),
                         "person_in_charge": ("activities.person_in_charge", "PERSON_IN_CHARGE_MAX")},
}


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _literal_lengths() -> list[str]:
    """Every ``Length(max=<int>)`` (or ``min``) written as a number, as "file:line"."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Length"
                    and any(isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, int)
                            for keyword in node.keywords)):
                found.append(f"{_relative(path)}:{node.lineno}")
    return found


def _declared_limits() -> dict[str, dict[str, set[int]]]:
    """{part: {field: its declared maximum lengths}} from every part's schemas.py."""
    declared: dict[str, dict[str, set[int]]] = {}
    for path in sorted(PACKAGE.glob("*/schemas.py")):
        part = path.parent.name
        module = importlib.import_module(f"volunteer_registry.{part}.schemas")
        for value in vars(module).values():
            if isinstance(value, Schema):
                for name, spec in value.fields.items():
                    if isinstance(spec, Text) and spec.max_length is not None:
                        declared.setdefault(part, {}).setdefault(name, set()).add(spec.max_length)
    return declared


def _string_columns(path: Path) -> dict[str, int | str]:
    """{column: n, or the constant's name} for each ``column = mapped_column(String(...))`` in a models.py."""
    columns = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(node.value, ast.Call) and node.value.args):
            continue
        first = node.value.args[0]
        if isinstance(first, ast.Call) and getattr(first.func, "id", None) == "String" and first.args:
            length = first.args[0]
            if isinstance(length, ast.Constant) and isinstance(length.value, int):
                columns[node.target.id] = length.value
            elif isinstance(length, ast.Name):
                columns[node.target.id] = length.id
    return columns


def _literal_string_columns(path: Path) -> dict[str, int]:
    """{column: n} for each ``column = mapped_column(String(<int>))`` in a models.py."""
    return {column: n for column, n in _string_columns(path).items() if isinstance(n, int)}


def test_the_scans_find_forms_schemas_and_columns():
    assert len(list(PACKAGE.glob("*/forms.py"))) >= 8
    declared = _declared_limits()
    assert {"accounts", "activities", "checkin", "certificates", "corrections", "ledger"} <= set(declared)
    assert _literal_string_columns(PACKAGE / "accounts" / "models.py")["password_hash"] == 256


def test_no_form_writes_a_limit_as_a_number():
    found = [where for where in _literal_lengths() if where.split(":")[0] not in LENGTH_EXCEPTIONS]
    assert not found, f"Length(max=<number>) outside a schema, use validators_for: {found}"


def test_the_length_exceptions_are_still_needed():
    still = {where.split(":")[0] for where in _literal_lengths()}
    assert set(LENGTH_EXCEPTIONS) <= still, f"no longer needed: {set(LENGTH_EXCEPTIONS) - still}"


def test_no_column_copies_the_number_of_a_limit_its_part_declares():
    declared = _declared_limits()
    found = []
    for path in sorted(PACKAGE.glob("*/models.py")):
        limits = declared.get(path.parent.name, {})
        for column, n in _literal_string_columns(path).items():
            if n in limits.get(column, ()):
                found.append(f"{_relative(path)}: {column} String({n})")
    assert not found, f"a column restates its schema's limit, read the constant: {found}"


def test_snapshot_columns_read_the_limit_of_the_field_they_copy():
    declared = _declared_limits()
    for file, columns in SNAPSHOTS.items():
        written = _string_columns(PACKAGE / file)
        for column, (source, constant) in columns.items():
            part, name = source.split(".")
            value = getattr(importlib.import_module(f"volunteer_registry.{part}.schemas"), constant)
            assert value in declared[part][name], f"{part}.schemas.{constant} is not {source}'s declared limit"
            assert written[column] == constant, f"{file}: {column} String({written[column]}), not {constant}"
