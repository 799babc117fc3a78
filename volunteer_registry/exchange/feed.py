"""The upward exchange's feed (docs/EXCHANGE.md): every new or changed record of the categories becomes an
:class:`ExchangeEvent` in the transaction that writes it; :func:`sequence_events` numbers the committed ones
(``seq`` 1, 2, … without gaps, one sequencer at a time); :func:`feed_page` renders a page of them as a superior
platform reads it; and the exchange tokens that read it (scope ``read``, regions as code prefixes) or push to this
registry (scope ``push``, bound to a trusted peer).

An event names its row (``subject_id``); the record is rendered when the page is read, so a page carries the record
as it is then (an anonymised volunteer's earlier upserts carry ``record: null``)."""
from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import func, insert, inspect, select

from ..certificates.models import Certificate
from ..errors import DomainError
from ..extensions import db
from ..ledger.log import canonical_bytes, extend_log, latest_checkpoint, log_origin
from ..ledger.models import DECISIONS, LedgerEntry, LedgerLeaf
from ..models import utcnow
from ..organizations.models import Organization
from ..records.models import VolunteerRecord
from ..volunteers.models import Volunteer
from .bundle import certificate_json, recorded_json, utc_text, volunteer_identity
from .models import ExchangeEvent, ExchangeToken, Peer
from .schema import FEED_FORMAT

#: events per page of the feed: by default, and at most
PAGE_DEFAULT = 100
PAGE_MAX = 1000
#: the advisory lock of the sequencer (PostgreSQL): one sequencer at a time across processes
SEQUENCE_LOCK = 914863
TOKEN_PREFIX = "vrx_"
SCOPES = ("read", "push")
#: the record kinds of volunteer_records that are categories of the feed (a withdrawal deletes one of them)
RECORD_CATEGORIES = ("training", "award", "evaluation")
#: the columns whose change is news for the superior platform (the rest, a phone number, is not exchanged)
VOLUNTEER_FIELDS = ("name", "gender", "birth_date", "id_type", "id_number_masked", "id_number_encrypted",
                    "national_number", "region_code", "volunteer_number")
ORGANIZATION_FIELDS = ("code", "name", "org_type", "region_code", "credit_code", "status")
CERTIFICATE_FIELDS = ("status", "revoked_at")
_REGION = re.compile(r"[0-9]{1,6}")


class FeedError(DomainError):
    messages = {
        "regions_invalid": "Regions are region code prefixes (1 to 6 digits, separated by commas), or 'all'.",
        "scope_invalid": "An exchange token's scope is 'read' or 'push'.",
        "peer_required": "A push token is bound to a trusted peer (--peer URL); a read token is not.",
        "token_unknown": "No such exchange token.",
        "feed_gap": "The page starts after the last event this registry holds of that peer: send the earlier ones "
                    "first.",
        "cursor_invalid": "since is a whole number, 0 or a cursor the feed gave.",
    }
    statuses = {"token_unknown": 404, "feed_gap": 409}


# --- events, written in the transaction that writes the record -----------------------------------------------------

def _changed(obj, fields) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _anonymised(volunteer: Volunteer) -> bool:
    return (volunteer.id_number_hash or "").startswith("deleted:")


