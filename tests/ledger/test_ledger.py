"""The ledger: sessions become entries, decisions are new entries, totals fold the approved ones, the Merkle log
grows in signed batches, the database refuses changes, and `flask ledger verify` finds a tampered entry."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.models import AttendanceSession
from volunteer_registry.checkin.services import (
    ScanRequest,
    close_ended_activities,
    decide_manual_entry,
    fix_missed_checkout,
    record_manual_entry,
    record_scan,
)
from volunteer_registry.errors import Forbidden, NotFound
from volunteer_registry.extensions import db
from volunteer_registry.integrity.services import IntegrityRefusal
from volunteer_registry.keys.services import current_key, rotate_keys, spki_der
from volunteer_registry.ledger.checkpoint import open_note
from volunteer_registry.ledger.log import canonical_bytes, extend_log, note_verifier_key, stored_tree, verify_ledger
from volunteer_registry.ledger.merkle import leaf_hash, root, verify_inclusion
from volunteer_registry.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerLeaf, LedgerState
from volunteer_registry.ledger.services import (
    LedgerError,
    annul_entry,
    correct_session,
    decide_entries,
    fold_states,
    hours_of,
)

T = dt.timedelta


@pytest.fixture
def site(make):
    """An activity running now, its coordinator and org admin, and two volunteers who signed up."""
    activity = make.activity(title="社区服务站日常值班", recipient="城东区居民", address="八一路社区服务站")
    org = activity.organization
    people = [make.volunteer(name=name) for name in ("卓玛", "扎西")]
    for person in people:
        sign_up(make.account_of(person), activity, now=activity.starts_at - T(days=1))
    db.session.commit()
    return activity, make.coordinator(org), make.org_admin_of(org), people


def serve(activity, coordinator, volunteer, start_minutes, end_minutes):
    """A card scan in and one out, ``start``..``end`` minutes after the activity's start; the closing result."""
    for direction, minutes in (("in", start_minutes), ("out", end_minutes)):
        result = record_scan(coordinator, ScanRequest(
            event_id=uuid.uuid4().hex, activity_code=activity.code, volunteer_number=volunteer.volunteer_number,
            direction=direction), now=activity.starts_at + T(minutes=minutes))
        assert result.accepted, result.error
    return result


def states():
    return {s.entry_id: (s.status, s.minutes) for s in db.session.scalars(sa.select(LedgerState))}


def test_a_closed_session_becomes_one_pending_service_entry(site):
    activity, coordinator, _admin, (zhuoma, _tashi) = site
    result = serve(activity, coordinator, zhuoma, 10, 95)
    entry = result.entry
    assert entry is not None and entry.kind == "service"
    assert (entry.minutes, entry.source, entry.volunteer_id, entry.organization_id) == (85, "card", zhuoma.id,
                                                                                          activity.organization_id)
    assert (entry.activity_title, entry.place, entry.recipient, entry.person_in_charge) == (
        "社区服务站日常值班", "八一路社区服务站", "城东区居民", activity.person_in_charge)
    assert entry.actor_id == coordinator.id and entry.service_date is not None
    assert states() == {entry.id: ("pending", 85)}
    # a replay of the closing scan names the same entry and records nothing new
    again = record_scan(coordinator, ScanRequest(event_id=result.scan.event_id, activity_code=activity.code,
                                                 volunteer_number=zhuoma.volunteer_number, direction="out"),
                        now=activity.starts_at + T(minutes=96))
    assert again.replayed and again.entry.id == entry.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 1


def test_overlapping_time_counts_once(site):
    """A manual entry overlapping a scanned session adds only the minutes the scan did not cover."""
    activity, coordinator, admin, (zhuoma, _tashi) = site
    serve(activity, coordinator, zhuoma, 0, 60)
    manual = record_manual_entry(coordinator, activity, zhuoma, activity.starts_at + T(minutes=30),
                                 activity.starts_at + T(minutes=90), "a second stint the scanner missed")
    decide_manual_entry(admin, manual, True)
    minutes = sorted(m for _status, m in states().values())
    assert minutes == [30, 60]


