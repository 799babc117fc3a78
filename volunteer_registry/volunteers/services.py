"""Volunteers: registration under a real identity, profile changes, full-ID views, bulk import."""
from __future__ import annotations

import datetime as dt
import re
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
from .schemas import NAME_MAX, NATIONAL_NUMBER_MAX, NATIONAL_NUMBER_MIN, SKILLS_MAX
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
        "national_number_format": _l("A national volunteer number is %(min)s to %(max)s digits and capital letters "
                                     "(spaces and hyphens are ignored). Copy it from the national volunteer service "
                                     "information system."),
        "national_number_taken": _l("This national volunteer number is already recorded for another volunteer."),
        "duplicate_in_file": _l("The same ID document or national volunteer number is on line %(line)s."),
        "profile_exists": _l("You already have a volunteer profile."),
        "profile_missing": _l("Complete your volunteer profile first."),
    }
    statuses = {"id_number_taken": 409, "national_number_taken": 409, "profile_exists": 409, "profile_missing": 404}


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
    #: the national unified volunteer number as typed: None keeps the stored one (a JSON body without it), "" clears
    national_number: str | None = None
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
                   guardian_consent=flag("guardian_consent"),
                   # absent keeps the stored number; given, even as null, sets or clears it
                   national_number=text("national_number") if "national_number" in data else None)


_NATIONAL_NUMBER = re.compile(rf"[0-9A-Z]{{{NATIONAL_NUMBER_MIN},{NATIONAL_NUMBER_MAX}}}")


def normalize_national_number(text: str | None) -> str | None:
    """The national unified volunteer number (the number the national volunteer service information system,
    全国志愿服务信息系统, gives a volunteer) as records keep it: spaces and hyphens removed, letters upper-case.
    None for an empty value. Raises VolunteerError national_number_format (field national_number) unless what is
    left is 8 to 32 ASCII digits and capital letters.

    The national system's exact format (length, check character) is not published in the sources this project
    has, so the rule is permissive on length and strict on characters: it keeps typing noise out of the records
    without refusing a real number whose shape we do not know (docs/CERTIFICATES.md, "The national volunteer
    number")."""
    if text is None:
        return None
    number = unicodedata.normalize("NFKC", str(text))  # full-width digits and letters, as Chinese keyboards type
    number = re.sub(r"[\s\-\u2010-\u2015\u2212]", "", number)
    if not number:
        return None
    # ASCII checked before upper-casing: some letters upper-case to ASCII ones ("ı" to "I")
    if not number.isascii() or not _NATIONAL_NUMBER.fullmatch(number := number.upper()):
        raise VolunteerError("national_number_format", field="national_number", min=NATIONAL_NUMBER_MIN,
                             max=NATIONAL_NUMBER_MAX)
    return number


def national_number_holder(number: str) -> Volunteer | None:
    """The volunteer whose record holds this (normalised) national number, if any."""
    return db.session.scalar(db.select(Volunteer).where(Volunteer.national_number == number))


def check_national_number_free(number: str | None, volunteer: Volunteer | None) -> None:
    """Raises national_number_taken (field national_number) when another volunteer than ``volunteer`` (None: a
    record not yet created) holds ``number``."""
    if number is None:
        return
    holder = national_number_holder(number)
    if holder is not None and holder is not volunteer:
        raise VolunteerError("national_number_taken", field="national_number")


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
    national = None if data.national_number is None else normalize_national_number(data.national_number) or ""
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
                         guardian_consent=guardian is not None, national_number=national, age=age)


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
    if clean.national_number is not None:  # None: not given, the stored one stays
        volunteer.national_number = clean.national_number or None
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


def _national_number_held_elsewhere(number: str, volunteer: Volunteer) -> bool:
    """After a failed flush (the session rolled back to its savepoint): whether a committed record other than
    ``volunteer`` holds ``number``."""
    held_by = db.session.scalar(db.select(Volunteer.id).where(Volunteer.national_number == number))
    return held_by is not None and held_by != volunteer.id


