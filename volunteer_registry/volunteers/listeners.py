"""The volunteers part's receivers: anonymising the profile of a deleted account."""
from __future__ import annotations

import datetime as dt

from .. import signals
from ..accounts.deletion import DELETED_NAME
from .queries import volunteer_for_user
from .vault import encrypt_id_number


def anonymise_profile(user, *, now: dt.datetime, **_facts) -> dict | None:
    """The deleted account's volunteer profile no longer identifies anyone: its name, ID number (ciphertext, hash
    and masked form), phone, email, skills and guardian are replaced, the birth date keeps only its year, and it is
    no longer linked to the account. The new hash lets the same person register again. Then volunteer_anonymised is
    sent. Returns the volunteer's number for the deletion's audit event (None without a profile). The national
    number goes too: it names the person in the national system."""
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        return None
    volunteer.name = DELETED_NAME
    volunteer.id_number_encrypted = encrypt_id_number("")
    volunteer.id_number_hash = f"deleted:{volunteer.id}"
    volunteer.id_number_masked = "—"
    volunteer.phone = ""
    volunteer.email = None
    volunteer.skills = ""
    volunteer.guardian_name = None
    volunteer.national_number = None
    volunteer.birth_date = dt.date(volunteer.birth_date.year, 1, 1)
    volunteer.user_id = None
    signals.volunteer_anonymised.send(volunteer, now=now)
    return {"volunteer": volunteer.volunteer_number}


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    signals.account_deleted.connect(anonymise_profile)