def test_decisions_are_new_entries_and_all_or_none(site):
    activity, coordinator, admin, (zhuoma, tashi) = site
    first = serve(activity, coordinator, zhuoma, 0, 60).entry
    second = serve(activity, coordinator, tashi, 0, 30).entry
    db.session.commit()
    made = decide_entries(admin, activity.organization, [first.id], "approve")
    assert [(e.kind, e.refers_to_id, e.actor_id) for e in made] == [("approval", first.id, admin.id)]
    db.session.commit()
    # the batch holds one already-decided entry: nothing of it is written
    with pytest.raises(LedgerError) as info:
        decide_entries(admin, activity.organization, [second.id, first.id], "approve")
    assert info.value.code == "entry_not_pending"
    db.session.rollback()
    assert states() == {first.id: ("approved", 60), second.id: ("pending", 30)}
    with pytest.raises(LedgerError) as info:
        decide_entries(admin, activity.organization, [second.id], "reject", reason="  ")
    assert info.value.code == "reason_required"
    decide_entries(coordinator, activity.organization, [second.id], "reject", reason="left for lunch")
    assert states() == {first.id: ("approved", 60), second.id: ("rejected", 30)}
    kinds = [e.kind for e in db.session.scalars(sa.select(LedgerEntry).order_by(LedgerEntry.id))]
    assert kinds == ["service", "service", "approval", "rejection"]
    assert hours_of(zhuoma.id).minutes == 60 and hours_of(tashi.id).minutes == 0


def test_only_the_recording_organizations_staff_decide(site, make):
    activity, coordinator, _admin, (zhuoma, _tashi) = site
    entry = serve(activity, coordinator, zhuoma, 0, 60).entry
    db.session.commit()
    other = make.org()
    outsider = make.coordinator(other)
    with pytest.raises(Forbidden):
        decide_entries(outsider, activity.organization, [entry.id], "approve")
    with pytest.raises(NotFound):  # through their own organization, the entry does not exist
        decide_entries(outsider, other, [entry.id], "approve")
    db.session.rollback()
    assert states() == {entry.id: ("pending", 60)}


def test_a_manual_entry_is_not_approved_in_the_ledger_by_its_author(site):
    activity, coordinator, admin, (zhuoma, _tashi) = site
    manual = record_manual_entry(coordinator, activity, zhuoma, activity.starts_at, activity.starts_at + T(hours=2),
                                 "the scanner was down")
    decide_manual_entry(admin, manual, True)
    entry = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.kind == "service"))
    assert (entry.source, entry.actor_id, entry.minutes) == ("manual", coordinator.id, 120)
    with pytest.raises(IntegrityRefusal) as info:
        decide_entries(coordinator, activity.organization, [entry.id], "approve")
    assert info.value.code == "own_recording"
    decide_entries(admin, activity.organization, [entry.id], "approve")
    assert states()[entry.id] == ("approved", 120)


def test_an_auto_closed_session_corrected_later_is_a_correction_entry(site, make):
    activity, coordinator, admin, (zhuoma, _tashi) = site
    record_scan(coordinator, ScanRequest(event_id=uuid.uuid4().hex, activity_code=activity.code,
                                         volunteer_number=zhuoma.volunteer_number, direction="in"),
                now=activity.starts_at)
    assert close_ended_activities(now=activity.ends_at + T(hours=1)) == 1
    service = db.session.scalar(sa.select(LedgerEntry))
    assert service.minutes == 240 and service.flags == ["auto_closed"]
    session = db.session.get(AttendanceSession, service.session_id)
    fix_missed_checkout(admin, session, activity.starts_at + T(minutes=90), "left at half past ten",
                        now=activity.ends_at + T(hours=2))
    correction = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.kind == "correction"))
    assert (correction.refers_to_id, correction.minutes, correction.reason) == (service.id, 90,
                                                                                  "left at half past ten")
    assert service.minutes == 240  # the service entry is as it was
    # the correction waits for someone other than the admin who proposed it; the entry, auto-closed, for someone
    # other than the coordinator who scanned her in
    assert states()[service.id] == ("pending", 240)
    state = db.session.get(LedgerState, service.id)
    assert (state.pending_correction_id, state.proposed_minutes) == (correction.id, 90)
    with pytest.raises(IntegrityRefusal) as info:
        decide_entries(admin, activity.organization, [service.id], "approve")
    assert info.value.code == "own_recording"
    decide_entries(coordinator, activity.organization, [service.id], "approve")  # the correction
    assert states()[service.id] == ("pending", 90) and state.pending_correction_id is None
    # the entry itself needs review (auto-closed, its check-out fixed): neither who scanned her in nor who fixed
    # the check-out may approve it; a third person does
    for recorder in (coordinator, admin):
        with pytest.raises(IntegrityRefusal) as info:
            decide_entries(recorder, activity.organization, [service.id], "approve")
        assert info.value.code == "own_recording"
    decide_entries(make.coordinator(activity.organization), activity.organization, [service.id], "approve")
    assert hours_of(zhuoma.id).minutes == 90


