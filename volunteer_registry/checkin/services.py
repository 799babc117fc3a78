"""Check-in: every scan goes through :func:`record_scan`, the one place where the rules live.

A scan carries a client event id; a retry with the same id returns the first result and writes nothing — to the
account that sent it, and only for the same scan: anyone else is refused (event_id_taken) and learns nothing of the
first scan. Refused scans are kept with their reason. Sessions are stretches of presence; the minutes a volunteer
served in an activity are the union of their sessions, so overlapping or repeated scans never inflate them.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from dataclasses import dataclass, field, replace

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists
from sqlalchemy.exc import IntegrityError

from .. import signals
from ..accounts.models import User
from ..accounts.permissions import can, require
from ..activities.models import Activity, Shift, Signup
from ..activities.queries import activity_by_code
from ..audit.services import record_event
from ..codes import normalize_volunteer_number
from ..errors import DomainError, Forbidden
from ..extensions import db
from ..integrity import rules
from ..integrity import services as integrity
from ..ledger.services import correct_session, service_entry_of_session, union_minutes
from ..models import utcnow
from ..points.tokens import poster_facts
from ..text import check_plain_text
from ..volunteers.models import Volunteer
from ..volunteers.queries import volunteer_by_number, volunteer_for_user
from .kiosk import kiosk_problem
from .models import SCAN_DIRECTIONS, AttendanceSession, ManualEntry, Scan
from .rules import ScanFacts, early_refusal, scan_decision
from .schemas import EVENT_ID_PATTERN, MANUAL_REASON_MAX, TYPED_NUMBER_MAX

CLOCK_SKEW = dt.timedelta(minutes=2)
DEFAULT_SESSION_CAP = dt.timedelta(hours=12)


def session_cap() -> dt.timedelta:
    """How long a session may last before it is flagged too_long: ``CHECKIN_SESSION_CAP_HOURS`` (default 12)."""
    hours = current_app.config.get("CHECKIN_SESSION_CAP_HOURS") if has_app_context() else None
    return dt.timedelta(hours=hours) if hours else DEFAULT_SESSION_CAP


class CheckInError(DomainError):
    messages = {
        "event_id_invalid": _l("A scan needs an event id of 8 to 64 letters, digits, '-' or '_'."),
        "event_id_taken": _l("Another account has already sent a scan with this event id. This one was not "
                             "recorded."),
        "event_id_reused": _l("This event id was already used for a different scan. This one was not recorded."),
        "direction_invalid": _l("The direction is in, out or auto."),
        "scan_subject_missing": _l("Give either a volunteer number or a kiosk token."),
        "scanned_at_invalid": _l("The scan time cannot be read."),
        "location_invalid": _l("The location cannot be read."),
        "volunteer_unknown": _l("No volunteer has this number. Check it and try again."),
        "volunteer_profile_required": _l("Complete your volunteer profile first."),
        "organization_suspended": _l("The organization running this activity is suspended."),
        "activity_not_open": _l("This activity is not open for check-in."),
        "activity_not_started": _l("Check-in opens %(minutes)s minutes before the activity starts."),
        "activity_ended": _l("This activity has ended."),
        "not_signed_up": _l("This volunteer has not signed up for the activity, which takes no walk-ins."),
        "already_checked_in": _l("Already checked in."),
        "not_checked_in": _l("Checking out needs a check-in first."),
        "check_out_before_check_in": _l("The check-out time is before the check-in."),
        "kiosk_qr_stale": _l("This QR code has expired. Scan the code on the screen again."),
        "kiosk_qr_forged": _l("This is not a valid check-in QR code."),
        "session_not_open": _l("This session is already closed."),
        "reason_required": _l("Give a reason."),
        "datetime_invalid": _l("Enter a date and time."),
        "ends_before_start": _l("The end must be after the start."),
        "entry_not_pending": _l("This entry has already been decided."),
        "outside_activity": _l("The times must fall within the activity (and its grace period)."),
        "offline_too_old": _l("This scan waited on the device longer than %(hours)s hours and cannot be accepted; "
                              "the coordinator can enter the service by hand."),
        "too_many_sessions": _l("This volunteer has already checked in %(count)s times today at this activity."),
        "checkout_in_future": _l("The check-out cannot be later than now."),
        "daily_cap_exceeded": _l("A session cannot be longer than %(hours)s hours, the daily cap."),
        "shift_unknown": _l("This shift is not part of the activity."),
        "shift_cancelled": _l("This shift was cancelled."),
        "poster_forged": _l("This is not a service point's QR code."),
        "poster_revoked": _l("This poster was withdrawn. Ask the coordinator for the new one."),
        "point_retired": _l("This service point is no longer in use."),
        "location_required": _l("Checking in at a service point needs your phone's location. Allow it and try "
                                "again."),
    }
    statuses = {"volunteer_unknown": 404, "organization_suspended": 403, "not_signed_up": 403,
                "activity_not_open": 409, "activity_not_started": 409, "activity_ended": 409,
                "already_checked_in": 409, "not_checked_in": 409, "check_out_before_check_in": 409,
                "session_not_open": 409, "entry_not_pending": 409, "offline_too_old": 409,
                "too_many_sessions": 409, "checkout_in_future": 422, "daily_cap_exceeded": 422,
                "volunteer_profile_required": 422, "event_id_invalid": 400, "event_id_taken": 409,
                "event_id_reused": 409, "direction_invalid": 400,
                "scan_subject_missing": 400, "scanned_at_invalid": 400, "location_invalid": 400,
                "shift_unknown": 404, "shift_cancelled": 409, "poster_forged": 404, "poster_revoked": 409,
                "point_retired": 409, "location_required": 422}


@dataclass
class ScanRequest:
    """What a device sends. ``volunteer_number`` for a card scan, ``kiosk_token`` for a phone at the kiosk,
    ``poster_token`` for a phone at a service point's poster. ``shift_id``: the shift it is for (by default the one
    on at the scan's time)."""

    event_id: str
    activity_code: str | None = None
    volunteer_number: str | None = None
    kiosk_token: str | None = None
    poster_token: str | None = None
    shift_id: int | None = None
    direction: str = "auto"
    scanned_at: dt.datetime | None = None  #: the device's time of the scan
    latitude: float | None = None
    longitude: float | None = None
    offline: bool = False  #: sent from the device's queue after the network came back


