"""Volunteers: registration under a real identity, profile changes, full-ID views, bulk import."""
from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..audit.services import record_event
from ..codes import new_volunteer_number
from ..errors import DomainError
from ..extensions import db
from ..models import utcnow
from ..regions import get_region
from ..text import check_plain_text, normalize_phone
from .identity import GENDERS, ID_TYPES, age_on, id_number_problem, mask_id_number, normalize_id_number
from .models import Volunteer
from .schemas import NAME_MAX, SKILLS_MAX
from .vault import decrypt_id_number, encrypt_id_number, id_number_hash

GUARDIAN_AGE = 14
MAX_NAME_LENGTH = NAME_MAX


class VolunteerError(DomainError):
    messages = {
        "name_required": _l("Enter your name as it appears on your ID document."),
        "name_too_long": _l("A name has at most %(max)s characters."),
        "gender_unknown": _l("Choose a gender."),
        "birth_date_required": _l("Enter a date of birth."),
        "birth_date_future": _l("The date of birth cannot be in the future."),
        "id_type_unknown": _l("Choose an ID document type."),
        "id_number_required": _l("Enter the ID document number."),
        "id_number_format": _l("This is not a valid number for the chosen document type."),
        "id_number_region": _l("The first two digits of a resident ID number must be a province code."),
        "id_number_birth_date": _l("Digits 7 to 14 of a resident ID number must be a real date of birth."),
        "id_number_check_digit": _l("This resident ID number is not valid: its last character does not match. "
                                    "Please check it for a typing error."),
        "id_number_birth_date_mismatch": _l("The date of birth does not match the ID number."),
        "id_number_gender_mismatch": _l("The gender does not match the ID number."),
        "id_number_taken": _l("This ID document is already registered to another volunteer. One person can hold "
                              "only one volunteer record; if it is yours, sign in to that account or contact "
                              "the organization that registered you."),
        "phone_invalid": _l("Enter a valid phone number."),
        "region_unknown": _l("Choose a region from the list."),
        "consent_required": _l("You must agree to the keeping of your volunteer service record."),
        "too_long": _l("At most %(max)s characters."),
        "email_invalid": _l("Enter a valid email address."),
        "guardian_required": _l("A volunteer under 14 needs a guardian's name."),
        "guardian_consent_required": _l("A volunteer under 14 needs a guardian's consent."),
        "profile_exists": _l("You already have a volunteer profile."),
        "profile_missing": _l("Complete your volunteer profile first."),
    }
    statuses = {"id_number_taken": 409, "profile_exists": 409, "profile_missing": 404}


@dataclass
class VolunteerData:
    name: str
    gender: str
    birth_date: dt.date | None
    id_type: str
    id_number: str
    phone: str
    region_code: str
    email: str | None = None
    skills: str = ""
    consent: bool = False
    guardian_name: str | None = None
    guardian_consent: bool = False
    # filled in by clean_volunteer_data
    age: int = field(default=0, repr=False)

    @classmethod
    def from_mapping(cls, data) -> VolunteerData:
        """From a form's, a JSON body's or an import row's values. Unparseable dates become None."""
        def text(key):
            value = data.get(key)
            return "" if value is None else str(value).strip()

        def flag(key):
            value = data.get(key)
            if isinstance(value, bool):
                return value
            return text(key).lower() in ("1", "true", "yes", "y", "on", "是", "同意")

        birth = data.get("birth_date")
        if isinstance(birth, dt.datetime):
            birth = birth.date()
        elif not isinstance(birth, dt.date):
            try:
                birth = dt.date.fromisoformat(text("birth_date")) if text("birth_date") else None
            except ValueError:
                birth = None
        skills = data.get("skills")
        if isinstance(skills, (list, tuple)):
            skills = ", ".join(str(s).strip() for s in skills if str(s).strip())
        return cls(name=text("name"), gender=text("gender").lower(), birth_date=birth,
                   id_type=text("id_type") or "resident_id", id_number=text("id_number"), phone=text("phone"),
                   region_code=text("region_code"), email=text("email") or None, skills=str(skills or "").strip(),
                   consent=flag("consent"), guardian_name=text("guardian_name") or None,
                   guardian_consent=flag("guardian_consent"))