def test_annulment_takes_approved_minutes_out(site):
    activity, coordinator, admin, (zhuoma, _tashi) = site
    entry = serve(activity, coordinator, zhuoma, 0, 60).entry
    with pytest.raises(LedgerError):
        annul_entry(admin, entry, "recorded twice")  # not approved yet
    decide_entries(admin, activity.organization, [entry.id], "approve")
    annul_entry(admin, entry, "recorded twice")
    assert states()[entry.id] == ("annulled", 60) and hours_of(zhuoma.id).minutes == 0


def test_stars_and_progress():
    from volunteer_registry.ledger.services import Hours

    assert (Hours(minutes=99 * 60).stars, Hours(minutes=100 * 60).stars) == (0, 1)
    assert Hours(minutes=1500 * 60).stars == 5 and Hours(minutes=1500 * 60).next_star_hours is None
    assert Hours(minutes=200 * 60).progress == 0.5 and Hours(minutes=200 * 60).next_star_hours == 300
    assert Hours(minutes=125 * 60 + 5).hours == 125.1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(st.tuples(st.sampled_from(["approve", "reject", "correct", "annul"]),
                                  st.integers(0, 2), st.integers(1, 120), st.booleans()), max_size=25))
def test_totals_equal_the_fold_of_approved_entries(app, make, actions):
    """Under random approvals, rejections, corrections and annulments, the totals (from the projection) equal
    the fold of the entries themselves, and `verify` agrees."""
    activity = make.activity()
    org = activity.organization
    coordinator, admin = make.coordinator(org), make.org_admin_of(org)
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
    # three sessions: the most one volunteer may have at one activity in a day
    entries = [serve(activity, coordinator, volunteer, 20 * i, 20 * i + 10).entry for i in range(3)]
    for action, which, minutes, by_admin in actions:
        entry = entries[which]
        person = admin if by_admin else coordinator
        try:
            if action in ("approve", "reject"):
                decide_entries(person, org, [entry.id], action, reason="checked")
            elif action == "annul":
                annul_entry(person, entry, "duplicate")
            else:
                attendance = db.session.get(AttendanceSession, entry.session_id)
                attendance.checked_out_at = attendance.checked_in_at + T(minutes=minutes % 19 + 1)
                correct_session(attendance, person, "fixed")
        except (LedgerError, IntegrityRefusal):
            pass
    folded = fold_states()
    mine = {entry.id for entry in entries}
    approved = sum(minutes for entry_id, (status, minutes) in folded.items()
                   if entry_id in mine and status == "approved")
    assert hours_of(volunteer.id).minutes == approved
    assert states() == folded
    extend_log()
    assert verify_ledger().ok