@dataclass
class ScanResult:
    scan: Scan
    session: AttendanceSession | None
    replayed: bool = False
    error: CheckInError | None = field(default=None)
    recorded: object | None = None  #: the ledger entry this scan's check-out recorded

    @property
    def accepted(self) -> bool:
        return self.scan.accepted

    @property
    def entry(self):
        """The ledger entry the session became, once the scan closed it."""
        if self.session is None or self.session.is_open:
            return None
        return self.recorded if self.recorded is not None else service_entry_of_session(self.session.id)


_EVENT_ID = re.compile(EVENT_ID_PATTERN)


def _replay(sender_id: int, request: ScanRequest, now: dt.datetime) -> ScanResult | None:
    """The stored result of the scan with this event id, None when there is none.

    The stored result names a volunteer, their session and minutes, so it goes only to the account that sent the
    scan (``recorded_by_id``), and only for the same scan. Anyone else gets event_id_taken, the sender's retry
    for another activity, volunteer or kind of scan event_id_reused: both say nothing of the first scan, not even
    whether it was accepted. (Scans do not record which API token sent them: two tokens of one account count as
    the same sender.)"""
    scan = db.session.scalar(db.select(Scan).where(Scan.event_id == request.event_id))
    if scan is None:
        return None
    if scan.recorded_by_id != sender_id:
        raise CheckInError("event_id_taken", field="event_id")
    if not _same_scan(scan, request, now):
        raise CheckInError("event_id_reused", field="event_id")
    session = db.session.get(AttendanceSession, scan.session_id) if scan.session_id else None
    return ScanResult(scan, session, replayed=True, error=_refusal_error(scan.refusal_code, scan.activity_id))


