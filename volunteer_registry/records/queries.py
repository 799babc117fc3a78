"""Read helpers for the record pages: a member's records as their organization sees them, a volunteer's own."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import aliased, joinedload

from ..codes import normalize_volunteer_number
from ..errors import NotFound
from ..extensions import db
from ..volunteers.queries import volunteer_by_number
from .models import RECORDED_KINDS, VolunteerRecord
from .services import is_active_member


def active_member(org, number: str):
    """The volunteer with this number, when an active member of ``org``. Raises NotFound otherwise, whether the
    number belongs to nobody or to someone who is not a member: staff learn nothing about other people."""
    volunteer = volunteer_by_number(normalize_volunteer_number(number) or "")
    if volunteer is None or not is_active_member(org, volunteer):
        raise NotFound("not_found")
    return volunteer


def _not_withdrawn():
    withdrawal = aliased(VolunteerRecord)
    return ~db.select(withdrawal.id).where(withdrawal.refers_to_id == VolunteerRecord.id).exists()


def organization_records(org, volunteer=None, page: int = 1, per_page: int = 50) -> Pagination:
    """The training, award and evaluation records ``org`` made (of one volunteer, when given), withdrawn ones
    included, the most recent first."""
    query = (db.select(VolunteerRecord).where(VolunteerRecord.organization_id == org.id,
                                              VolunteerRecord.kind.in_(RECORDED_KINDS)))
    if volunteer is not None:
        query = query.where(VolunteerRecord.volunteer_id == volunteer.id)
    query = query.options(joinedload(VolunteerRecord.volunteer))
    return db.paginate(query.order_by(VolunteerRecord.date.desc(), VolunteerRecord.id.desc()), page=page,
                       per_page=per_page, error_out=False)


def withdrawals_of(records) -> dict[int, VolunteerRecord]:
    """Record id → the withdrawal that answers it, for those of ``records`` that were withdrawn."""
    ids = [record.id for record in records]
    if not ids:
        return {}
    rows = db.session.scalars(db.select(VolunteerRecord).where(VolunteerRecord.kind == "withdrawal",
                                                               VolunteerRecord.refers_to_id.in_(ids)))
    return {row.refers_to_id: row for row in rows}


def record_in(org, volunteer, record_id: int) -> VolunteerRecord:
    """One of the training, award or evaluation records ``org`` made for ``volunteer`` (never another's). Raises
    NotFound."""
    record = db.session.get(VolunteerRecord, record_id)
    if (record is None or record.organization_id != org.id or record.volunteer_id != volunteer.id
            or record.kind not in RECORDED_KINDS):
        raise NotFound("not_found")
    return record


@dataclass
class OwnRecords:
    """A volunteer's records across organizations, withdrawn ones left out, each list the most recent first."""

    training: list[VolunteerRecord] = field(default_factory=list)
    awards: list[VolunteerRecord] = field(default_factory=list)
    evaluations: list[VolunteerRecord] = field(default_factory=list)

    @property
    def training_minutes(self) -> int:
        return sum(record.minutes or 0 for record in self.training)


def records_of_volunteer(volunteer) -> OwnRecords:
    """What the volunteer's organizations recorded about their training, awards and evaluations and still stand by
    (withdrawn records are not part of the record)."""
    found = OwnRecords()
    if volunteer is None:
        return found
    query = (db.select(VolunteerRecord)
             .where(VolunteerRecord.volunteer_id == volunteer.id, VolunteerRecord.kind.in_(RECORDED_KINDS),
                    _not_withdrawn())
             .options(joinedload(VolunteerRecord.organization))
             .order_by(VolunteerRecord.date.desc(), VolunteerRecord.id.desc()))
    lists = {"training": found.training, "award": found.awards, "evaluation": found.evaluations}
    for record in db.session.scalars(query):
        lists[record.kind].append(record)
    return found