def _new_volunteer() -> Volunteer:
    while True:
        number = new_volunteer_number()
        if db.session.scalar(db.select(Volunteer.id).where(Volunteer.volunteer_number == number)) is None:
            return Volunteer(volunteer_number=number)


def save_own_profile(user, data: VolunteerData) -> Volunteer:
    """Create or update the signed-in person's volunteer profile.

    An existing profile keeps its ID document when ``data.id_number`` is empty. A record that an organization
    imported for the same ID document and name, and that no account holds yet, is taken over by this account.
    ``data.national_number`` None keeps the stored national number, "" clears it.
    Raises VolunteerError (id_number_taken when another account holds the document, national_number_taken when
    another volunteer holds the national number; nothing is saved then).
    """
    own = db.session.scalar(db.select(Volunteer).where(Volunteer.user_id == user.id))
    if own is not None and not data.id_number.strip():
        data.id_type = own.id_type
        data.id_number = decrypt_id_number(own.id_number_encrypted)
    clean = clean_volunteer_data(data)
    holder = _find_by_document(clean.id_type, clean.id_number)
    if holder is not None and holder is not own:
        if holder.user_id is None and own is None and holder.name == clean.name:
            if not clean.national_number:  # the new account's empty field never clears what was imported
                clean.national_number = None
            check_national_number_free(clean.national_number, holder)
            holder.user_id = user.id
            _apply(holder, clean, "self")
            record_event("volunteer.claimed", actor=user, target=holder, volunteer=holder.volunteer_number)
            db.session.flush()
            return holder
        raise VolunteerError("id_number_taken", field="id_number")
    check_national_number_free(clean.national_number or None, own)
    created = own is None
    volunteer = own or _new_volunteer()
    volunteer.user_id = user.id
    _apply(volunteer, clean, "self")
    if created:
        db.session.add(volunteer)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a concurrent registration of the same document, or of the same national number
        if clean.national_number and _national_number_held_elsewhere(clean.national_number, volunteer):
            raise VolunteerError("national_number_taken", field="national_number") from None
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


def volunteers_by_national_number(numbers: Iterable[str]) -> dict[str, Volunteer]:
    """The volunteer records holding these (normalised) national numbers, keyed by number, a batch at a time.
    Numbers nobody holds are absent."""
    wanted = list(dict.fromkeys(numbers))
    found: dict[str, Volunteer] = {}
    for start in range(0, len(wanted), LOOKUP_BATCH):
        batch = wanted[start:start + LOOKUP_BATCH]
        for volunteer in db.session.scalars(db.select(Volunteer).where(Volunteer.national_number.in_(batch))):
            found[volunteer.national_number] = volunteer
    return found


def register_imported_volunteer(actor, org, clean: VolunteerData) -> Volunteer:
    """A new volunteer record without an account for an already-cleaned import row whose document nobody holds.
    An existing record is never taken or changed by an import (the organization invites its holder instead).
    Raises id_number_taken when the document is registered, national_number_taken when the row's national number
    is recorded for someone (also by someone who registered since the rows were checked)."""
    if _find_by_document(clean.id_type, clean.id_number) is not None:
        raise VolunteerError("id_number_taken", field="id_number")
    check_national_number_free(clean.national_number or None, None)
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


# --- national numbers from the national system ------------------------------------------------------------------------

#: the columns of the national system's list (a header row names them; others are ignored)
NATIONAL_LIST_COLUMNS = ("id_type", "id_number", "national_number")
#: the national system's names of the ID document types, taken as ours
ID_TYPE_ALIASES = {"居民身份证": "resident_id", "身份证": "resident_id", "护照": "passport",
                   "港澳居民来往内地通行证": "hk_macao_permit", "台湾居民来往大陆通行证": "taiwan_permit",
                   "外国人永久居留身份证": "foreign_permanent_residence"}
#: what became of a good row of the list
MATCH_OUTCOMES = ("matched", "already_set", "not_found", "conflicting")