def test_the_log_grows_in_signed_batches(site):
    activity, coordinator, admin, (zhuoma, tashi) = site
    first = extend_log()
    assert (first.tree_size, first.root_hash) == (0, root([]))
    serve(activity, coordinator, zhuoma, 0, 60)
    serve(activity, coordinator, tashi, 0, 30)
    checkpoint = extend_log()
    assert checkpoint.tree_size == 2 and extend_log() is None
    leaves = list(db.session.scalars(sa.select(LedgerLeaf).order_by(LedgerLeaf.leaf_index)))
    entries = {e.id: e for e in db.session.scalars(sa.select(LedgerEntry))}
    assert [leaf.leaf_hash for leaf in leaves] == [leaf_hash(canonical_bytes(entries[leaf.entry_id]))
                                                   for leaf in leaves]
    assert checkpoint.root_hash == root([leaf.leaf_hash for leaf in leaves])
    signed = open_note(checkpoint.note, [note_verifier_key()])
    assert (signed.size, signed.root) == (2, checkpoint.root_hash)
    # no leaf names anyone: the volunteer is a pseudonym, the place and reason only hashed
    for entry in entries.values():
        text = canonical_bytes(entry).decode()
        assert "卓玛" not in text and "扎西" not in text and "八一路" not in text
        assert zhuoma.volunteer_number not in text
    decide_entries(admin, activity.organization, list(entries), "approve")
    grown = extend_log()
    assert grown.tree_size == 4
    tree = stored_tree()
    for index, leaf in enumerate(leaves):
        assert verify_inclusion(leaf.leaf_hash, index, 4, tree.inclusion_proof(index, 4), grown.root_hash)


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entries SET minutes = 600",
    "DELETE FROM ledger_entries",
    "UPDATE ledger_leaves SET leaf_index = leaf_index + 100",
    "DELETE FROM ledger_leaves",
    "UPDATE ledger_checkpoints SET tree_size = 99",
    "DELETE FROM ledger_checkpoints",
])
def test_the_ledger_tables_refuse_changes(site, statement):
    activity, coordinator, _admin, (zhuoma, _tashi) = site
    serve(activity, coordinator, zhuoma, 0, 60)
    extend_log()
    db.session.commit()
    table = statement.split()[1] if statement.startswith("UPDATE") else statement.split()[2]
    before = db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
    assert before >= 1
    with pytest.raises(sa.exc.DatabaseError) as info:
        db.session.execute(sa.text(statement))
        db.session.flush()
    assert "append-only" in str(info.value)
    db.session.rollback()
    assert db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == before
    assert db.session.scalar(sa.select(LedgerEntry.minutes)) == 60


def test_tamper_drill_verify_names_the_changed_entry(app, site):
    """An entry changed behind the app's back (its trigger dropped) is found by `flask ledger verify`."""
    activity, coordinator, _admin, (zhuoma, tashi) = site
    serve(activity, coordinator, zhuoma, 0, 60)
    serve(activity, coordinator, tashi, 0, 30)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "checkpoint"])
    assert result.exit_code == 0 and "tree size 2" in result.output
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 2 leaves, 1 signed checkpoints" in result.output
    target = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.volunteer_id == tashi.id))
    trigger = ("DROP TRIGGER ledger_entries_append_only ON ledger_entries" if db.engine.dialect.name == "postgresql"
               else "DROP TRIGGER ledger_entries_no_update")
    db.session.execute(sa.text(trigger))
    db.session.execute(sa.text("UPDATE ledger_entries SET minutes = 600 WHERE id = :id"), {"id": target.id})
    db.session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"entry {target.id} (leaf 1) no longer matches its leaf hash" in result.output
    assert "checkpoint 2: the root recomputed from the entries differs" in result.output


def test_verify_notices_a_forged_checkpoint_signature(app, site):
    activity, coordinator, _admin, (zhuoma, _tashi) = site
    serve(activity, coordinator, zhuoma, 0, 60)
    extend_log()
    db.session.commit()
    # the published checkpoint key is now another one: the stored checkpoints were not signed by any published key
    published = current_key("checkpoint")
    published.public_key = spki_der(Ed25519PrivateKey.generate().public_key())
    db.session.commit()
    report = verify_ledger()
    assert not report.ok and "checkpoint 1: the signature does not verify" in report.problems[0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerCheckpoint)) == 1


def test_checkpoints_signed_before_a_key_rotation_still_verify(app, site):
    activity, coordinator, _admin, (zhuoma, tashi) = site
    serve(activity, coordinator, zhuoma, 0, 60)
    first = extend_log()
    db.session.commit()
    old_key = note_verifier_key()
    rotate_keys(("checkpoint",))
    serve(activity, coordinator, tashi, 0, 30)
    second = extend_log()
    db.session.commit()
    assert note_verifier_key() != old_key
    # each checkpoint is signed by the key current when it was made; verify knows both
    assert open_note(first.note, [old_key]) and open_note(second.note, [note_verifier_key()])
    with pytest.raises(ValueError):
        open_note(second.note, [old_key])
    report = verify_ledger()
    assert report.ok and report.checkpoints == 2, report.problems
