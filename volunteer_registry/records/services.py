"""Recording training, awards and evaluations for an organization's members, and withdrawing a mistaken record.

Nothing here updates or deletes a record (the database would refuse): a withdrawal is a new row.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..accounts.permissions import require
from ..audit.services import record_event
from ..errors import DomainError
from ..extensions import db
from ..models import utcnow
from ..organizations.queries import membership_of
from ..timeutil import local
from .models import VolunteerRecord
from .schemas import AWARD, AWARD_LEVELS, EVALUATION, MAX_MINUTES, RATINGS, RECORDED_KINDS, TRAINING, WITHDRAWAL


class RecordError(DomainError):
    messages = {
        "not_a_member": _l("This volunteer is not a member of the organization."),
        "field_required": _l("This field is required."),
        "too_long": _l("At most %(max)s characters."),
        "date_invalid": _l("Enter a date."),
        "date_in_future": _l("The date cannot be in the future."),
        "date_before_birth": _l("The date cannot be before the volunteer's date of birth."),
        "period_order": _l("The end of the period cannot be before its start."),
        "minutes_invalid": _l("Enter the length in hours, e.g. 1.5: at least one minute, at most 1666 hours."),
        "level_unknown": _l("Choose a level from the list."),
        "rating_unknown": _l("Choose a rating."),
        "not_withdrawable": _l("Only a training, award or evaluation record can be withdrawn."),
        "already_withdrawn": _l("This record has already been withdrawn."),
    }
    statuses = {"not_a_member": 404, "not_withdrawable": 409, "already_withdrawn": 409}


# --- what a coordinator typed ----------------------------------------------------------------------------------------

class _Reader:
    """Values from a form or a JSON body; those that cannot be read are remembered in ``invalid``, for the rules to
    refuse with the field they belong to."""

    def __init__(self, data):
        self.data = data
        self.invalid: list[str] = []

    def text(self, key) -> str:
        value = self.data.get(key)
        return "" if value is None else str(value).strip()

    def date(self, key) -> dt.date | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.invalid.append(key)
            return None

    def minutes(self) -> int | None:
        """Whole minutes from ``minutes``, or from ``hours`` as typed (1.5 is 90 minutes); the error is the
        ``hours`` field's either way."""
        value, factor = self.data.get("minutes"), 1
        if value is None or value == "":
            value, factor = self.data.get("hours"), 60
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            if isinstance(value, bool):
                raise ValueError(value)
            number = Decimal(str(value).strip()) * factor
            if not number.is_finite() or (factor == 1 and number != number.to_integral_value()):
                raise ValueError(value)
            return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        except (ArithmeticError, ValueError):  # decimal's errors (invalid, overflow) are ArithmeticErrors
            self.invalid.append("hours")
            return None


@dataclass
class TrainingData:
    title: str  #: the course
    provider: str
    date: dt.date | None
    minutes: int | None
    notes: str = ""  #: certificate number or notes
    _invalid: tuple = ()

    @classmethod
    def from_mapping(cls, data) -> TrainingData:
        """From a form's or a JSON body's values (the length as ``minutes`` or as ``hours``)."""
        read = _Reader(data)
        return cls(title=read.text("title"), provider=read.text("provider"), date=read.date("date"),
                   minutes=read.minutes(), notes=read.text("notes"), _invalid=tuple(read.invalid))


@dataclass
class AwardData:
    title: str  #: the award or commendation
    provider: str  #: the body that gave it
    date: dt.date | None
    level: str = ""
    _invalid: tuple = ()

    @classmethod
    def from_mapping(cls, data) -> AwardData:
        read = _Reader(data)
        return cls(title=read.text("title"), provider=read.text("provider"), date=read.date("date"),
                   level=read.text("level"), _invalid=tuple(read.invalid))


@dataclass
class EvaluationData:
    period_start: dt.date | None
    period_end: dt.date | None
    rating: str
    comment: str
    _invalid: tuple = ()

    @classmethod
    def from_mapping(cls, data) -> EvaluationData:
        read = _Reader(data)
        return cls(period_start=read.date("period_start"), period_end=read.date("period_end"),
                   rating=read.text("rating"), comment=read.text("comment"), _invalid=tuple(read.invalid))


# --- the rules -------------------------------------------------------------------------------------------------------

def _today(now: dt.datetime | None) -> dt.date:
    return local(now or utcnow()).date()


def _check_date(data, key: str, volunteer, today: dt.date) -> dt.date:
    value = getattr(data, key)
    if key in data._invalid:
        raise RecordError("date_invalid", field=key)
    if value is None:
        raise RecordError("field_required", field=key)
    if value > today:
        raise RecordError("date_in_future", field=key)
    if value < volunteer.birth_date:
        raise RecordError("date_before_birth", field=key)
    return value


def is_active_member(org, volunteer) -> bool:
    """Whom ``org`` records training, awards and evaluations for: its active members (not those who asked to join,
    were declined or left)."""
    membership = membership_of(org, volunteer)
    return membership is not None and membership.status == "active"


