"""The shapes of a volunteer's training, award and evaluation records and of a withdrawal, declared once: limits
and enumerations. The model's columns and constraints, the forms and the services' checks read them from here."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..schema import Choice, Date, Number, Schema, Text

RECORD_KINDS = {
    "training": _l("Training"),
    "award": _l("Award"),
    "evaluation": _l("Evaluation"),
    "withdrawal": _l("Withdrawal"),
}
#: the kinds a coordinator records; a withdrawal only ever answers one of them
RECORDED_KINDS = ("training", "award", "evaluation")
AWARD_LEVELS = {
    "national": _l("National"),
    "provincial": _l("Provincial"),
    "city": _l("City"),
    "county": _l("County"),
    "organization": _l("Within the organization"),
}
RATINGS = {
    "excellent": _l("Excellent"),
    "good": _l("Good"),
    "satisfactory": _l("Satisfactory"),
    "needs_improvement": _l("Needs improvement"),
}

TITLE_MAX = 200
PROVIDER_MAX = 200
#: the texts below live in one Text column: the limits are the service's, not the database's
NOTES_MAX = 500
COMMENT_MAX = 2000
REASON_MAX = 500
#: a course's length, in minutes
MAX_MINUTES = 100_000

TRAINING = Schema("Training", {
    "title": Text(TITLE_MAX, required=True), "provider": Text(PROVIDER_MAX, required=True),
    "date": Date(required=True), "hours": Number(description="The course's length in hours."),
    "notes": Text(NOTES_MAX),
})
AWARD = Schema("Award", {
    "title": Text(TITLE_MAX, required=True), "provider": Text(PROVIDER_MAX, required=True),
    "date": Date(required=True), "level": Choice(AWARD_LEVELS),
})
EVALUATION = Schema("Evaluation", {
    "period_start": Date(required=True), "period_end": Date(required=True), "rating": Choice(RATINGS, required=True),
    "comment": Text(COMMENT_MAX, required=True, multiline=True),
})
WITHDRAWAL = Schema("Withdrawal", {"reason": Text(REASON_MAX, required=True, multiline=True)})
