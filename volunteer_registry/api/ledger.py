"""The ledger's JSON API: entries to decide, decisions in bulk, a volunteer's hours, and the public monitor interface
of the Merkle log (leaf hashes, inclusion and consistency proofs), like a certificate-transparency log's."""
from __future__ import annotations

from flask import g, jsonify, request

from ..access import loads_organization
from ..accounts.permissions import can
from ..codes import normalize_volunteer_number
from ..errors import NotFound
from ..extensions import db
from ..hours import as_hours
from ..ledger.log import latest_checkpoint, stored_tree
from ..ledger.merkle import MAX_TREE_SIZE
from ..ledger.models import STATES, LedgerEntry, LedgerLeaf, LedgerState
from ..ledger.schemas import (
    CONSISTENCY_PROOF_OUT,
    DECIDED_OUT,
    ENTRY_DECISION_REQUEST,
    ENTRY_DECISION_RESULT_OUT,
    ENTRY_OUT,
    HOURS_BY_ORGANIZATION_OUT,
    HOURS_BY_YEAR_OUT,
    HOURS_OUT,
    INCLUSION_PROOF_OUT,
    LEAF_OUT,
    LEAF_PAGE_OUT,
)
from ..ledger.services import Hours, decide_entries, hours_of
from ..organizations.models import Organization
from ..paging import requested_page
from ..schema import dump
from ..volunteers.queries import volunteer_by_number, volunteer_for_user
from . import bp
from .auth import token_required
from .openapi import (
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    ORGANIZATION_CODE,
    PAGE,
    PUBLIC_LOG,
    UNAUTHORIZED,
    documented,
    error,
    ok,
    page_of,
    query_parameter,
)
from .views import ApiError, _body

#: leaf hashes per call of /ledger/leaves
LEAVES_PER_CALL = 1000


def entry_json(entry: LedgerEntry, state: LedgerState) -> dict:
    volunteer = entry.volunteer
    return dump(ENTRY_OUT, entry, status=state.status, minutes=state.minutes, recorded_minutes=entry.minutes,
                flags=list(entry.flags or []), flagged=state.flagged,
                volunteer={"volunteer_number": volunteer.volunteer_number, "name": volunteer.name},
                activity=entry.activity.code if entry.activity else None, recorded_at=entry.created_at)


def _int_query(name: str, description: str) -> dict:
    return query_parameter(name, {"type": "integer", "minimum": 0}, description, required=True)


@bp.route("/organizations/<code>/entries", methods=["GET"])
@documented("The organization's service entries by status, flagged first (coordinators and org admins)",
            path=ORGANIZATION_CODE,
            query=(PAGE, query_parameter("status", {"type": "string", "enum": list(STATES), "default": "pending"})),
            responses={200: ok(page_of("LedgerEntryPage", ENTRY_OUT)), 400: INVALID, 401: UNAUTHORIZED,
                       403: FORBIDDEN, 404: NOT_FOUND})