def _same_scan(scan: Scan, request: ScanRequest, now: dt.datetime) -> bool:
    """Whether ``request`` is a retry of ``scan``: the same activity, the same kind of scan and (for a card) the
    same volunteer or typed number. Direction, time, location and the offline mark may differ: a queue resends a
    scan as offline, and a retry keeps its first result whatever it asks now."""
    if request.poster_token:
        point, poster, _problem = poster_facts(request.poster_token)
        return poster is not None and scan.poster_id == poster.id
    if request.kiosk_token:
        token_code, _problem = kiosk_problem(request.kiosk_token, request.activity_code, now)
        code = request.activity_code or token_code
        if scan.method != "kiosk" or scan.poster_id is not None:
            return False
    else:
        code = request.activity_code
        if scan.method not in ("card", "offline"):
            return False
        if scan.volunteer_id is not None:
            number = normalize_volunteer_number(request.volunteer_number or "")
            if number != db.session.get(Volunteer, scan.volunteer_id).volunteer_number:
                return False
        elif (request.volunteer_number or "")[:TYPED_NUMBER_MAX] != scan.typed_number:
            return False
    return (code or "").upper() == db.session.get(Activity, scan.activity_id).code


def _refusal_error(code: str | None, activity_id: int) -> CheckInError | None:
    if code is None:
        return None
    if code == "offline_too_old":
        return CheckInError(code, hours=f"{rules.limit('INTEGRITY_OFFLINE_MAX_AGE_HOURS'):g}")
    if code == "too_many_sessions":
        return CheckInError(code, count=rules.sessions_per_day())
    return CheckInError(code, minutes=db.session.get(Activity, activity_id).grace_minutes)