def events_of_flush(session) -> list[dict]:
    """The events of what ``session`` is flushing (called after the flush, before its lists are cleared): rows for
    exchange_events, in the order of the records' ids. Reads the organizations' regions on the flush's connection."""
    pending: list[tuple] = []  # (category, action, subject id, region or ("org", organization id))
    withdrawals: list[VolunteerRecord] = []
    for obj in session.new:
        if isinstance(obj, Volunteer):
            if not _anonymised(obj):
                pending.append(("volunteer", "upsert", obj.id, obj.region_code))
        elif isinstance(obj, LedgerEntry):
            if obj.kind == "service":
                pending.append(("service", "upsert", obj.id, ("org", obj.organization_id)))
            elif obj.kind in DECISIONS:
                pending.append(("service", "decision", obj.id, ("org", obj.organization_id)))
        elif isinstance(obj, VolunteerRecord):
            if obj.kind in RECORD_CATEGORIES:
                pending.append((obj.kind, "upsert", obj.id, ("org", obj.organization_id)))
            elif obj.kind == "withdrawal":
                withdrawals.append(obj)
        elif isinstance(obj, Organization):
            pending.append(("organization", "upsert", obj.id, obj.region_code))
        elif isinstance(obj, Certificate):
            pending.append(("certificate", "upsert", obj.id, ("org", obj.organization_id)))
    for obj in session.dirty:
        if isinstance(obj, Volunteer):
            # an anonymisation is the anonymise event's (on_volunteer_anonymised), not an upsert of the erased row
            if _changed(obj, VOLUNTEER_FIELDS) and not _anonymised(obj):
                pending.append(("volunteer", "upsert", obj.id, obj.region_code))
        elif isinstance(obj, Organization):
            if _changed(obj, ORGANIZATION_FIELDS):
                pending.append(("organization", "upsert", obj.id, obj.region_code))
        elif isinstance(obj, Certificate):
            if _changed(obj, CERTIFICATE_FIELDS):
                pending.append(("certificate", "upsert", obj.id, ("org", obj.organization_id)))
    if not pending and not withdrawals:
        return []
    connection = session.connection()
    if withdrawals:
        withdrawn = {row.id: row for row in connection.execute(
            select(VolunteerRecord.id, VolunteerRecord.kind, VolunteerRecord.organization_id)
            .where(VolunteerRecord.id.in_([w.refers_to_id for w in withdrawals])))}
        for withdrawal in withdrawals:
            target = withdrawn.get(withdrawal.refers_to_id)
            if target is not None and target.kind in RECORD_CATEGORIES:
                pending.append((target.kind, "delete", target.id, ("org", target.organization_id)))
    organization_ids = {region[1] for *_rest, region in pending if isinstance(region, tuple)}
    regions = dict(connection.execute(select(Organization.id, Organization.region_code)
                                      .where(Organization.id.in_(organization_ids))).all()) if organization_ids else {}
    now = utcnow()
    rows = []
    for category, action, subject_id, region in sorted(pending, key=lambda item: (item[2], item[0])):
        code = regions.get(region[1], "") if isinstance(region, tuple) else region
        rows.append({"category": category, "action": action, "subject_id": subject_id, "region_code": code or "",
                     "created_at": now})
    return rows


def write_events_of_flush(session, _flush_context=None) -> None:
    """after_flush: the flush's events, inserted on its connection, so they commit or roll back with the records."""
    rows = events_of_flush(session)
    if rows:
        session.connection().execute(insert(ExchangeEvent.__table__), rows)


def record_anonymised(volunteer: Volunteer) -> None:
    """The volunteer's details are erased: an anonymise event (their service stays under their number). Flushes
    nothing; the caller's transaction carries it."""
    db.session.add(ExchangeEvent(category="volunteer", action="anonymise", subject_id=volunteer.id,
                                 region_code=volunteer.region_code or ""))


#: existing rows without an event, one upsert (or decision, or delete) each: the backfill of an upgrade and a seed
_BACKFILL = (
    ("organization", "'upsert'", "organizations", "o.region_code", "", "o.id"),
    ("volunteer", "'upsert'", "volunteers", "o.region_code", "o.id_number_hash NOT LIKE 'deleted:%'", "o.id"),
    ("service", "CASE WHEN o.kind = 'service' THEN 'upsert' ELSE 'decision' END", "ledger_entries", None,
     "o.kind IN ('service', 'approval', 'rejection', 'correction', 'annulment')", "o.id"),
    ("kind", "'upsert'", "volunteer_records", None, "o.kind IN ('training', 'award', 'evaluation')", "o.id"),
    ("kind", "'delete'", "volunteer_records", None,
     "o.kind IN ('training', 'award', 'evaluation') AND EXISTS (SELECT 1 FROM volunteer_records w "
     "WHERE w.refers_to_id = o.id)", "o.id"),
    ("certificate", "'upsert'", "certificates", None, "", "o.id"),
)


def backfill_statements() -> list[str]:
    """INSERT … SELECT statements giving every existing row of the categories its event, skipping rows that have
    one already (so running them twice adds nothing): organizations, volunteers, ledger entries in id order (a
    service before its decisions), training, awards and evaluations, their withdrawals, certificates."""
    statements = []
    for category, action, table, region, condition, order in _BACKFILL:
        category_sql = "o.kind" if category == "kind" else f"'{category}'"
        region_sql = region or "(SELECT r.region_code FROM organizations r WHERE r.id = o.organization_id)"
        where = [f"NOT EXISTS (SELECT 1 FROM exchange_events e WHERE e.category = {category_sql} "
                 f"AND e.action = {action} AND e.subject_id = o.id)"]
        if condition:
            where.append(condition)
        statements.append(
            "INSERT INTO exchange_events (category, action, subject_id, region_code, created_at) "
            f"SELECT {category_sql}, {action}, o.id, COALESCE({region_sql}, ''), CURRENT_TIMESTAMP "
            f"FROM {table} o WHERE {' AND '.join(where)} ORDER BY {order}")
    return statements


