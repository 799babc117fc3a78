"""The correction requests' shapes, declared once: what a volunteer's report and the organization's answer accept.
The forms' validators read the limits from here."""
from __future__ import annotations

from ..schema import Schema, Text

#: what a volunteer says is wrong or was missed
MESSAGE_MAX = 2000
#: the organization's answer to the volunteer
RESPONSE_MAX = 2000

#: a volunteer's report of an error or an omission (an empty one is the service's to refuse: message_required)
REPORT = Schema("CorrectionReport", {"message": Text(MESSAGE_MAX, multiline=True)})

#: the organization's answer (required only to decline: the service's reason_required)
ANSWER = Schema("CorrectionAnswer", {"response": Text(RESPONSE_MAX, multiline=True)})
