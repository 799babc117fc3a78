"""Shapes declared once. A part's ``schemas.py`` lists the fields its forms, services and API accept, each with its
limits and enumeration; the WTForms validators (:func:`validators_for`), the service's text checks
(:meth:`Schema.check`) and the OpenAPI document (:func:`json_schema`) are all read from that one declaration."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .errors import DomainError
from .forms import PlainText
from .text import check_plain_text


@dataclass(frozen=True)
class Text:
    """A string. ``plain``: refused with text.check_plain_text's text_* codes (a name, title or reason someone
    typed); ``multiline`` lets line breaks and tabs through that check. ``required_code`` is the code a missing
    value is refused with."""

    max_length: int | None = None
    required: bool = False
    multiline: bool = False
    plain: bool = True
    required_code: str = "field_required"
    format: str | None = None
    pattern: str | None = None
    nullable: bool = False
    description: str | None = None


def Email(max_length: int, *, required: bool = False, nullable: bool = False,  # noqa: N802
          description: str | None = None) -> Text:
    """An e-mail address: its length is checked here, its syntax by the service (email_validator)."""
    return Text(max_length=max_length, required=required, plain=False, format="email", nullable=nullable,
                description=description)


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (a {value: label} mapping or a sequence of values)."""

    values: Any
    required: bool = False
    nullable: bool = False
    default: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Integer:
    minimum: int | None = None
    maximum: int | None = None
    required: bool = False
    nullable: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Number:
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    nullable: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Boolean:
    required: bool = False
    description: str | None = None


@dataclass(frozen=True)
class DateTime:
    required: bool = False
    nullable: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Date:
    required: bool = False
    nullable: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Nested:
    """An object of another schema's fields."""

    schema: Schema
    required: bool = False
    nullable: bool = False
    description: str | None = None


@dataclass(frozen=True)
class ListOf:
    """An array of ``item`` (a field, or a Schema for an array of objects)."""

    item: Any
    min_items: int | None = None
    max_items: int | None = None
    required: bool = False
    nullable: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Raw:
    """A JSON Schema fragment for an output whose shape is not one of the field kinds (a free-form object)."""

    json: dict
    required: bool = False


Field = Text | Choice | Integer | Number | Boolean | DateTime | Date | Nested | ListOf | Raw


@dataclass(frozen=True)
class Schema:
    """Named, ordered fields: what one form, service call or API body accepts, or what one answer holds."""

    name: str
    fields: dict[str, Field] = field(default_factory=dict)
    description: str | None = None

    def __getitem__(self, key: str) -> Field:
        return self.fields[key]

    def extend(self, name: str, fields: dict[str, Field] | None = None, *, without: tuple[str, ...] = (),
               description: str | None = None) -> Schema:
        """A new schema named ``name``: these fields without ``without``, then ``fields``."""
        kept = {key: value for key, value in self.fields.items() if key not in without}
        return Schema(name, {**kept, **(fields or {})}, description or self.description)

    def check(self, data: Any, *, error: type[DomainError], only: tuple[str, ...] | None = None,
              required: tuple[str, ...] | None = None) -> dict[str, str]:
        """The text fields of ``data`` (a mapping or an object with these attributes), as kept.

        In this order, so the first problem is the one reported: each plain text through text.check_plain_text
        (its text_* codes), then each required one present (``required_code``, default field_required), then each
        within its ``max_length`` (too_long, with ``max``). Every refusal is ``error(code, field=<name>)``.
        ``only`` limits the check to those fields; ``required`` to those of the required fields (a service that
        checks the others later, after other rules)."""
        # a text that is neither typed prose nor limited (a code, a region) is another rule's to check
        names = [key for key, spec in self.fields.items()
                 if isinstance(spec, Text) and (spec.plain or spec.max_length is not None)
                 and (only is None or key in only)]
        values = {}
        for key in names:
            spec = self.fields[key]
            value = data.get(key) if isinstance(data, Mapping) else getattr(data, key)
            values[key] = (check_plain_text(value, multiline=spec.multiline, field=key, error=error)
                           if spec.plain else value)
        for key in names:
            spec = self.fields[key]
            if spec.required and (required is None or key in required) and not values[key]:
                raise error(spec.required_code, field=key)
        for key in names:
            limit = self.fields[key].max_length
            if limit is not None and len(values[key] or "") > limit:
                raise error("too_long", field=key, max=limit)
        return values