def _check_recorder(actor, org, volunteer) -> None:
    """The actor records for ``org`` and the volunteer is one of its active members."""
    require("records.write", org, user=actor)
    if not is_active_member(org, volunteer):
        raise RecordError("not_a_member")


def _add(actor, org, volunteer, **values) -> VolunteerRecord:
    record = VolunteerRecord(volunteer_id=volunteer.id, organization_id=org.id, recorded_by_id=actor.id, **values)
    db.session.add(record)
    db.session.flush()
    record_event(f"record.{record.kind}", actor=actor, organization=org, target=record,
                 volunteer=volunteer.volunteer_number)
    return record


def record_training(actor, org, volunteer, data: TrainingData, *, now: dt.datetime | None = None) -> VolunteerRecord:
    """A training course the volunteer took, recorded by ``org``.

    Raises Forbidden (the actor may not record for ``org``), not_a_member (the volunteer is not an active member
    of ``org``), and with a field: field_required, too_long, date_invalid, date_in_future, date_before_birth,
    minutes_invalid (1 to 100000 minutes)."""
    _check_recorder(actor, org, volunteer)
    texts = TRAINING.check(data, error=RecordError)
    day = _check_date(data, "date", volunteer, _today(now))
    if "hours" in data._invalid:
        raise RecordError("minutes_invalid", field="hours")
    if data.minutes is None:
        raise RecordError("field_required", field="hours")
    if not 1 <= data.minutes <= MAX_MINUTES:
        raise RecordError("minutes_invalid", field="hours")
    return _add(actor, org, volunteer, kind="training", title=texts["title"], provider=texts["provider"], date=day,
                minutes=data.minutes, text=texts["notes"] or None)


def record_award(actor, org, volunteer, data: AwardData, *, now: dt.datetime | None = None) -> VolunteerRecord:
    """An award or commendation the volunteer received, recorded by ``org``.

    Raises Forbidden, not_a_member, and with a field: field_required, too_long, date_invalid, date_in_future,
    date_before_birth, level_unknown."""
    _check_recorder(actor, org, volunteer)
    texts = AWARD.check(data, error=RecordError)
    day = _check_date(data, "date", volunteer, _today(now))
    if data.level and data.level not in AWARD_LEVELS:
        raise RecordError("level_unknown", field="level")
    return _add(actor, org, volunteer, kind="award", title=texts["title"], provider=texts["provider"], date=day,
                level=data.level or None)


def record_evaluation(actor, org, volunteer, data: EvaluationData, *,
                      now: dt.datetime | None = None) -> VolunteerRecord:
    """``org``'s evaluation of the volunteer's service over a period that has ended.

    Raises Forbidden, not_a_member, and with a field: field_required, too_long, date_invalid, date_in_future,
    date_before_birth, period_order, rating_unknown."""
    _check_recorder(actor, org, volunteer)
    today = _today(now)
    start = _check_date(data, "period_start", volunteer, today)
    end = _check_date(data, "period_end", volunteer, today)
    if end < start:
        raise RecordError("period_order", field="period_end")
    if data.rating not in RATINGS:
        raise RecordError("rating_unknown", field="rating")
    comment = EVALUATION.check(data, error=RecordError)["comment"]
    return _add(actor, org, volunteer, kind="evaluation", date=end, period_start=start, period_end=end,
                rating=data.rating, text=comment)


def withdrawal_of(record: VolunteerRecord) -> VolunteerRecord | None:
    return db.session.scalar(db.select(VolunteerRecord).where(VolunteerRecord.kind == "withdrawal",
                                                              VolunteerRecord.refers_to_id == record.id))


def withdraw_record(actor, record: VolunteerRecord, reason: str, *,
                    now: dt.datetime | None = None) -> VolunteerRecord:
    """Withdraw a mistaken record of the organization that recorded it: a new ``withdrawal`` row with the reason;
    the record stays as it was and no longer counts or shows to the volunteer.

    Membership is not asked for: a record stays correctable after the volunteer has left (DESIGN.md: the
    organization must correct its records). Raises Forbidden (the actor may not record for the record's
    organization), not_withdrawable (a withdrawal), already_withdrawn, and field_required or too_long for
    ``reason``."""
    org = record.organization
    require("records.write", org, user=actor)
    if record.kind not in RECORDED_KINDS:
        raise RecordError("not_withdrawable")
    reason = WITHDRAWAL.check({"reason": reason}, error=RecordError)["reason"]
    if withdrawal_of(record) is not None:
        raise RecordError("already_withdrawn")
    withdrawal = VolunteerRecord(kind="withdrawal", volunteer_id=record.volunteer_id, organization_id=org.id,
                                 date=_today(now), refers_to_id=record.id, text=reason, recorded_by_id=actor.id)
    try:
        with db.session.begin_nested():  # two staff withdrawing at once: the unique refers_to_id lets one through
            db.session.add(withdrawal)
            db.session.flush()
    except IntegrityError:
        raise RecordError("already_withdrawn") from None
    record_event("record.withdrawn", actor=actor, organization=org, target=record, kind=record.kind, reason=reason)
    return withdrawal
