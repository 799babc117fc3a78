"""The shapes of a check-in scan as a device sends it and of a scan and a session as the API answers them,
declared once; the API's parsing and the OpenAPI document read them from here."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..ledger.models import FLAGS
from ..ledger.models import STATES as LEDGER_STATES
from ..schema import Boolean, Choice, DateTime, Integer, ListOf, Nested, Number, Schema, Text

SCAN_METHODS = {"kiosk": _l("Kiosk QR"), "card": _l("Volunteer card"), "offline": _l("Offline scan"),
                "correction": _l("Correction")}
#: what a device may ask of a scan; "auto" checks in, or out when a session is open
SCAN_DIRECTIONS = ("in", "out", "auto")

#: a volunteer number as typed or read from a card; a refused scan keeps what was read up to this length
TYPED_NUMBER_MAX = 40
#: why a coordinator set the time someone left
FIX_REASON_MAX = 500
#: why a session is entered by hand (the approver reads it)
MANUAL_REASON_MAX = 2000

#: the form that fixes a session's check-out
CHECKOUT_FIX = Schema("CheckoutFix", {"reason": Text(FIX_REASON_MAX, required=True, multiline=True)})

#: the form that enters a session by hand
MANUAL_ENTRY = Schema("ManualEntryFields", {
    "volunteer_number": Text(TYPED_NUMBER_MAX, required=True, plain=False),
    "reason": Text(MANUAL_REASON_MAX, required=True, multiline=True),
})

#: the device's id of a scan (a random UUID): a retry of the same scan sends the same one
EVENT_ID_PATTERN = "^[A-Za-z0-9_-]{8,64}$"

LOCATION = Schema("Location", {"latitude": Number(-90, 90, required=True),
                               "longitude": Number(-180, 180, required=True)})

#: POST /scans
SCAN_REQUEST = Schema("ScanRequest", {
    "event_id": Text(plain=False, required=True, pattern=EVENT_ID_PATTERN,
                     description="Made by the device (a random UUID); a retry of the same scan with the same id "
                     "returns the first result, to the account that sent it only (others: event_id_taken)."),
    "activity": Text(plain=False, required=True, description="The activity's public code."),
    "volunteer_number": Text(plain=False, description="A card scan or a typed number (coordinators and org admins "
                             "of the activity's organization). Give this or kiosk_token."),
    "kiosk_token": Text(plain=False, description="The token of the kiosk QR, scanned by the volunteer themself."),
    "poster_token": Text(plain=False, description="The token of a service point's poster, scanned by the volunteer "
                         "themself; needs a location, and the session is flagged static_qr and always reviewed."),
    "shift": Integer(1, 2**31 - 1, description="The shift the scan is for; by default the one on at the scan's "
                     "time (the volunteer's own when several are)."),
    "direction": Choice(SCAN_DIRECTIONS, default="auto"),
    "scanned_at": DateTime(description="When the device scanned (ISO 8601)."),
    "location": Nested(LOCATION),
    "offline": Boolean(description="Sent from the device's offline queue: the original scanned_at is kept and the "
                       "session flagged."),
})

#: a scan as the API answers it
SCAN_OUT = Schema("Scan", {
    "event_id": Text(plain=False, required=True), "accepted": Boolean(required=True),
    "result": Choice(("in", "out"), required=True, nullable=True),
    "refusal_code": Text(plain=False, nullable=True), "method": Choice(SCAN_METHODS),
    "direction": Choice(SCAN_DIRECTIONS),
    "flags": ListOf(Choice(FLAGS), required=True), "scanned_at": DateTime(required=True),
    "shift": Integer(nullable=True, description="The shift the scan was for."),
})

#: an attendance session as the API answers it
SESSION_OUT = Schema("Session", {
    "id": Integer(required=True), "checked_in_at": DateTime(required=True),
    "checked_out_at": DateTime(required=True, nullable=True), "flags": ListOf(Choice(FLAGS), required=True),
    "minutes": Integer(required=True, nullable=True, description="Whole minutes of this session once it is closed."),
    "shift": Integer(nullable=True, description="The shift the session belongs to."),
})

#: who scanned or was scanned, as the API names them
PERSON_OUT = Schema("Person", {"volunteer_number": Text(plain=False), "name": Text(plain=False)})

#: the ledger entry a check-out became, as a scan's answer names it
SCAN_ENTRY_OUT = Schema("ScanEntry", {
    "id": Integer(required=True), "minutes": Integer(required=True), "status": Choice(LEDGER_STATES, required=True),
})

#: POST /scans, a recorded scan (201) or a retry of one (200)
SCAN_RESULT_OUT = Schema("ScanResult", {
    "replayed": Boolean(required=True), "scan": Nested(SCAN_OUT, required=True),
    "volunteer": Nested(PERSON_OUT, required=True, nullable=True),
    "session": Nested(SESSION_OUT, required=True),
    "entry": Nested(SCAN_ENTRY_OUT, required=True, nullable=True, description="The ledger entry a check-out became."),
})

#: POST /scans, a refused scan: beside the error, the scan kept. A request that is not a scan at all has the error
#: only, so none of these is required
SCAN_REFUSAL_OUT = Schema("ScanRefusal", {
    "replayed": Boolean(description="A retry of a refused scan gets the same refusal."),
    "scan": Nested(SCAN_OUT), "volunteer": Nested(PERSON_OUT, nullable=True),
})

#: a session in an activity's attendance, with who it is
ATTENDANCE_SESSION_OUT = SESSION_OUT.extend("AttendanceSession", {
    "volunteer": Nested(PERSON_OUT, required=True, nullable=True),
})
#: a volunteer's whole time at the activity
SERVED_OUT = PERSON_OUT.extend("ServedMinutes", {
    "minutes": Integer(required=True, description="The union of the volunteer's closed sessions."),
})

#: GET /activities/{code}/attendance
ATTENDANCE_OUT = Schema("Attendance", {
    "activity": Text(plain=False, required=True), "present": ListOf(ATTENDANCE_SESSION_OUT, required=True),
    "closed": ListOf(ATTENDANCE_SESSION_OUT, required=True), "volunteers": ListOf(SERVED_OUT, required=True),
})
