"""A volunteer's personal information, declared once: its limits (the enumerations of genders and identity
documents are identity.py's, where their rules are). The model's columns, the form, the service and the API's JSON
in and out (and so the OpenAPI document) read them from here."""
from __future__ import annotations

from ..schema import Boolean, Choice, Date, DateTime, Email, Schema, Text
from .identity import GENDERS, ID_TYPES

NAME_MAX = 60
#: the form's limits on a phone number and an identity number as typed; the service refuses any that does not
#: normalise to a valid one (phone_invalid, id_number_format), whatever its length
PHONE_MAX = 20
#: RFC 5321's longest deliverable address
EMAIL_MAX = 254
SKILLS_MAX = 500
ID_NUMBER_TYPED_MAX = 32
#: the national volunteer service system's unified volunteer number: its digits and capital letters, as issued.
#: Its exact format is not published in our sources: the bounds are permissive (services.normalize_national_number)
NATIONAL_NUMBER_MIN = 8
NATIONAL_NUMBER_MAX = 32
#: the form's limit on a national number as typed, with the spaces and hyphens the service removes
NATIONAL_NUMBER_TYPED_MAX = 48

#: PUT /me/volunteer, and the profile form
VOLUNTEER_PROFILE = Schema("VolunteerProfile", {
    "name": Text(NAME_MAX, required=True, required_code="name_required"),
    "gender": Choice(GENDERS, required=True),
    "birth_date": Date(required=True),
    "id_type": Choice(ID_TYPES),
    "id_number": Text(plain=False, required=True,
                      description="Checked (GB 11643 for resident IDs); may be omitted on update to keep the "
                      "stored one."),
    "phone": Text(plain=False, required=True),
    "email": Email(EMAIL_MAX, nullable=True),
    "region_code": Text(plain=False, required=True),
    "skills": Text(SKILLS_MAX, multiline=True),
    "consent": Boolean(required=True, description="Consent to the record-keeping; must be true."),
    "guardian_name": Text(NAME_MAX, description="Required under 14."),
    "guardian_consent": Boolean(description="Required under 14."),
    "national_number": Text(NATIONAL_NUMBER_TYPED_MAX, plain=False, nullable=True,
                            description="The national volunteer service information system's unified volunteer "
                            "number (全国志愿服务信息系统的志愿者编号), when known: 8 to 32 digits and capital letters "
                            "once spaces and hyphens are removed. Omitted: the stored one is kept; empty or null: "
                            "it is removed. Refused national_number_format, or national_number_taken (409) when "
                            "another volunteer holds it."),
})

#: a volunteer's record as the API answers it (the identity number masked)
VOLUNTEER_OUT = Schema("Volunteer", {
    "volunteer_number": Text(plain=False, required=True), "name": Text(plain=False),
    "gender": Text(plain=False), "birth_date": Date(), "id_type": Text(plain=False),
    "id_number_masked": Text(plain=False, required=True), "phone": Text(plain=False),
    "email": Text(plain=False, nullable=True), "region_code": Text(plain=False), "skills": Text(plain=False),
    "consent_at": DateTime(), "guardian_name": Text(plain=False, nullable=True),
    "national_number": Text(plain=False, nullable=True,
                            description="The national unified volunteer number, when known."),
})
