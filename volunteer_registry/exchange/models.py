"""The exchange's tables: transfer codes and transfers (a volunteer's record moving between systems), the trusted
peers with their pinned keys and the last checkpoint of theirs seen here, the feed's events and the tokens that read
it, the push outbox's position, and what was received from a peer's feed (the read-only regional view)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import UTCDateTime, utcnow
from .schema import ACTIONS, CATEGORIES, PEER_STATUSES


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class TransferCode(db.Model):
    """A volunteer's consent to one transfer: the code they give another system, stored as a hash. Single use;
    it expires."""

    __tablename__ = "transfer_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)  #: SHA-256 of the normalised code
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[str | None] = mapped_column(String(200))  #: the address that fetched the bundle with it

    @property
    def state(self) -> str:
        """used, expired or valid (now)."""
        if self.used_at is not None:
            return "used"
        return "expired" if self.expires_at <= utcnow() else "valid"


class Peer(db.Model):
    """Another registry this one trusts, with its keys pinned when a platform admin added it: a bundle or a feed
    of the peer verifies against these keys only, so a key change needs a new decision (``flask peers add``)."""

    __tablename__ = "peers"
    __table_args__ = (CheckConstraint(f"status IN ({_in(PEER_STATUSES)})", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(200), unique=True)  #: its base address, no trailing slash
    origin: Mapped[str] = mapped_column(String(200), unique=True)  #: its log's origin line
    name: Mapped[str] = mapped_column(String(200))
    #: the signed-note verifier keys of its checkpoint key(s), as pinned
    verifier_keys: Mapped[list] = mapped_column(JSON, default=list)
    keys_sha256: Mapped[str] = mapped_column(String(64))  #: fingerprint of the pinned keys, shown to the admin
    status: Mapped[str] = mapped_column(String(12), default="trusted")
    #: the largest checkpoint of the peer's log seen here: every later one must be consistent with it
    seen_size: Mapped[int | None] = mapped_column(BigInteger)
    seen_root: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    seen_note: Mapped[str | None] = mapped_column(Text)
    #: the peer's exchange token for pulling its feed (AES-GCM, the ID numbers' key), and where the pull stands
    pull_token_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    pull_cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Transfer(db.Model):
    """One import of a bundle from a peer into a volunteer's record here: the evidence (the bundle as received)
    and what it added."""

    __tablename__ = "transfers"
    __table_args__ = (UniqueConstraint("volunteer_id", "bundle_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id"))
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    bundle: Mapped[str] = mapped_column(Text)  #: the bundle's JSON as received
    checkpoint_size: Mapped[int] = mapped_column(BigInteger)
    entries_added: Mapped[int] = mapped_column(default=0)
    entries_updated: Mapped[int] = mapped_column(default=0)
    via: Mapped[str] = mapped_column(String(8))  #: "code" (fetched from the peer) or "file" (uploaded)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    peer = relationship("Peer")


class ExchangeEvent(db.Model):
    """Something a superior platform must hear of: a record of one of the categories written, changed, deleted or
    anonymised. ``seq`` is the feed's cursor, given by :func:`feed.sequence_events` to committed events in order,
    so a reader that has read up to n never misses one that commits later with a smaller id."""

    __tablename__ = "exchange_events"
    __table_args__ = (
        CheckConstraint(f"category IN ({_in(CATEGORIES)})", name="category"),
        CheckConstraint(f"action IN ({_in(ACTIONS)})", name="action"),
        Index("ix_exchange_events_unsequenced", "id", sqlite_where=db.text("seq IS NULL"),
              postgresql_where=db.text("seq IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    category: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[int]  #: the row in its category's table
    region_code: Mapped[str] = mapped_column(String(6))  #: what a region-scoped token matches by prefix
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExchangeToken(db.Model):
    """A superior platform's (or a peer's) credential: ``read`` pulls the feed of the regions given (code
    prefixes); ``push`` lets the peer deliver its feed here. Stored as a hash; revocable."""

    __tablename__ = "exchange_tokens"
    __table_args__ = (CheckConstraint("scope IN ('read', 'push')", name="scope"),
                      CheckConstraint("(scope = 'push') = (peer_id IS NOT NULL)", name="push_peer"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(8))
    regions: Mapped[list] = mapped_column(JSON, default=list)  #: region code prefixes; [""] is every region
    peer_id: Mapped[int | None] = mapped_column(ForeignKey("peers.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PushState(db.Model):
    """The outbox toward one configured endpoint: the last event it acknowledged, and the retry schedule."""

    __tablename__ = "exchange_push_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(200), unique=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)  #: every event up to here is acknowledged
    attempts: Mapped[int] = mapped_column(default=0)  #: failures in a row
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ReceivedEvent(db.Model):
    """An event of a peer's feed, kept as received (the regional view's source): once per (peer, seq), however
    often it is delivered."""

    __tablename__ = "received_events"
    __table_args__ = (UniqueConstraint("peer_id", "seq"),
                      Index("ix_received_events_peer_id_category_key", "peer_id", "category", "key"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(64))  #: the record's key in the peer's feed
    region_code: Mapped[str] = mapped_column(String(6))
    record: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegionalService(db.Model):
    """A peer's service entry as its feed last said (status and counted minutes folded from its decisions): what
    the province dashboard counts as service recorded in the systems below. Read-only: nothing here edits it but
    the ingest."""

    __tablename__ = "regional_services"
    __table_args__ = (Index("ix_regional_services_region_code_status", "region_code", "status"),)

    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id"), primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    volunteer_key: Mapped[str] = mapped_column(String(64))
    organization_code: Mapped[str | None] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6))
    service_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    minutes: Mapped[int] = mapped_column(default=0)