def backfill_events(connection=None) -> int:
    """Every existing row of the categories without an event gets one (:func:`backfill_statements`): after a bulk
    insert that bypassed the ORM (a province seed) or at the upgrade that brought the feed. Returns the events
    added. On the session's connection unless one is given; the caller commits."""
    connection = connection if connection is not None else db.session.connection()
    added = 0
    for statement in backfill_statements():
        added += connection.execute(db.text(statement)).rowcount or 0
    return added


# --- sequencing ----------------------------------------------------------------------------------------------------

def sequence_events() -> int:
    """Give the committed events without a ``seq`` the next numbers, in id order, after the largest given: 1, 2, …
    with no gap. One sequencer at a time (PostgreSQL: an advisory lock held to the caller's commit; SQLite
    serializes writers), and an event another transaction has not committed yet is not seen, so it is numbered
    after the ones numbered now: a reader that has read to n never misses it. Returns how many were numbered; the
    caller commits at once (that releases the lock)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCE_LOCK})
    top = db.session.scalar(select(func.coalesce(func.max(ExchangeEvent.seq), 0)))
    result = db.session.execute(db.text(
        "UPDATE exchange_events SET seq = :top + n.rn FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn "
        "FROM exchange_events WHERE seq IS NULL) AS n WHERE exchange_events.id = n.id"), {"top": top})
    return result.rowcount or 0


def last_seq() -> int:
    return db.session.scalar(select(func.coalesce(func.max(ExchangeEvent.seq), 0)))


# --- the page ------------------------------------------------------------------------------------------------------

def _region_clause(regions: list[str]):
    if any(prefix == "" for prefix in regions):
        return None
    return db.or_(*[ExchangeEvent.region_code.like(f"{prefix}%") for prefix in regions])


def current_checkpoint_note() -> str | None:
    """The latest signed checkpoint of the log; the log's first one is made when there is none yet."""
    checkpoint = latest_checkpoint() or extend_log()
    return checkpoint.note if checkpoint is not None else None


def feed_page(since: int, limit: int = PAGE_DEFAULT, regions: list[str] | None = None) -> dict:
    """The sequenced events after ``since`` of the regions given (prefixes; None or [""]: all), at most ``limit``.
    ``next`` is the cursor to ask from next: past the last event given, or past every sequenced event when this page
    holds all that is left (so the events of other regions are passed over too); ``more`` says whether there is
    more now. Reads only sequenced events."""
    limit = max(1, min(limit, PAGE_MAX))
    top = last_seq()  # first: an event numbered while this page is read waits for the next page
    query = select(ExchangeEvent).where(ExchangeEvent.seq > since, ExchangeEvent.seq <= top)
    clause = _region_clause(regions or [""])
    if clause is not None:
        query = query.where(clause)
    events = list(db.session.scalars(query.order_by(ExchangeEvent.seq).limit(limit + 1)))
    more = len(events) > limit
    events = events[:limit]
    following = events[-1].seq if more else max(top, since)
    return {"format": FEED_FORMAT, "origin": log_origin(), "since": since, "next": following, "more": more,
            "checkpoint": current_checkpoint_note(), "events": render_events(events)}


def _by_id(model, ids, *options) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)).options(*options))}


def _leaf_indexes(entry_ids, size: int) -> dict[int, int]:
    if not entry_ids:
        return {}
    return dict(db.session.execute(select(LedgerLeaf.entry_id, LedgerLeaf.leaf_index).where(
        LedgerLeaf.entry_id.in_(entry_ids), LedgerLeaf.leaf_index < size)).all())


def service_json(entry: LedgerEntry, leaf_index: int | None) -> dict:
    """A service entry, or a decision about one, as the feed carries it; the leaf when the log holds it."""
    sealed = {"leaf_index": leaf_index, "leaf": canonical_bytes(entry).decode("utf-8") if leaf_index is not None
              else None}
    common = {"volunteer": entry.volunteer.volunteer_number, "organization": entry.organization.code,
              "recorded_at": utc_text(entry.created_at), **sealed}
    if entry.kind == "service":
        return {**common, "activity": entry.activity.code if entry.activity else None,
                "title": entry.activity_title, "place": entry.place, "content": entry.content,
                "service_date": entry.service_date.isoformat() if entry.service_date else None,
                "started_at": utc_text(entry.started_at), "ended_at": utc_text(entry.ended_at),
                "minutes": entry.minutes, "source": entry.source, "flags": sorted(entry.flags or [])}
    return {**common, "kind": entry.kind, "refers_to": str(entry.refers_to_id),
            "minutes": entry.minutes if entry.kind == "correction" else None, "reason": entry.reason}


def organization_json(organization: Organization) -> dict:
    return {"code": organization.code, "name": organization.name, "type": organization.org_type,
            "region": organization.region_code, "credit_code": organization.credit_code,
            "status": organization.status}


