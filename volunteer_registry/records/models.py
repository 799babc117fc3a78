"""Training, awards and evaluations: three of the five categories of a volunteer's record (DESIGN.md).

One append-only table. A record is never edited: a mistaken one is withdrawn by a new row of kind ``withdrawal``
that refers to it and carries the reason.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import UTCDateTime, make_append_only, utcnow

# the enumerations and limits are declared in schemas.py; the columns and constraints below read them
from .schemas import AWARD_LEVELS, PROVIDER_MAX, RATINGS, RECORD_KINDS, RECORDED_KINDS, TITLE_MAX  # noqa: F401


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class VolunteerRecord(db.Model):
    """A training course, an award or an evaluation an organization recorded for a volunteer, or the withdrawal of
    one of those. Append-only."""

    __tablename__ = "volunteer_records"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(RECORD_KINDS)})", name="kind"),
        CheckConstraint(f"level IS NULL OR level IN ({_in(AWARD_LEVELS)})", name="level"),
        CheckConstraint(f"rating IS NULL OR rating IN ({_in(RATINGS)})", name="rating"),
        CheckConstraint("minutes IS NULL OR minutes >= 1", name="minutes_positive"),
        CheckConstraint("period_start IS NULL OR period_end IS NULL OR period_end >= period_start",
                        name="period_order"),
        CheckConstraint("kind <> 'training' OR (title IS NOT NULL AND provider IS NOT NULL AND minutes IS NOT NULL)",
                        name="training_complete"),
        CheckConstraint("kind <> 'award' OR (title IS NOT NULL AND provider IS NOT NULL)", name="award_complete"),
        CheckConstraint("kind <> 'evaluation' OR (period_start IS NOT NULL AND period_end IS NOT NULL "
                        "AND rating IS NOT NULL AND text IS NOT NULL)", name="evaluation_complete"),
        CheckConstraint("(kind = 'withdrawal' AND refers_to_id IS NOT NULL AND text IS NOT NULL) "
                        "OR (kind <> 'withdrawal' AND refers_to_id IS NULL)", name="withdrawal_refers"),
        UniqueConstraint("refers_to_id"),  # a record is withdrawn once
        Index("ix_volunteer_records_volunteer_id_date", "volunteer_id", "date"),
        Index("ix_volunteer_records_organization_id_volunteer_id", "organization_id", "volunteer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))  #: the recording organization
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX))  #: the course, or the award or commendation
    provider: Mapped[str | None] = mapped_column(String(PROVIDER_MAX))  #: who gave the course, or the award
    #: the course's day, the award's day, the end of an evaluated period, the day of a withdrawal (Beijing time)
    date: Mapped[dt.date] = mapped_column(Date)
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    minutes: Mapped[int | None]  #: a course's length
    level: Mapped[str | None] = mapped_column(String(16))
    rating: Mapped[str | None] = mapped_column(String(20))
    #: a course's certificate number or notes, an evaluation's comment, a withdrawal's reason
    text: Mapped[str | None] = mapped_column(Text)
    refers_to_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer_records.id"))  #: the withdrawn record
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization = relationship("Organization")
    volunteer = relationship("Volunteer")

    @property
    def kind_label(self) -> str:
        return str(RECORD_KINDS[self.kind])

    @property
    def level_label(self) -> str | None:
        return str(AWARD_LEVELS[self.level]) if self.level else None

    @property
    def rating_label(self) -> str | None:
        return str(RATINGS[self.rating]) if self.rating else None


make_append_only(VolunteerRecord.__table__)