def normalize_name(name: str) -> str:
    """A name as records keep it: NFC, each run of whitespace one space, none at the ends."""
    return unicodedata.normalize("NFC", " ".join(name.split()))


def names_match(given: str, recorded: str) -> bool:
    """Whether a name someone gave is the name on a volunteer record (both normalised as records keep them)."""
    return normalize_name(given) == normalize_name(recorded)


def clean_volunteer_data(data: VolunteerData, *, today: dt.date | None = None) -> VolunteerData:
    """Check every rule on a volunteer's personal information; return it normalised. Raises VolunteerError with
    the field it concerns (see ``VolunteerError.messages`` for the codes, and text.check_plain_text for the
    text_* codes of the name, the guardian's name and the skills)."""
    today = today or dt.date.today()
    name = normalize_name(check_plain_text(data.name, field="name", error=VolunteerError))
    if not name:
        raise VolunteerError("name_required", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise VolunteerError("name_too_long", field="name", max=MAX_NAME_LENGTH)
    if data.gender not in GENDERS:
        raise VolunteerError("gender_unknown", field="gender")
    if data.birth_date is None:
        raise VolunteerError("birth_date_required", field="birth_date")
    if data.birth_date > today:
        raise VolunteerError("birth_date_future", field="birth_date")
    if data.id_type not in ID_TYPES:
        raise VolunteerError("id_type_unknown", field="id_type")
    number = normalize_id_number(data.id_number)
    if not number:
        raise VolunteerError("id_number_required", field="id_number")
    problem = id_number_problem(data.id_type, number, birth_date=data.birth_date, gender=data.gender)
    if problem:
        raise VolunteerError(problem, field="id_number")
    phone = normalize_phone(data.phone)
    if phone is None:
        raise VolunteerError("phone_invalid", field="phone")
    email = None
    if data.email:
        try:
            email = validate_email(data.email, check_deliverability=False).normalized
        except EmailNotValidError:
            raise VolunteerError("email_invalid", field="email") from None
    skills = check_plain_text(data.skills, multiline=True, field="skills", error=VolunteerError)
    guardian = check_plain_text(data.guardian_name, field="guardian_name", error=VolunteerError) or None
    for key, value, limit in (("skills", skills, SKILLS_MAX), ("guardian_name", guardian, MAX_NAME_LENGTH)):
        if len(value or "") > limit:
            raise VolunteerError("too_long", field=key, max=limit)
    if get_region(data.region_code) is None:
        raise VolunteerError("region_unknown", field="region_code")
    if not data.consent:
        raise VolunteerError("consent_required", field="consent")
    age = age_on(data.birth_date, today)
    if age < GUARDIAN_AGE:
        if not guardian:
            raise VolunteerError("guardian_required", field="guardian_name")
        if not data.guardian_consent:
            raise VolunteerError("guardian_consent_required", field="guardian_consent")
    else:
        guardian = None
    return VolunteerData(name=name, gender=data.gender, birth_date=data.birth_date, id_type=data.id_type,
                         id_number=number, phone=phone, region_code=data.region_code, email=email,
                         skills=skills, consent=True, guardian_name=guardian,
                         guardian_consent=guardian is not None, age=age)


def _find_by_document(id_type: str, number: str) -> Volunteer | None:
    return db.session.scalar(db.select(Volunteer).where(Volunteer.id_number_hash == id_number_hash(id_type, number)))


def _apply(volunteer: Volunteer, clean: VolunteerData, consent_source: str) -> None:
    now = utcnow()
    volunteer.name = clean.name
    volunteer.gender = clean.gender
    volunteer.birth_date = clean.birth_date
    volunteer.phone = clean.phone
    volunteer.email = clean.email
    volunteer.region_code = clean.region_code
    volunteer.skills = clean.skills
    if volunteer.id_number_hash != id_number_hash(clean.id_type, clean.id_number):
        volunteer.id_type = clean.id_type
        volunteer.id_number_encrypted = encrypt_id_number(clean.id_number)
        volunteer.id_number_hash = id_number_hash(clean.id_type, clean.id_number)
        volunteer.id_number_masked = mask_id_number(clean.id_number)
    if volunteer.consent_at is None or consent_source == "self":
        volunteer.consent_at = now
        volunteer.consent_source = consent_source
    if clean.guardian_name and volunteer.guardian_name != clean.guardian_name:
        volunteer.guardian_consent_at = now
    volunteer.guardian_name = clean.guardian_name
    if clean.guardian_name is None:
        volunteer.guardian_consent_at = None


def _new_volunteer() -> Volunteer:
    while True:
        number = new_volunteer_number()
        if db.session.scalar(db.select(Volunteer.id).where(Volunteer.volunteer_number == number)) is None:
            return Volunteer(volunteer_number=number)


def save_own_profile(user, data: VolunteerData) -> Volunteer:
    """Create or update the signed-in person's volunteer profile.

    An existing profile keeps its ID document when ``data.id_number`` is empty. A record that an organization
    imported for the same ID document and name, and that no account holds yet, is taken over by this account.
    Raises VolunteerError (id_number_taken when another account holds the document).
    """
    own = db.session.scalar(db.select(Volunteer).where(Volunteer.user_id == user.id))
    if own is not None and not data.id_number.strip():
        data.id_type = own.id_type
        data.id_number = decrypt_id_number(own.id_number_encrypted)
    clean = clean_volunteer_data(data)
    holder = _find_by_document(clean.id_type, clean.id_number)
    if holder is not None and holder is not own:
        if holder.user_id is None and own is None and holder.name == clean.name:
            holder.user_id = user.id
            _apply(holder, clean, "self")
            record_event("volunteer.claimed", actor=user, target=holder, volunteer=holder.volunteer_number)
            db.session.flush()
            return holder
        raise VolunteerError("id_number_taken", field="id_number")
    created = own is None
    volunteer = own or _new_volunteer()
    volunteer.user_id = user.id
    _apply(volunteer, clean, "self")
    if created:
        db.session.add(volunteer)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a concurrent registration of the same document
        raise VolunteerError("id_number_taken", field="id_number") from None
    record_event("volunteer.registered" if created else "volunteer.updated", actor=user, target=volunteer,
                 volunteer=volunteer.volunteer_number)
    return volunteer


#: documents looked up per query (well under every database's limit on bound parameters)
LOOKUP_BATCH = 500


def volunteers_by_document(documents: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Volunteer]:
    """The volunteer records holding these documents — (ID type, normalised number) pairs — keyed by document, found
    by their keyed hash a batch at a time. Documents nobody holds are absent."""
    by_hash = {id_number_hash(id_type, number): (id_type, number) for id_type, number in documents}
    hashes = list(by_hash)
    found: dict[tuple[str, str], Volunteer] = {}
    for start in range(0, len(hashes), LOOKUP_BATCH):
        batch = hashes[start:start + LOOKUP_BATCH]
        for volunteer in db.session.scalars(db.select(Volunteer).where(Volunteer.id_number_hash.in_(batch))):
            found[by_hash[volunteer.id_number_hash]] = volunteer
    return found


def register_imported_volunteer(actor, org, clean: VolunteerData) -> Volunteer:
    """A new volunteer record without an account for an already-cleaned import row whose document nobody holds.
    An existing record is never taken or changed by an import (the organization invites its holder instead).
    Raises id_number_taken when the document is registered (also by someone who registered since the rows were
    checked)."""
    if _find_by_document(clean.id_type, clean.id_number) is not None:
        raise VolunteerError("id_number_taken", field="id_number")
    volunteer = _new_volunteer()
    _apply(volunteer, clean, f"import:{org.code}")
    db.session.add(volunteer)
    db.session.flush()
    record_event("volunteer.imported", actor=actor, organization=org, target=volunteer,
                 volunteer=volunteer.volunteer_number)
    return volunteer


def reveal_id_number(actor, volunteer: Volunteer, *, organization=None, purpose: str = "") -> str:
    """The full ID number, for its holder or a role that needs it; every view is written to the audit log."""
    number = decrypt_id_number(volunteer.id_number_encrypted)
    record_event("volunteer.id_number_viewed", actor=actor, organization=organization, target=volunteer,
                 volunteer=volunteer.volunteer_number, own=(volunteer.user_id == getattr(actor, "id", None)) or None,
                 purpose=purpose or None)
    return number