def _distance_m(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _shift_for(activity: Activity, current: AttendanceSession | None, volunteer: Volunteer | None,
               moment: dt.datetime, requested: int | None) -> Shift | None:
    """The shift a scan is for: the one asked for (shift_unknown unless it is the activity's), else the shift of
    the volunteer's open session, else the shift on at ``moment`` (within the grace period; the volunteer's own
    first when several are), else the next one (too early) or the last one (too late). None for an activity
    without shifts."""
    if requested is not None:
        shift = db.session.get(Shift, requested)
        if shift is None or shift.activity_id != activity.id:
            raise CheckInError("shift_unknown", field="shift")
        return shift
    if current is not None and current.shift_id is not None:
        return db.session.get(Shift, current.shift_id)
    grace = dt.timedelta(minutes=activity.grace_minutes)
    on_now = db.session.scalars(db.select(Shift).where(
        Shift.activity_id == activity.id, Shift.status == "open", Shift.starts_at <= moment + grace,
        Shift.ends_at >= moment - grace).order_by(Shift.starts_at, Shift.id).limit(8)).all()
    if len(on_now) > 1 and volunteer is not None:
        mine = set(db.session.scalars(db.select(Signup.shift_id).where(
            Signup.shift_id.in_([shift.id for shift in on_now]), Signup.volunteer_id == volunteer.id,
            Signup.status == "accepted")))
        return next((shift for shift in on_now if shift.id in mine), on_now[0])
    if on_now:
        return on_now[0]
    later = db.session.scalar(db.select(Shift).where(Shift.activity_id == activity.id, Shift.status == "open",
                                                     Shift.starts_at > moment).order_by(Shift.starts_at).limit(1))
    return later or db.session.scalar(db.select(Shift).where(Shift.activity_id == activity.id)
                                      .order_by(Shift.ends_at.desc()).limit(1))


def open_session(activity: Activity, volunteer: Volunteer) -> AttendanceSession | None:
    return db.session.scalar(db.select(AttendanceSession).where(
        AttendanceSession.activity_id == activity.id, AttendanceSession.volunteer_id == volunteer.id,
        AttendanceSession.checked_out_at.is_(None)).order_by(AttendanceSession.id.desc()))


def record_scan(actor, request: ScanRequest, *, now: dt.datetime | None = None,
                cap: dt.timedelta | None = None) -> ScanResult:
    """Record one scan and its effect, or its refusal; a known event id returns the first result unchanged to the
    account that sent it, for the same scan.

    Card scans (``volunteer_number``) need a coordinator or org admin of the activity's organization (Forbidden
    otherwise); kiosk scans (``kiosk_token``) are made by the volunteer themself. Malformed requests raise
    CheckInError (event_id_invalid, direction_invalid, scan_subject_missing) and write nothing; so does a known
    event id sent by another account (event_id_taken) or by the sender for another scan (event_id_reused), and
    neither tells anything of the first scan. Refusals that concern the scan itself are kept and returned with
    ``result.error`` set: volunteer_unknown,
    volunteer_profile_required, organization_suspended, activity_not_open, activity_not_started, activity_ended,
    not_signed_up, already_checked_in, not_checked_in, check_out_before_check_in, kiosk_qr_stale, kiosk_qr_forged.
    Accepted scans outside the activity's radius, sent from an offline queue, or with a device clock more than two
    minutes off are flagged for review.
    """
    now = now or utcnow()
    if not _EVENT_ID.fullmatch(request.event_id or ""):
        raise CheckInError("event_id_invalid", field="event_id")
    if request.direction not in SCAN_DIRECTIONS:
        raise CheckInError("direction_invalid", field="direction")
    if sum(map(bool, (request.volunteer_number, request.kiosk_token, request.poster_token))) != 1:
        raise CheckInError("scan_subject_missing", field="volunteer_number")
    if request.poster_token and None in (request.latitude, request.longitude):
        raise CheckInError("location_required", field="location")
    point = poster = None
    if request.poster_token:
        point, poster, poster_problem = poster_facts(request.poster_token)
        if point is None:
            raise CheckInError(poster_problem, field="poster_token")
    sender_id = actor.id  # read now: the rollback below expires the actor
    replay = _replay(sender_id, request, now)
    if replay is not None:
        return replay

    if poster is not None:
        activity = db.session.get(Activity, point.activity_id)
        method = "kiosk"
        volunteer = volunteer_for_user(actor)
        problem = poster_problem or (None if volunteer else "volunteer_profile_required")
    elif request.kiosk_token:
        token_code, token_problem = kiosk_problem(request.kiosk_token, request.activity_code, now)
        activity = activity_by_code(request.activity_code or token_code)
        method = "kiosk"
        volunteer = volunteer_for_user(actor)
        problem = token_problem or (None if volunteer else "volunteer_profile_required")
    else:
        activity = activity_by_code(request.activity_code)
        if not can(actor, "checkin.scan", activity.organization):
            raise Forbidden("forbidden")
        method = "offline" if request.offline else "card"
        number = normalize_volunteer_number(request.volunteer_number)
        volunteer = volunteer_by_number(number) if number else None
        problem = None if volunteer else "volunteer_unknown"

    flags: list[str] = []
    moment = now
    if request.scanned_at is not None:
        if abs(request.scanned_at - now) > CLOCK_SKEW and not request.offline:
            flags.append("clock_skew")
        # a device may not claim the future; an offline scan keeps its original time
        moment = min(request.scanned_at, now) if (request.offline or "clock_skew" not in flags) else now
    if request.offline:
        flags.append("offline")
    place = point if point is not None else activity  # a poster's scans are measured from its point
    if point is not None:
        flags.append("static_qr")
    if (None not in (place.latitude, place.longitude, place.radius_m, request.latitude, request.longitude)
            and _distance_m(place.latitude, place.longitude, request.latitude, request.longitude)
            > place.radius_m):
        flags.append("outside_radius")

    offline_age = now - request.scanned_at if request.offline and request.scanned_at is not None else None
    current = open_session(activity, volunteer) if volunteer is not None and problem is None else None
    shift = _shift_for(activity, current, volunteer, moment, request.shift_id)
    facts = ScanFacts(activity=activity, moment=moment, direction=request.direction,
                      offline_max_age=rules.offline_max_age(), sessions_per_day=rules.sessions_per_day(),
                      problem=problem, offline_age=offline_age, shift=shift)
    if early_refusal(facts) is None:
        facts = _with_person_facts(facts, volunteer, current)
    decision = scan_decision(facts)
    problem, result, session = decision.refusal, decision.direction, decision.session
    scan = Scan(event_id=request.event_id, activity_id=activity.id, organization_id=activity.organization_id,
                shift_id=shift.id if shift is not None else None, poster_id=poster.id if poster is not None else None,
                volunteer_id=volunteer.id if volunteer else None,
                typed_number=((request.volunteer_number or "")[:TYPED_NUMBER_MAX]
                              if volunteer is None and method != "kiosk" else None),
                method=method, direction=request.direction, result=result, accepted=problem is None,
                refusal_code=problem, flags=flags if problem is None else [], scanned_at=moment,
                client_time=request.scanned_at, received_at=now, latitude=request.latitude,
                longitude=request.longitude, recorded_by_id=actor.id)
    if result == "in":
        session = AttendanceSession(activity_id=activity.id, organization_id=activity.organization_id,
                                    shift_id=shift.id if shift is not None else None,
                                    point_id=point.id if point is not None else None,
                                    volunteer_id=volunteer.id, source=method, checked_in_at=moment, flags=list(flags))
    elif result == "out":
        _close(session, moment, flags, cap or session_cap())
    scan.attendance = session
    db.session.add(scan)
    try:
        db.session.flush()
    except IntegrityError:
        # The same event id, sent concurrently, got there first: give its result, by the same rule as above (only
        # to its sender, for the same scan). A savepoint would keep the caller's other changes, but on SQLite
        # (pysqlite) a savepoint opening a transaction commits on release; so the whole transaction is rolled
        # back — record_scan is the only write of the requests that call it.
        db.session.rollback()
        replay = _replay(sender_id, request, now)
        if replay is None:
            raise
        return replay
    recorded = _announce_closed(session, actor, just_closed=True) if result == "out" else None
    return ScanResult(scan, session, error=_refusal_error(problem, activity.id), recorded=recorded)


def _with_person_facts(facts: ScanFacts, volunteer: Volunteer, current: AttendanceSession | None) -> ScanFacts:
    """The facts with what concerns the volunteer: their open session at the activity (``current``), then in one
    query whether they hold an accepted place in the scan's shift and when their sessions at the activity within a
    day of the scan began."""
    activity, moment = facts.activity, facts.moment
    place = (Signup.shift_id == facts.shift.id) if facts.shift is not None else (Signup.activity_id == activity.id)
    signed_up = exists().where(place, Signup.volunteer_id == volunteer.id, Signup.status == "accepted")
    # one row per session in the window, or a single row without one: the sign-up is known either way
    rows = db.session.execute(
        db.select(signed_up.label("signed_up"), AttendanceSession.checked_in_at).select_from(Volunteer)
        .outerjoin(AttendanceSession, and_(
            AttendanceSession.volunteer_id == Volunteer.id, AttendanceSession.activity_id == activity.id,
            AttendanceSession.checked_in_at > moment - dt.timedelta(days=1),
            AttendanceSession.checked_in_at < moment + dt.timedelta(days=1)))
        .where(Volunteer.id == volunteer.id)).all()
    return replace(facts, open_session=current, signed_up=bool(rows and rows[0].signed_up),
                   session_starts=tuple(row.checked_in_at for row in rows if row.checked_in_at is not None))


def _close(session: AttendanceSession, moment: dt.datetime, flags: list[str], cap: dt.timedelta) -> None:
    session.checked_out_at = moment
    new_flags = [f for f in flags if f not in session.flags]
    if moment - session.checked_in_at > cap:
        new_flags.append("too_long")
    session.flags = list(session.flags) + new_flags


def _announce_closed(session: AttendanceSession, actor=None, *, just_closed: bool = False):
    """Send session_closed for a session that closed without an entry; returns the entry the ledger recorded."""
    answers = signals.session_closed.send(session, actor=actor, just_closed=just_closed)
    return next((entry for _receiver, entry in answers if entry is not None), None)


def _end_of(session: AttendanceSession, activity: Activity) -> dt.datetime:
    """When the session's shift (the activity, for a session without one) ends."""
    shift = db.session.get(Shift, session.shift_id) if session.shift_id is not None else None
    return (shift or activity).ends_at


def close_open_sessions(activity: Activity, *, now: dt.datetime | None = None,
                        cap: dt.timedelta | None = None, ended_by: dt.datetime | None = None) -> int:
    """Close the sessions left open at the activity, each at its shift's end (flagged auto_closed); with
    ``ended_by``, only those whose shift's end plus the grace period is before it. Returns how many."""
    sessions = db.session.scalars(db.select(AttendanceSession).where(
        AttendanceSession.activity_id == activity.id, AttendanceSession.checked_out_at.is_(None))).all()
    grace = dt.timedelta(minutes=activity.grace_minutes)
    closing = [(session, _end_of(session, activity)) for session in sessions]
    closing = [(session, end) for session, end in closing if ended_by is None or end + grace < ended_by]
    for session, end in closing:
        _close(session, max(end, session.checked_in_at), ["auto_closed"], cap or session_cap())
    db.session.flush()
    for session, _end in closing:
        _announce_closed(session)
    return len(closing)


def close_ended_activities(now: dt.datetime | None = None) -> int:
    """Close the open sessions whose shift (or activity) ended more than the grace period ago: a duty roster's
    sessions close shift by shift while the roster runs on. Returns how many."""
    now = now or utcnow()
    activities = db.session.scalars(db.select(Activity).join(
        AttendanceSession, AttendanceSession.activity_id == Activity.id).where(
        AttendanceSession.checked_out_at.is_(None)).distinct()).all()
    return sum(close_open_sessions(activity, now=now, ended_by=now) for activity in activities)


def fix_missed_checkout(actor, session: AttendanceSession, checked_out_at: dt.datetime | None, reason: str, *,
                        now: dt.datetime | None = None) -> Scan:
    """A coordinator closes a session someone forgot to check out of: a correction scan with a reason and an
    actor is recorded (nothing earlier is edited). A session that already became an entry gets a correction that
    waits for another person's approval: its approved minutes do not move until then. The check-out lies within
    the activity's window and grace, not after now, and the session within the daily cap.

    Raises session_not_open, reason_required, text_* (text.check_plain_text), datetime_invalid,
    check_out_before_check_in, outside_activity, checkout_in_future, daily_cap_exceeded, and IntegrityRefusal
    (conflict_of_interest: one's own session); first of all Forbidden unless ``actor`` may review the
    organization's check-ins."""
    now = now or utcnow()
    activity = db.session.get(Activity, session.activity_id)
    require("checkin.review", activity.organization, user=actor)
    integrity.ensure_may_decide(actor, action="checkin.fix_checkout", organization=activity.organization,
                                volunteer_id=session.volunteer_id, target=session)
    if not session.is_open and "auto_closed" not in session.flags:
        raise CheckInError("session_not_open")
    reason = check_plain_text(reason, multiline=True, field="reason", error=CheckInError)
    if not reason:
        raise CheckInError("reason_required", field="reason")
    if checked_out_at is None:
        raise CheckInError("datetime_invalid", field="checked_out_at")
    if checked_out_at < session.checked_in_at:
        raise CheckInError("check_out_before_check_in", field="checked_out_at")
    if checked_out_at > now:
        raise CheckInError("checkout_in_future", field="checked_out_at")
    if checked_out_at > _end_of(session, activity) + dt.timedelta(minutes=activity.grace_minutes):
        raise CheckInError("outside_activity", field="checked_out_at")
    if checked_out_at - session.checked_in_at > dt.timedelta(minutes=rules.daily_cap_minutes()):
        raise CheckInError("daily_cap_exceeded", field="checked_out_at",
                           hours=f"{rules.limit('INTEGRITY_DAILY_CAP_HOURS'):g}")
    scan = Scan(event_id=f"correction-{uuid.uuid4().hex}", activity_id=session.activity_id,
                shift_id=session.shift_id, organization_id=session.organization_id,
                volunteer_id=session.volunteer_id, method="correction",
                direction="out", result="out", accepted=True, refusal_code=None, flags=["corrected"],
                scanned_at=checked_out_at, client_time=None, received_at=now, recorded_by_id=actor.id,
                session_id=session.id, reason=reason)
    db.session.add(scan)
    was_open = session.is_open
    session.checked_out_at = checked_out_at
    session.flags = [f for f in session.flags if f not in ("auto_closed", "too_long")] + ["corrected"]
    if checked_out_at - session.checked_in_at > session_cap():
        session.flags = [*session.flags, "too_long"]
    db.session.flush()
    if was_open:
        _announce_closed(session, actor)
    else:  # its entry was recorded at the auto-close: the correction is a new entry
        correct_session(session, actor, reason)
    record_event("checkin.checkout_corrected", actor=actor, organization=activity.organization, target=session,
                 reason=reason)
    return scan


def served_minutes(activity_id: int, volunteer_id: int) -> int:
    """Whole minutes of the union of the volunteer's closed sessions in the activity."""
    intervals = sorted(db.session.execute(db.select(
        AttendanceSession.checked_in_at, AttendanceSession.checked_out_at).where(
        AttendanceSession.activity_id == activity_id, AttendanceSession.volunteer_id == volunteer_id,
        AttendanceSession.checked_out_at.is_not(None))).all())
    return union_minutes(intervals)


def record_manual_entry(actor, activity: Activity, volunteer: Volunteer, started_at, ended_at, reason: str, *,
                        shift: Shift | None = None) -> ManualEntry:
    """A coordinator back-fills a session (of ``shift``, by default the activity's shift that holds its start);
    it waits for someone else's approval. Raises Forbidden unless ``actor`` may scan for the activity's
    organization, then shift_unknown, reason_required, text_*, datetime_invalid, ends_before_start,
    outside_activity (the shift's times and grace period)."""
    require("checkin.scan", activity.organization, user=actor)
    reason = check_plain_text(reason, multiline=True, field="reason", error=CheckInError)
    if not reason:
        raise CheckInError("reason_required", field="reason")
    if started_at is None:
        raise CheckInError("datetime_invalid", field="started_at")
    if ended_at is None:
        raise CheckInError("datetime_invalid", field="ended_at")
    if ended_at <= started_at:
        raise CheckInError("ends_before_start", field="ended_at")
    grace = dt.timedelta(minutes=activity.grace_minutes)
    if shift is None:
        shift = db.session.scalar(db.select(Shift).where(
            Shift.activity_id == activity.id, Shift.starts_at <= started_at + grace,
            Shift.ends_at >= started_at - grace).order_by(Shift.starts_at, Shift.id).limit(1))
    elif shift.activity_id != activity.id:
        raise CheckInError("shift_unknown", field="shift")
    span = shift or activity
    if started_at < span.starts_at - grace or ended_at > span.ends_at + grace:
        raise CheckInError("outside_activity", field="started_at")
    entry = ManualEntry(activity_id=activity.id, organization_id=activity.organization_id, volunteer_id=volunteer.id,
                        shift_id=shift.id if shift is not None else None,
                        started_at=started_at, ended_at=ended_at, reason=reason[:MANUAL_REASON_MAX],
                        entered_by_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    record_event("checkin.manual_entry", actor=actor, organization=activity.organization, target=entry,
                 volunteer=volunteer.volunteer_number)
    return entry


def decide_manual_entry(actor, entry: ManualEntry, approve: bool, *, now: dt.datetime | None = None
                        ) -> ManualEntry:
    """Approve (the session is created, flagged manual) or reject a manual entry. Neither the person who entered
    it nor the volunteer may decide it (IntegrityRefusal: own_recording, conflict_of_interest). Raises
    entry_not_pending; first of all Forbidden unless ``actor`` may review the organization's check-ins."""
    activity = db.session.get(Activity, entry.activity_id)
    require("checkin.review", activity.organization, user=actor)
    if entry.status != "pending":
        raise CheckInError("entry_not_pending")
    integrity.ensure_may_decide(actor, action="checkin.decide_manual_entry", organization=activity.organization,
                                volunteer_id=entry.volunteer_id, recorded_by=[entry.entered_by_id],
                                needs_review=True, target=entry)
    entry.status = "approved" if approve else "rejected"
    entry.decided_by_id = actor.id
    entry.decided_at = now or utcnow()
    if approve:
        session = AttendanceSession(activity_id=entry.activity_id, organization_id=entry.organization_id,
                                    shift_id=entry.shift_id, volunteer_id=entry.volunteer_id, source="manual",
                                    checked_in_at=entry.started_at, checked_out_at=entry.ended_at, flags=["manual"])
        db.session.add(session)
        db.session.flush()
        entry.session_id = session.id
        _announce_closed(session, db.session.get(User, entry.entered_by_id))  # the recorder is who entered it
    db.session.flush()
    record_event(f"checkin.manual_entry_{entry.status}", actor=actor, target=entry,
                 organization=db.session.get(Activity, entry.activity_id).organization)
    return entry