@token_required
@loads_organization("ledger.decide")
def list_entries(org):
    status = request.args.get("status", "pending")
    if status not in STATES:
        raise ApiError("invalid_parameter", f"status must be one of {', '.join(STATES)}", field="status")
    query = (db.select(LedgerEntry, LedgerState).join(LedgerState, LedgerState.entry_id == LedgerEntry.id)
             .where(LedgerState.organization_id == org.id, LedgerState.status == status)
             .order_by(LedgerState.flagged.desc(), LedgerEntry.id))
    page = requested_page(strict=True)
    rows = db.session.execute(query.limit(100).offset((page - 1) * 100)).all()
    total = db.session.scalar(db.select(db.func.count()).select_from(LedgerState).where(
        LedgerState.organization_id == org.id, LedgerState.status == status))
    return jsonify({"items": [entry_json(e, s) for e, s in rows], "page": page, "total": total,
                    "pages": max(1, -(-total // 100))})


@bp.route("/entries/decisions", methods=["POST"])
@documented("Approve or reject pending service entries of one organization, all or none",
            request=ENTRY_DECISION_REQUEST,
            responses={200: ok(ENTRY_DECISION_RESULT_OUT), 400: INVALID, 401: UNAUTHORIZED,
                       403: error("A manual entry approved by the person who entered it (self_approval)."),
                       404: error("An entry that is not among the caller's organizations' (not_found)."),
                       409: error("An entry was already decided (entry_not_pending); nothing was written."),
                       422: INVALID})
@token_required
def decide_entries_endpoint():
    body = _body()
    ids = body.get("entries")
    if not isinstance(ids, list) or not ids or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in ids):
        raise ApiError("invalid_parameter", "entries must be a non-empty list of entry ids", field="entries")
    decision, reason = body.get("decision"), body.get("reason", "")
    if not isinstance(decision, str) or not isinstance(reason, str):
        raise ApiError("invalid_parameter", "decision and reason must be strings", field="decision")
    orgs = set(db.session.scalars(db.select(LedgerEntry.organization_id).where(
        LedgerEntry.id.in_(ids), LedgerEntry.kind == "service")))
    if len(orgs) > 1:
        raise ApiError("invalid_parameter", "decide one organization's entries at a time", field="entries")
    org = db.session.get(Organization, orgs.pop()) if orgs else None
    if org is None or not can(g.api_user, "ledger.decide", org):
        raise NotFound("not_found", "No such entries among the service records you may decide.")
    made = decide_entries(g.api_user, org, ids, decision, reason)
    # a decision refers to the service entry, or to the correction waiting on it
    corrected = dict(db.session.execute(db.select(LedgerEntry.id, LedgerEntry.refers_to_id).where(
        LedgerEntry.id.in_([d.refers_to_id for d in made]), LedgerEntry.kind == "correction")).all())
    db.session.commit()
    return jsonify(dump(ENTRY_DECISION_RESULT_OUT, None, decision=decision, entries=[
        dump(DECIDED_OUT, None, id=corrected.get(d.refers_to_id, d.refers_to_id),
             decides="correction" if d.refers_to_id in corrected else "entry",
             status="approved" if d.kind == "approval" else "rejected", decision_entry=d.id)
        for d in made]))


@bp.route("/volunteers/<number>/hours", methods=["GET"])
@documented("Approved hours and star level: all of it for the volunteer; the totals and their own part for the "
            "organizations that recorded the service",
            responses={200: ok(HOURS_OUT), 401: UNAUTHORIZED,
                       404: error("No such volunteer, or none the caller may see (not_found).")})
@token_required
def volunteer_hours(number: str):
    """For the volunteer: everything. For the staff of an organization that recorded their service: the totals,
    the star level and their own organization's part (not where else the person serves)."""
    volunteer = volunteer_by_number(normalize_volunteer_number(number) or "")
    if volunteer is None:
        raise NotFound("not_found", "No volunteer has this number.")
    own = volunteer_for_user(g.api_user)
    hours = hours_of(volunteer.id)
    orgs = {o.id: o for o in db.session.scalars(db.select(Organization).where(
        Organization.id.in_(list(hours.by_organization) or [0])))}
    recorded_by = set(db.session.scalars(db.select(LedgerState.organization_id).where(
        LedgerState.volunteer_id == volunteer.id).distinct()))
    shown = set(orgs) if own is not None and own.id == volunteer.id else {
        org_id for org_id in recorded_by if can(g.api_user, "ledger.decide", db.session.get(Organization, org_id))}
    if not shown and not (own is not None and own.id == volunteer.id):
        raise NotFound("not_found", "No volunteer has this number.")
    return jsonify(hours_json(volunteer, hours, [orgs[org_id] for org_id in sorted(orgs) if org_id in shown],
                              everything=own is not None and own.id == volunteer.id))


def hours_json(volunteer, hours: Hours, organizations: list[Organization], *, everything: bool) -> dict:
    """``hours`` as HOURS_OUT declares it: the part of each of ``organizations``; the pending minutes and the
    years only with ``everything`` (the volunteer's own view), else null."""
    return dump(HOURS_OUT, hours, volunteer_number=volunteer.volunteer_number, approved_minutes=hours.minutes,
                approved_hours=hours.hours, pending_minutes=hours.pending_minutes if everything else None,
                by_organization=[dump(HOURS_BY_ORGANIZATION_OUT, None, organization=org.code, name=org.name,
                                      minutes=hours.by_organization[org.id],
                                      hours=as_hours(hours.by_organization[org.id])) for org in organizations],
                by_year=[dump(HOURS_BY_YEAR_OUT, None, year=year, minutes=minutes, hours=as_hours(minutes))
                         for year, minutes in sorted(hours.by_year.items())] if everything else None)


# --- the monitor interface (public) --------------------------------------------------------------------------------

def _int_arg(name: str, low: int, high: int) -> int:
    value = request.args.get(name, "")
    if not value.isascii() or not value.isdigit() or len(value) > 20 or not low <= int(value) <= high:
        raise ApiError("invalid_parameter", f"{name} must be a whole number from {low} to {high}", field=name)
    return int(value)


def _signed_size() -> int:
    checkpoint = latest_checkpoint()
    return checkpoint.tree_size if checkpoint is not None else 0


@bp.route("/ledger/leaves", methods=["GET"])
@documented("Leaf hashes of the signed tree, at most 1000 a call", description=PUBLIC_LOG,
            query=(_int_query("start", "First leaf index."),
                   _int_query("end", "One past the last leaf index (clamped to start + 1000 and the size).")),
            responses={200: ok(LEAF_PAGE_OUT), 400: INVALID})
def ledger_leaves():
    size = _signed_size()
    if size == 0:
        raise ApiError("invalid_parameter", "the log has no signed leaves yet", field="start")
    start = _int_arg("start", 0, size - 1)
    end = min(_int_arg("end", start + 1, MAX_TREE_SIZE), start + LEAVES_PER_CALL, size)
    rows = db.session.execute(db.select(LedgerLeaf.leaf_index, LedgerLeaf.leaf_hash).where(
        LedgerLeaf.leaf_index >= start, LedgerLeaf.leaf_index < end).order_by(LedgerLeaf.leaf_index))
    return jsonify(dump(LEAF_PAGE_OUT, None, tree_size=size, start=start, end=end,
                        leaves=[dump(LEAF_OUT, None, index=index, leaf_hash=digest.hex()) for index, digest in rows]))


@bp.route("/ledger/proof/inclusion", methods=["GET"])
@documented("Audit path of leaf `index` in the tree of `tree_size` leaves (RFC 9162 §2.1.3)", description=PUBLIC_LOG,
            query=(_int_query("index", "The leaf index."),
                   _int_query("tree_size", "A tree size up to the latest signed checkpoint's.")),
            responses={200: ok(INCLUSION_PROOF_OUT), 400: INVALID})
def ledger_inclusion_proof():
    size = _signed_size()
    if size == 0:
        raise ApiError("invalid_parameter", "the log has no signed leaves yet", field="tree_size")
    tree_size = _int_arg("tree_size", 1, size)
    index = _int_arg("index", 0, tree_size - 1)
    tree = stored_tree()
    return jsonify(dump(INCLUSION_PROOF_OUT, None, index=index, tree_size=tree_size,
                        leaf_hash=tree.subtree(0, index).hex(),
                        audit_path=[node.hex() for node in tree.inclusion_proof(index, tree_size)]))


@bp.route("/ledger/proof/consistency", methods=["GET"])
@documented("Consistency proof between trees of `first` and `second` leaves (RFC 9162 §2.1.4)",
            description=PUBLIC_LOG,
            query=(_int_query("first", "The older tree size (at least 1)."),
                   _int_query("second", "The newer tree size, up to the latest signed checkpoint's.")),
            responses={200: ok(CONSISTENCY_PROOF_OUT), 400: INVALID})
def ledger_consistency_proof():
    size = _signed_size()
    if size == 0:
        raise ApiError("invalid_parameter", "the log has no signed leaves yet", field="second")
    second = _int_arg("second", 1, size)
    first = _int_arg("first", 1, second)
    return jsonify(dump(CONSISTENCY_PROOF_OUT, None, first=first, second=second,
                        consistency=[node.hex() for node in stored_tree().consistency_proof(first, second)]))