@dataclass
class NationalListRow:
    line: int  # the line in the file, the header's is 1
    id_type: str
    id_number: str  # normalised
    national_number: str  # normalised


@dataclass
class NationalMatchReport:
    #: (line, field, code, message) of each bad row; when there is any, nothing was written
    problems: list[tuple[int, str, str, str]] = field(default_factory=list)
    #: (line, outcome) of each good row, outcome one of MATCH_OUTCOMES
    outcomes: list[tuple[int, str]] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for _line, found in self.outcomes if found == outcome)


def read_national_list(records: Iterable[tuple[int, dict]], report: NationalMatchReport) -> list[NationalListRow]:
    """The good rows of the national system's list, given as (line, {column: text}) pairs; each bad row is added
    to ``report.problems`` (id_type_unknown, id_number_required, national_number_format, and duplicate_in_file for
    a document or a national number already on an earlier line)."""
    rows: list[NationalListRow] = []
    documents: dict[tuple[str, str], int] = {}
    numbers: dict[str, int] = {}
    for line, cells in records:
        kind = str(cells.get("id_type") or "").strip()
        kind = ID_TYPE_ALIASES.get(kind, kind.lower()) or "resident_id"
        number = normalize_id_number(str(cells.get("id_number") or ""))
        try:
            if kind not in ID_TYPES:
                raise VolunteerError("id_type_unknown", field="id_type")
            if not number:
                raise VolunteerError("id_number_required", field="id_number")
            national = normalize_national_number(str(cells.get("national_number") or ""))
            if national is None:
                raise VolunteerError("national_number_format", field="national_number", min=NATIONAL_NUMBER_MIN,
                                     max=NATIONAL_NUMBER_MAX)
        except VolunteerError as error:
            report.problems.append((line, error.field or "", error.code, error.message))
            continue
        earlier = documents.get((kind, number)) or numbers.get(national)
        if earlier is not None:
            error = VolunteerError("duplicate_in_file", line=earlier,
                                   field="id_number" if (kind, number) in documents else "national_number")
            report.problems.append((line, error.field or "", error.code, error.message))
            continue
        documents[(kind, number)] = numbers[national] = line
        rows.append(NationalListRow(line, kind, number, national))
    return rows


def match_national_numbers(rows: list[NationalListRow], report: NationalMatchReport, *, dry_run: bool = False,
                           actor=None, source: str = "") -> NationalMatchReport:
    """Match the national system's list to the volunteer records by the keyed hash of their ID documents, and
    record each national number on the volunteer who has none.

    Every good row gets an outcome: matched (the record had no national number and nobody else holds this one:
    it is set), already_set (the record holds this number), not_found (no record holds the document), conflicting
    (the record holds another national number, or another record holds this one: both are left as they are, for
    a person to decide). Nothing is written when ``report`` holds any bad row, nor with ``dry_run``; otherwise the
    numbers are set and one audit event (volunteer.national_numbers_matched, with the counts) is added, both
    flushed for the caller to commit."""
    holders = volunteers_by_document((row.id_type, row.id_number) for row in rows)
    by_number = volunteers_by_national_number(row.national_number for row in rows)
    to_set: list[tuple[Volunteer, str]] = []
    for row in rows:
        volunteer = holders.get((row.id_type, row.id_number))
        other = by_number.get(row.national_number)
        if volunteer is None:
            outcome = "not_found"
        elif volunteer.national_number == row.national_number:
            outcome = "already_set"
        elif volunteer.national_number or (other is not None and other is not volunteer):
            outcome = "conflicting"
        else:
            outcome = "matched"
            to_set.append((volunteer, row.national_number))
        report.outcomes.append((row.line, outcome))
    if report.problems or dry_run:
        return report
    for volunteer, number in to_set:
        volunteer.national_number = number
    record_event("volunteer.national_numbers_matched", actor=actor, source=source or None,
                 **{outcome: report.count(outcome) for outcome in MATCH_OUTCOMES})
    db.session.flush()
    return report
