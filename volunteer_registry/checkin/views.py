"""Check-in pages: the kiosk QR and the page it opens, the volunteer card, the coordinator's scanner (with its
offline queue), group check-in of a shift, the view of the day, manual entries, and an organization's stations view
(the week's shifts). Kiosk, scanner, day and group pages are for one shift (``?shift=<id>``, by default the one on
now, else the next). Every rule is in services.record_scan and friends."""
from __future__ import annotations

import base64
import datetime as dt
import os
import re
import uuid

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..access import load_activity, loads_activity, loads_organization
from ..accounts.permissions import can
from ..activities.queries import activity_by_code
from ..codes import normalize_volunteer_number
from ..database import MAX_ID
from ..errors import Forbidden, NotFound, apply_to_form
from ..extensions import db, limiter
from ..integrity.services import IntegrityRefusal
from ..ledger.services import LedgerError
from ..models import utcnow
from ..text import isolate
from ..timeutil import local, parse_datetime
from ..volunteers.access import volunteer_required
from ..volunteers.queries import volunteer_by_number, volunteer_for_user
from . import bp
from .forms import FixCheckoutForm, KioskTapForm, ManualDecisionForm, ManualEntryForm
from .kiosk import WINDOW_SECONDS, kiosk_problem, kiosk_token, kiosk_url, qr_png, qr_svg
from .limits import scan_rate_limit, scanner_key
from .models import SCAN_METHODS
from .queries import (
    current_shift,
    day_view,
    flag_labels,
    manual_entries,
    manual_entry_in,
    present_count,
    session_in,
    shift_in,
    shift_is_on,
    shift_rosters,
    shifts_around,
    stations_week,
    week_start,
)
from .services import (
    CheckInError,
    ScanRequest,
    ScanResult,
    close_ended_activities,
    decide_manual_entry,
    fix_missed_checkout,
    open_session,
    record_manual_entry,
    record_scan,
)

#: how long after the page a kiosk QR opened was checked fresh the tap on it still counts (see kiosk_scan)
KIOSK_GRACE = dt.timedelta(minutes=5)
REFRESH_SECONDS = WINDOW_SECONDS


# --- shared helpers ------------------------------------------------------------------------------------------------

def duration_text(minutes: int) -> str:
    hours, rest = divmod(max(minutes, 0), 60)
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)
    return _("%(minutes)s min", minutes=rest)