def render_events(events: list[ExchangeEvent]) -> list[dict]:
    """Events as the feed carries them: {seq, category, action, key, region, record}; a delete or an anonymise
    carries ``record: null``."""
    ids: dict[str, set[int]] = {}
    for event in events:
        if event.action in ("upsert", "decision") or event.category == "volunteer":
            ids.setdefault(event.category if event.category in ("volunteer", "service", "organization",
                                                                 "certificate") else "record", set()).add(
                event.subject_id)
    volunteers = _by_id(Volunteer, ids.get("volunteer", ()))
    entries = _by_id(LedgerEntry, ids.get("service", ()))
    checkpoint = latest_checkpoint()
    leaves = _leaf_indexes(list(entries), checkpoint.tree_size if checkpoint else 0)
    records = _by_id(VolunteerRecord, ids.get("record", ()))
    organizations = _by_id(Organization, ids.get("organization", ()))
    certificates = _by_id(Certificate, ids.get("certificate", ()))
    out = []
    for event in events:
        key, record = str(event.subject_id), None
        if event.category == "volunteer":
            volunteer = volunteers.get(event.subject_id)
            key = volunteer.volunteer_number if volunteer else key
            if event.action == "upsert" and volunteer is not None and not _anonymised(volunteer):
                record = volunteer_identity(volunteer)
        elif event.category == "service" and event.subject_id in entries:
            record = service_json(entries[event.subject_id], leaves.get(event.subject_id))
        elif event.category in RECORD_CATEGORIES and event.action == "upsert" and event.subject_id in records:
            row = records[event.subject_id]
            record = {**recorded_json(row), "volunteer": row.volunteer.volunteer_number}
        elif event.category == "organization" and event.subject_id in organizations:
            key = organizations[event.subject_id].code
            record = organization_json(organizations[event.subject_id])
        elif event.category == "certificate" and event.subject_id in certificates:
            certificate = certificates[event.subject_id]
            key = certificate.code
            record = {**certificate_json(certificate), "volunteer": certificate.volunteer.volunteer_number}
        out.append({"seq": event.seq, "category": event.category, "action": event.action, "key": key,
                    "region": event.region_code, "record": record})
    return out


# --- exchange tokens -----------------------------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_regions(text: str | list[str]) -> list[str]:
    """Region code prefixes from ``63,5401`` (or a list); ``all`` (or ``*``) is every region, ``[""]``. Raises
    regions_invalid."""
    items = text if isinstance(text, list) else [part.strip() for part in (text or "").split(",")]
    if [item.lower() for item in items] in (["all"], ["*"], [""]):
        return [""]
    if not items or not all(isinstance(item, str) and _REGION.fullmatch(item) for item in items):
        raise FeedError("regions_invalid", field="regions")
    return sorted(set(items))


def create_exchange_token(name: str, scope: str, regions, peer: Peer | None = None) -> tuple[str, ExchangeToken]:
    """A new exchange token; the plaintext is returned once, only its hash is kept. ``read`` reads the feed of the
    regions given; ``push`` lets ``peer`` (a trusted peer, required) deliver its feed here. Flushes; the caller
    commits. Raises scope_invalid, peer_required, regions_invalid."""
    if scope not in SCOPES:
        raise FeedError("scope_invalid", field="scope")
    if (scope == "push") != (peer is not None):
        raise FeedError("peer_required", field="peer")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ExchangeToken(name=(name or scope)[:80], scope=scope, regions=parse_regions(regions),
                        peer_id=peer.id if peer else None, token_hash=_token_hash(plaintext),
                        prefix=plaintext[:12])
    db.session.add(row)
    db.session.flush()
    return plaintext, row


def revoke_exchange_token(token_id: int) -> ExchangeToken:
    """Revoke a token (it stops working at once; revoking again changes nothing). Raises token_unknown."""
    row = db.session.get(ExchangeToken, token_id)
    if row is None:
        raise FeedError("token_unknown")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def exchange_tokens() -> list[ExchangeToken]:
    return list(db.session.scalars(select(ExchangeToken).order_by(ExchangeToken.id)))


def token_for(plaintext: str, scope: str) -> ExchangeToken | None:
    """The live token of ``scope`` behind ``plaintext`` (its use is noted), or None: unknown, revoked, another scope,
    or a push token whose peer is no longer trusted."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ExchangeToken).where(ExchangeToken.token_hash == _token_hash(plaintext)))
    if row is None or row.revoked_at is not None or row.scope != scope:
        return None
    if row.peer_id is not None:
        peer = db.session.get(Peer, row.peer_id)
        if peer is None or peer.status != "trusted":
            return None
    row.last_used_at = utcnow()
    return row
