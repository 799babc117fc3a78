"""Building a volunteer's record bundle (docs/EXCHANGE.md; verify.py checks one): their identity, every ledger
entry of theirs in the log as its leaf with an inclusion proof under the latest signed checkpoint, their training,
awards, evaluations and certificates, signed by the log's checkpoint key as a signed note over the record's
canonical JSON."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

from flask import Response, current_app
from sqlalchemy.orm import joinedload

from ..certificates.models import Certificate
from ..certificates.services import verification_url
from ..extensions import db
from ..ledger.checkpoint import sign_note
from ..ledger.fold import Fact, fold
from ..ledger.leaves import TEXT_FIELDS
from ..ledger.log import canonical_bytes, extend_log, latest_checkpoint, log_origin, signing_key, stored_tree
from ..ledger.models import LedgerEntry, LedgerLeaf
from ..links import public_base_url
from ..models import utcnow
from ..organizations.models import Organization
from ..records.queries import records_of_volunteer
from ..volunteers.models import Volunteer
from ..volunteers.vault import decrypt_id_number
from .schema import BUNDLE_FORMAT
from .verify import bundle_note_body, canonical_json


def utc_text(moment) -> str | None:
    """A moment as the exchange writes it: UTC, to the second, ``YYYY-MM-DDTHH:MM:SSZ`` (None stays None)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def exchange_id_hash(id_type: str, number: str) -> str | None:
    """HMAC-SHA256 of ``<id type>:<number>`` under the exchange network's shared key (EXCHANGE_ID_KEY), hex; None
    when this registry has no exchange key. Equal on every registry of the network for one document."""
    key = current_app.config.get("EXCHANGE_ID_KEY")
    if not key:
        return None
    return hmac.new(key.encode(), f"{id_type}:{number}".encode(), hashlib.sha256).hexdigest()


def volunteer_identity(volunteer: Volunteer) -> dict:
    """The first category of the record as the exchange carries it: the ID number masked and keyed-hashed, never
    in clear."""
    number = decrypt_id_number(volunteer.id_number_encrypted)
    return {"name": volunteer.name, "gender": volunteer.gender, "birth_date": volunteer.birth_date.isoformat(),
            "id_type": volunteer.id_type, "id_number_masked": volunteer.id_number_masked,
            "id_hash": exchange_id_hash(volunteer.id_type, number), "volunteer_number": volunteer.volunteer_number,
            "national_number": volunteer.national_number, "region_code": volunteer.region_code}


def recorded_json(record) -> dict:
    """A training course, an award or an evaluation as the exchange carries it (docs/EXCHANGE.md)."""
    return {"kind": record.kind, "organization": record.organization.code, "title": record.title,
              "provider": record.provider, "date": record.date.isoformat(),
              "period_start": record.period_start.isoformat() if record.period_start else None,
              "period_end": record.period_end.isoformat() if record.period_end else None,
              "minutes": record.minutes, "level": record.level, "rating": record.rating, "text": record.text}


def certificate_json(certificate: Certificate) -> dict:
    """A certificate as the exchange carries it, with its signed token (base64) and its verification URL."""
    return {"code": certificate.code, "number": certificate.number,
            "organization": certificate.organization.code, "period_start": certificate.period_start.isoformat(),
            "period_end": certificate.period_end.isoformat(), "minutes": certificate.minutes,
            "status": certificate.status, "issued_on": certificate.issued_on.isoformat(),
            "token": base64.b64encode(certificate.token).decode("ascii"),
            "verification_url": verification_url(certificate)}


def _unsealed(volunteer_id: int) -> bool:
    return db.session.scalar(
        db.select(db.func.count()).select_from(LedgerEntry)
        .outerjoin(LedgerLeaf, LedgerLeaf.entry_id == LedgerEntry.id)
        .where(LedgerEntry.volunteer_id == volunteer_id, LedgerLeaf.entry_id.is_(None))) > 0


def build_bundle(volunteer: Volunteer) -> dict:
    """The volunteer's whole record, signed. Entries not yet in the log are sealed first (one batch of the log, as
    the batcher would), so every entry comes with its proof. Flushes; the caller commits."""
    if _unsealed(volunteer.id) or latest_checkpoint() is None:
        extend_log()
    checkpoint = latest_checkpoint()
    rows = db.session.execute(
        db.select(LedgerEntry, LedgerLeaf.leaf_index).join(LedgerLeaf, LedgerLeaf.entry_id == LedgerEntry.id)
        .where(LedgerEntry.volunteer_id == volunteer.id, LedgerLeaf.leaf_index < checkpoint.tree_size)
        .order_by(LedgerEntry.id)).all()
    tree = stored_tree()
    entries, organization_ids = [], set()
    for entry, index in rows:
        organization_ids.add(entry.organization_id)
        entries.append({
            "leaf_index": index, "leaf": canonical_bytes(entry).decode("utf-8"),
            "proof": [base64.b64encode(node).decode("ascii")
                      for node in tree.inclusion_proof(index, checkpoint.tree_size)],
            "text": {name: getattr(entry, name) for name in TEXT_FIELDS}})
    own = records_of_volunteer(volunteer)
    records = own.training + own.awards + own.evaluations
    certificates = list(db.session.scalars(
        db.select(Certificate).where(Certificate.volunteer_id == volunteer.id)
        .options(joinedload(Certificate.organization)).order_by(Certificate.id)))
    organization_ids |= {record.organization_id for record in records}
    organization_ids |= {certificate.organization_id for certificate in certificates}
    organizations = {code: name for code, name in db.session.execute(
        db.select(Organization.code, Organization.name).where(Organization.id.in_(organization_ids)))}
    record = {
        "issuer": {"origin": log_origin(), "url": public_base_url()},
        "issued_at": utc_text(utcnow()),
        "volunteer": volunteer_identity(volunteer),
        "checkpoint": checkpoint.note,
        "entries": entries,
        "organizations": organizations,
        "training": [recorded_json(r) for r in own.training],
        "awards": [recorded_json(r) for r in own.awards],
        "evaluations": [recorded_json(r) for r in own.evaluations],
        "certificates": [certificate_json(c) for c in certificates],
    }
    record["summary"] = _summary(entries)
    origin = log_origin()
    signature = sign_note(bundle_note_body(origin, record), origin, signing_key())
    return {"format": BUNDLE_FORMAT, "record": record, "signature": signature}


def _summary(entries: list[dict]) -> dict:
    """What the entries make, by the verifier's own fold: approved minutes and service entries."""
    facts = []
    for item in entries:
        leaf = json.loads(item["leaf"])
        facts.append(Fact(leaf["id"], leaf["kind"], leaf["refers_to"], leaf["minutes"]))
    states = fold(facts)
    return {"approved_minutes": sum(s["minutes"] for s in states.values() if s["status"] == "approved"),
            "service_entries": len(states)}


def bundle_bytes(bundle: dict) -> bytes:
    """The bundle as the file a volunteer downloads: canonical JSON."""
    return canonical_json(bundle)


def bundle_response(bundle: dict, volunteer_number: str) -> Response:
    """The bundle as a JSON download (canonical bytes: what was signed is what is sent), never cached."""
    response = Response(bundle_bytes(bundle), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="record-{volunteer_number}.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