def session_minutes(attendance) -> int | None:
    if attendance is None or attendance.checked_out_at is None:
        return None
    return int((attendance.checked_out_at - attendance.checked_in_at).total_seconds() // 60)


def outcome_message(result: ScanResult, name: str | None = None) -> str:
    """What a person reads after a scan: "Checked in at 09:02", "Checked out — 1 h 30 min", or the refusal."""
    if result.error is not None:
        return result.error.message
    if result.scan.result == "in":
        text = _("Checked in at %(time)s", time=format_time(result.scan.scanned_at, "HH:mm"))
    else:
        text = _("Checked out — %(duration)s", duration=duration_text(session_minutes(result.session) or 0))
    return f"{isolate(name)}: {text}" if name else text  # a name in Arabic script keeps its direction to itself


def svg_data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def local_input_value(moment: dt.datetime) -> str:
    """The value of a datetime-local input showing ``moment`` in Beijing time."""
    return local(moment).strftime("%Y-%m-%dT%H:%M")


_SHIFT_ID = re.compile(r"[0-9]{1,12}")


def shift_id_of(raw) -> int | None:
    """A shift id from a query argument or a JSON field: None when absent, ValueError when it is not one."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not _SHIFT_ID.fullmatch(str(raw)) or not 1 <= int(raw) <= MAX_ID:
        raise ValueError(raw)
    return int(raw)


def page_shift(activity):
    """The shift a kiosk, scanner or day page is for: ``?shift=<id>`` (404 unless it is the activity's), else the
    one on now, else the next."""
    try:
        shift_id = shift_id_of(request.args.get("shift"))
    except ValueError:
        raise NotFound("not_found") from None
    return current_shift(activity, utcnow()) if shift_id is None else shift_in(activity, shift_id)


# --- kiosk ---------------------------------------------------------------------------------------------------------

def _kiosk_state(activity, shift) -> dict:
    url = kiosk_url(kiosk_token(activity.code, utcnow()), shift.id if shift is not None else None)
    return {"svg": qr_svg(url), "url": url, "present": present_count(activity), "refresh_seconds": REFRESH_SECONDS,
            "shift": shift.id if shift is not None else None}


@bp.route("/activities/<code>/kiosk")
@login_required
@loads_activity("checkin.scan")
def kiosk(activity):
    shift = page_shift(activity)
    state = _kiosk_state(activity, shift)
    return render_template("checkin/kiosk.html", activity=activity, state=state, qr=svg_data_url(state["svg"]),
                           shift=shift, shifts=shifts_around(activity, shift),
                           can_review=can(current_user, "checkin.review", activity.organization))


@bp.route("/activities/<code>/kiosk/state")
@login_required
@loads_activity("checkin.scan")
def kiosk_state(activity):
    response = jsonify(_kiosk_state(activity, page_shift(activity)))
    response.headers["Cache-Control"] = "no-store"
    return response


def _verified_recently(token: str, now: dt.datetime) -> bool:
    """Whether this browser's session shows ``token`` was checked fresh here less than KIOSK_GRACE ago."""
    seen = session.get("kiosk")
    if not isinstance(seen, dict) or seen.get("token") != token:
        return False
    try:
        verified_at = dt.datetime.fromisoformat(seen.get("verified_at") or "")
    except (TypeError, ValueError):
        return False
    return verified_at.tzinfo is not None and dt.timedelta(0) <= now - verified_at < KIOSK_GRACE


def _kiosk_refusal(error: CheckInError, activity=None):
    return render_template("checkin/kiosk_result.html", error=error, activity=activity, result=None,
                           message=error.message), error.http_status


@bp.route("/k/<token>", methods=["GET", "POST"])
@limiter.limit(scan_rate_limit, key_func=scanner_key, methods=["POST"])
def kiosk_scan(token: str):
    """The page a kiosk QR opens, and its one button.

    The token is checked at once, before signing in: when fresh, the session remembers it (``session["kiosk"]``,
    kept across sign-in by accounts.views._start_session). A token that went stale since then — the volunteer
    signed in, or read the page before tapping — still counts for KIOSK_GRACE after it was checked fresh, in this
    browser only.

    How: when the tap arrives with such a token, the server mints the current token for the same activity and
    passes that to record_scan, with the real time of the tap. The alternatives are worse: passing
    ``now=verified_at`` would record the check-in at the wrong time (and skew every flag that depends on the
    clock), and "refuse, then retry with a new event id" would store a refused scan and an accepted one for one
    tap, and break the rule that a double tap (same event id) is one scan. A token nobody here checked fresh
    (a photo forwarded home) goes to record_scan unchanged and is refused as stale, and that refusal is kept.
    """
    now = utcnow()
    try:
        shift_id = shift_id_of(request.args.get("shift"))  # which shift the kiosk shows; record_scan checks it
    except ValueError:
        return _kiosk_refusal(CheckInError("shift_unknown"))
    code, problem = kiosk_problem(token, None, now)
    if problem == "kiosk_qr_forged":
        return _kiosk_refusal(CheckInError("kiosk_qr_forged"))[0], 404
    vouched = problem == "kiosk_qr_stale" and _verified_recently(token, now)
    if request.method == "GET":
        if problem is None:
            session["kiosk"] = {"token": token, "verified_at": now.isoformat()}
        elif not vouched:
            return _kiosk_refusal(CheckInError(problem))
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    activity = activity_by_code(code)
    volunteer = volunteer_for_user(current_user)
    if volunteer is None:
        flash(CheckInError("volunteer_profile_required").message, "info")
        return redirect(url_for("volunteers.profile", next=url_for("checkin.kiosk_scan", token=token)))

    form = KioskTapForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _kiosk_page(activity, volunteer, token, shift_id), 400
        effective = kiosk_token(code, now) if vouched else token
        try:
            result = record_scan(current_user, ScanRequest(event_id=form.event_id.data, kiosk_token=effective,
                                                           shift_id=shift_id), now=now)
        except CheckInError as error:  # event_id_taken, event_id_reused: nothing written, nothing of the first
            db.session.rollback()
            return _kiosk_refusal(error, activity)
        db.session.commit()
        status = result.error.http_status if result.error else 200
        return render_template("checkin/kiosk_result.html", activity=activity, result=result, error=result.error,
                               message=outcome_message(result)), status
    return _kiosk_page(activity, volunteer, token, shift_id)


def _kiosk_page(activity, volunteer, token: str, shift_id: int | None = None) -> str:
    form = KioskTapForm(formdata=None, event_id=uuid.uuid4().hex)
    current = open_session(activity, volunteer)
    return render_template("checkin/kiosk_tap.html", activity=activity, volunteer=volunteer, form=form,
                           current=current, token=token, shift_id=shift_id)


# --- volunteer card ------------------------------------------------------------------------------------------------

@bp.route("/volunteer/card")
@volunteer_required
def card(volunteer):
    return render_template("checkin/card.html", volunteer=volunteer,
                           qr=svg_data_url(qr_svg(volunteer.volunteer_number)))


@bp.route("/volunteer/card.png")
@volunteer_required
def card_png(volunteer):
    response = Response(qr_png(volunteer.volunteer_number), mimetype="image/png")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="volunteer-card-{volunteer.volunteer_number}.png"')
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- scanner -------------------------------------------------------------------------------------------------------

@bp.route("/activities/<code>/scanner")
@login_required
@loads_activity("checkin.scan")
def scanner(activity):
    shift = page_shift(activity)
    return render_template("checkin/scanner.html", activity=activity, present=present_count(activity),
                           shift=shift, shifts=shifts_around(activity, shift),
                           can_review=can(current_user, "checkin.review", activity.organization))


_CODE = re.compile(r"[0-9A-Za-z]{4,12}")


@bp.route("/activities/<code>/scanner.webmanifest")
def scanner_manifest(code: str):
    """The web app manifest that makes the scanner installable. It holds nothing but the code in the URL (no
    database look-up), so it can be public: browsers fetch manifests without cookies."""
    if not _CODE.fullmatch(code):
        return Response(status=404)
    code = code.upper()
    start = url_for("checkin.scanner", code=code)
    body = {
        "name": f"{_('Check-in scanner')} · {code}", "short_name": _("Scanner"), "start_url": start,
        "scope": url_for("checkin.scanner", code=code).rsplit("/", 1)[0] + "/", "display": "standalone",
        "background_color": "#f6f5f2", "theme_color": "#b4232a",
        "icons": [{"src": url_for("static", filename="favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
                  *({"src": url_for("static", filename=f"img/icon-{size}.png"), "sizes": f"{size}x{size}",
                     "type": "image/png", "purpose": "any maskable"} for size in (192, 512))],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.route("/scanner-sw.js")
def scanner_service_worker():
    """The scanner's service worker, served from the site root so its scope covers /activities/…/scanner."""
    with open(os.path.join(current_app.static_folder, "js", "scanner-sw.js"), encoding="utf-8") as source:
        response = Response(source.read(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _scan_json(result: ScanResult, activity) -> dict:
    volunteer = result.scan.volunteer
    attendance = result.session
    return {
        "accepted": result.accepted,
        "replayed": result.replayed,
        "result": result.scan.result,
        "code": result.error.code if result.error else None,
        "message": outcome_message(result, volunteer.name if volunteer else None),
        "event_id": result.scan.event_id,
        "scanned_at": result.scan.scanned_at.isoformat(),
        "volunteer": {"name": volunteer.name, "number": volunteer.volunteer_number} if volunteer else None,
        "typed_number": result.scan.typed_number,
        "session": None if attendance is None else {
            "id": attendance.id,
            "checked_in_at": attendance.checked_in_at.isoformat(),
            "checked_out_at": attendance.checked_out_at.isoformat() if attendance.checked_out_at else None,
            "minutes": session_minutes(attendance),
            "flags": list(attendance.flags or ()),
            "flag_labels": flag_labels(attendance.flags),
        },
        "present": present_count(activity),
        "shift": result.scan.shift_id,
    }


@bp.route("/activities/<code>/scans", methods=["POST"])
@limiter.limit(scan_rate_limit, key_func=scanner_key)
def scans(code: str):
    """A scan from the scanner page (camera, typed number, or its offline queue): JSON in, JSON out.

    201 for a new accepted scan, 200 for a known event id (``"replayed": true``) that was accepted, the refusal's
    4xx status otherwise (a refused scan is kept). A known event id sent by another account, or by this one for
    another scan, is 409 event_id_taken / event_id_reused with the error alone: nothing of the first scan. Session
    sign-in, CSRF token in the X-CSRFToken header (or the csrf_token field of a form post). ``shift``: the id of
    the shift the scan is for (the scanner's and group check-in's); without it, the one on at the scan's time. A
    shift that is not a number is 400 shift_invalid, another activity's 404 shift_unknown."""
    if not current_user.is_authenticated:
        return jsonify({"error": {"code": "sign_in_required", "message": _("Please sign in to continue.")}}), 401
    activity = load_activity(code, "checkin.scan")  # not the decorator: a signed-out scanner gets JSON, not a page
    # JSON from scanner.js; a plain form post (an integration, a test) carries the same fields
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(body, dict):
        return jsonify({"error": {"code": "bad_request", "message": _("Send the scan as a JSON object.")}}), 400
    raw_time = body.get("scanned_at")
    scanned_at = parse_datetime(raw_time) if raw_time else None
    if raw_time and scanned_at is None:
        raise CheckInError("scanned_at_invalid", field="scanned_at")
    try:
        shift_id = shift_id_of(body.get("shift"))
    except ValueError:
        return jsonify({"error": {"code": "shift_invalid", "field": "shift",
                                  "message": _("The shift is the number of one of the activity's shifts.")}}), 400
    number = body.get("volunteer_number")
    try:
        result = record_scan(current_user, ScanRequest(
            event_id=str(body.get("event_id") or ""), activity_code=activity.code,
            volunteer_number=str(number) if number else None, direction=str(body.get("direction") or "auto"),
            scanned_at=scanned_at, offline=body.get("offline") in (True, "true", "1", "on"), shift_id=shift_id))
    except CheckInError as error:  # not a scan, or a known event id that is not this caller's scan: written nothing
        db.session.rollback()
        return jsonify(error.to_json()), error.http_status
    db.session.commit()
    if result.error is not None:
        status = result.error.http_status
    else:
        status = 200 if result.replayed else 201
    return jsonify(_scan_json(result, activity)), status


# --- the coordinator's view of the day -----------------------------------------------------------------------------

@bp.route("/activities/<code>/day")
@login_required
@loads_activity("checkin.review")
def day(activity):
    now = utcnow()
    if close_ended_activities(now):
        db.session.commit()
    shift = page_shift(activity)
    return render_template("checkin/day.html", activity=activity, view=day_view(activity), fix_form=FixCheckoutForm(),
                           shift=shift, rosters=shift_rosters(activity, shifts_around(activity, shift)),
                           default_out=local_input_value(min(now, activity.ends_at)), input_value=local_input_value,
                           methods={key: str(label) for key, label in SCAN_METHODS.items()},
                           can_scan=can(current_user, "checkin.scan", activity.organization))


@bp.route("/activities/<code>/sessions/<int:session_id>/checkout", methods=["POST"])
@login_required
@loads_activity("checkin.review")
def fix_checkout(activity, session_id: int):
    attendance = session_in(activity, session_id)
    form = FixCheckoutForm()
    if form.validate_on_submit():
        try:
            fix_missed_checkout(current_user, attendance, form.checked_out_at.utc, form.reason.data)
        except (CheckInError, IntegrityRefusal, LedgerError) as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Check-out of %(name)s corrected.", name=isolate(attendance.volunteer.name)), "success")
    else:
        for field in form:
            for message in field.errors:
                flash(f"{field.label.text}: {message}", "error")
    return redirect(url_for("checkin.day", code=activity.code))


# --- manual entries ------------------------------------------------------------------------------------------------

@bp.route("/activities/<code>/manual", methods=["GET", "POST"])
@login_required
@loads_activity("checkin.scan")
def manual(activity):
    form = ManualEntryForm()
    if form.validate_on_submit():
        number = normalize_volunteer_number(form.volunteer_number.data)
        volunteer = volunteer_by_number(number) if number else None
        if volunteer is None:
            form.volunteer_number.errors = [*form.volunteer_number.errors, CheckInError("volunteer_unknown").message]
        else:
            try:
                record_manual_entry(current_user, activity, volunteer, form.started_at.utc, form.ended_at.utc,
                                    form.reason.data)
            except CheckInError as error:
                db.session.rollback()
                if not apply_to_form(error, form):
                    flash(error.message, "error")
            else:
                db.session.commit()
                flash(_("Entered for %(name)s. It counts once someone else approves it.", name=isolate(volunteer.name)),
                      "success")
                return redirect(url_for("checkin.manual_entries_page", code=activity.code))
    return render_template("checkin/manual.html", activity=activity, form=form,
                           can_review=can(current_user, "checkin.review", activity.organization))


@bp.route("/activities/<code>/manual-entries")
@login_required
@loads_activity("checkin.review")
def manual_entries_page(activity):
    return render_template("checkin/manual_entries.html", activity=activity,
                           rows=manual_entries(activity, current_user), form=ManualDecisionForm(),
                           can_scan=can(current_user, "checkin.scan", activity.organization))


@bp.route("/activities/<code>/manual-entries/<int:entry_id>/decision", methods=["POST"])
@login_required
@loads_activity("checkin.review")
def decide_entry(activity, entry_id: int):
    entry = manual_entry_in(activity, entry_id)
    form = ManualDecisionForm()
    if form.validate_on_submit():
        try:
            decide_manual_entry(current_user, entry, form.decision.data == "approve")
        except (CheckInError, IntegrityRefusal) as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Approved: the session now counts.") if entry.status == "approved" else _("Rejected."),
                  "success")
    return redirect(url_for("checkin.manual_entries_page", code=activity.code))


# --- group check-in of a shift -------------------------------------------------------------------------------------

@bp.route("/activities/<code>/shifts/<int:shift_id>/group")
@login_required
@loads_activity("checkin.scan")
def group(activity, shift_id: int):
    """A shift's signed-up volunteers to check in or out together. The page only lists them: each selected person
    becomes one scan with its own event id, made in the browser and sent to :func:`scans` through the scanner's
    offline queue (static/js/group.js), so a group is as idempotent, and as offline-proof, as single scans."""
    shift = shift_in(activity, shift_id)
    roster = shift_rosters(activity, [shift])[0]
    return render_template("checkin/group.html", activity=activity, shift=shift, roster=roster,
                           on_now=shift_is_on(shift, activity, utcnow()),
                           can_review=can(current_user, "checkin.review", activity.organization))


# --- an organization's stations: the week's shifts -----------------------------------------------------------------

def _week_of(raw: str | None, today: dt.date) -> tuple[dt.date, bool]:
    """The Monday of the week ``?week=YYYY-MM-DD`` falls in, and whether it could be read (this week otherwise)."""
    if not raw:
        return week_start(today), True
    try:
        day = dt.date.fromisoformat(raw)
    except (TypeError, ValueError):
        return week_start(today), False
    if not 1971 <= day.year <= 9998:  # a week whose ends still convert between Beijing time and UTC
        return week_start(today), False
    return week_start(day), True


@bp.route("/organizations/<code>/stations")
@login_required
@loads_organization()
def stations(org):
    """The week (Monday to Sunday, Beijing time) of the organization's published activities' shifts, by day, with
    one-tap links to the kiosk, scanner and group check-in of the shift on now. Coordinators and org admins."""
    if not (can(current_user, "checkin.scan", org) or can(current_user, "activities.manage", org)):
        raise Forbidden("forbidden")
    now = utcnow()
    monday, readable = _week_of(request.args.get("week"), local(now).date())
    if not readable:
        flash(_("The week could not be read (use a date such as 2026-03-02): this week is shown."), "error")
    return render_template("checkin/stations.html", org=org, days=stations_week(org, monday, now), monday=monday,
                           sunday=monday + dt.timedelta(days=6), today=local(now).date(),
                           previous=(monday - dt.timedelta(days=7)).isoformat(),
                           following=(monday + dt.timedelta(days=7)).isoformat(),
                           can_scan=can(current_user, "checkin.scan", org))