class DeclaredLength(Length):
    """WTForms' Length, its maximum read from the field's declaration when the form is built and validated (not
    copied when the form class is defined), so the form follows a changed declaration as the service does."""

    def __init__(self, spec: Text):
        self.spec = spec
        self.min = -1
        self.message = None

    @property
    def max(self) -> int:
        return self.spec.max_length

    @property
    def field_flags(self) -> dict:
        return {"maxlength": self.spec.max_length}


def validators_for(schema: Schema, name: str, *, required: bool | None = None) -> list:
    """The WTForms validators of ``schema``'s field ``name``: DataRequired or Optional, Length for a maximum,
    NumberRange for a range, and PlainText for typed text, so a form refuses what the service would."""
    spec = schema.fields[name]
    needed = spec.required if required is None else required
    validators: list = [DataRequired() if needed else Optional()]
    if isinstance(spec, Text):
        if spec.max_length is not None:
            validators.append(DeclaredLength(spec))
        if spec.plain:
            validators.append(PlainText(multiline=spec.multiline))
    elif isinstance(spec, (Integer, Number)) and (spec.minimum is not None or spec.maximum is not None):
        validators.append(NumberRange(min=spec.minimum, max=spec.maximum))
    return validators


def _typed(kind: str, nullable: bool) -> dict:
    return {"type": [kind, "null"] if nullable else kind}


def field_json_schema(spec: Field, ref: Callable[[Schema], dict] | None = None) -> dict:
    """One field as JSON Schema (OpenAPI 3.1). ``ref``, when given, makes the reference to the schema of a list's
    items (an OpenAPI component) instead of repeating it."""
    if isinstance(spec, Raw):
        return dict(spec.json)
    if isinstance(spec, Text):
        out = _typed("string", spec.nullable)
        if spec.max_length is not None:
            out["maxLength"] = spec.max_length
        if spec.format:
            out["format"] = spec.format
        if spec.pattern:
            out["pattern"] = spec.pattern
    elif isinstance(spec, Choice):
        out = _typed("string", spec.nullable)
        out["enum"] = [*spec.values, *([None] if spec.nullable else [])]
        if spec.default is not None:
            out["default"] = spec.default
    elif isinstance(spec, (Integer, Number)):
        out = _typed("integer" if isinstance(spec, Integer) else "number", spec.nullable)
        if spec.minimum is not None:
            out["minimum"] = spec.minimum
        if spec.maximum is not None:
            out["maximum"] = spec.maximum
    elif isinstance(spec, Boolean):
        out = {"type": "boolean"}
    elif isinstance(spec, (DateTime, Date)):
        out = {**_typed("string", spec.nullable), "format": "date-time" if isinstance(spec, DateTime) else "date"}
    elif isinstance(spec, Nested):
        out = json_schema(spec.schema, ref)
        if spec.nullable:
            out["type"] = ["object", "null"]
    else:
        if isinstance(spec.item, Schema):
            item = ref(spec.item) if ref is not None else json_schema(spec.item)
        else:
            item = field_json_schema(spec.item, ref)
        out = {**_typed("array", spec.nullable), "items": item}
        if spec.min_items is not None:
            out["minItems"] = spec.min_items
        if spec.max_items is not None:
            out["maxItems"] = spec.max_items
    if getattr(spec, "description", None):
        out["description"] = str(spec.description)
    return out


def json_schema(schema: Schema, ref: Callable[[Schema], dict] | None = None) -> dict:
    """``schema`` as a JSON Schema object: its properties in order, its required fields listed (``ref``: see
    :func:`field_json_schema`)."""
    out: dict = {"type": "object"}
    required = [key for key, spec in schema.fields.items() if spec.required]
    if required:
        out["required"] = required
    out["properties"] = {key: field_json_schema(spec, ref) for key, spec in schema.fields.items()}
    if schema.description:
        out["description"] = schema.description
    return out


def dump(schema: Schema, source: Any, **computed: Any) -> dict:
    """An answer of ``schema``'s shape: exactly its fields, in its order, each from ``computed`` when given there,
    else the attribute of ``source`` of that name; dates and times as ISO 8601. A field neither gives raises
    AttributeError, so a serializer cannot drift from the documented shape."""
    out = {}
    for key in schema.fields:
        value = computed[key] if key in computed else getattr(source, key)
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out
