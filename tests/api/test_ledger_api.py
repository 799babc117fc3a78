"""The ledger's API: entries and decisions for the organization's staff, hours for the volunteer, and the public
monitor interface, checked the way an outside auditor would (signature, inclusion, consistency)."""
from __future__ import annotations

import base64
import datetime as dt
import uuid

import pytest

from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.services import ScanRequest, record_scan
from volunteer_registry.extensions import db
from volunteer_registry.keys.ids import parse_verifier_key
from volunteer_registry.ledger.checkpoint import open_note
from volunteer_registry.ledger.log import extend_log
from volunteer_registry.ledger.merkle import verify_consistency, verify_inclusion
from volunteer_registry.ledger.models import LedgerEntry, LedgerState

from .conftest import token_for

T = dt.timedelta


@pytest.fixture
def site(make):
    activity = make.activity()
    org = activity.organization
    coordinator = make.coordinator(org)
    people = [make.volunteer(name=name) for name in ("卓玛", "扎西", "次仁")]
    for person in people:
        sign_up(make.account_of(person), activity, now=activity.starts_at - T(days=1))
    db.session.commit()
    return activity, coordinator, people


def serve(activity, coordinator, volunteer, minutes):
    for direction, offset in (("in", 0), ("out", minutes)):
        result = record_scan(coordinator, ScanRequest(
            event_id=uuid.uuid4().hex, activity_code=activity.code, volunteer_number=volunteer.volunteer_number,
            direction=direction), now=activity.starts_at + T(minutes=offset))
    db.session.commit()
    return result.entry.id


def status_of(entry_id):
    db.session.rollback()
    return db.session.get(LedgerState, entry_id).status


def error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code
    return response


def test_the_scan_that_closes_a_session_names_its_entry(api, site):
    activity, coordinator, (zhuoma, *_rest) = site
    token = token_for(coordinator)
    body = {"activity": activity.code, "volunteer_number": zhuoma.volunteer_number}
    assert api.post("/scans", token=token, json={**body, "event_id": "ledger-in-01"}).get_json()["entry"] is None
    closing = api.post("/scans", token=token, json={**body, "event_id": "ledger-out-01"}).get_json()
    entry = db.session.get(LedgerEntry, closing["entry"]["id"])
    assert entry.session_id == closing["session"]["id"] and closing["entry"]["status"] == "pending"
    assert closing["entry"]["minutes"] == entry.minutes


def test_coordinators_list_and_decide_entries_in_bulk(api, make, site):
    activity, coordinator, (zhuoma, tashi, tsering) = site
    ids = [serve(activity, coordinator, person, 30 + 10 * n) for n, person in enumerate((zhuoma, tashi, tsering))]
    token = token_for(coordinator)
    listing = api.get(f"/organizations/{activity.organization.code}/entries", token=token).get_json()
    assert [item["id"] for item in listing["items"]] == ids and listing["total"] == 3
    assert {item["volunteer"]["name"] for item in listing["items"]} == {"卓玛", "扎西", "次仁"}
    decided = api.post("/entries/decisions", token=token, json={"entries": ids[:2], "decision": "approve"})
    assert decided.status_code == 200
    assert [e["status"] for e in decided.get_json()["entries"]] == ["approved", "approved"]
    assert [status_of(i) for i in ids] == ["approved", "approved", "pending"]
    # all or none: one already decided → nothing written
    error(api.post("/entries/decisions", token=token, json={"entries": ids, "decision": "approve"}),
          409, "entry_not_pending")
    assert status_of(ids[2]) == "pending"
    error(api.post("/entries/decisions", token=token, json={"entries": ids[2:], "decision": "reject"}),
          422, "reason_required")
    for entries in ("all", [10**30], [ids[2], 2**31], [True]):
        error(api.post("/entries/decisions", token=token, json={"entries": entries, "decision": "approve"}),
              400, "invalid_parameter")
    approved = api.get(f"/organizations/{activity.organization.code}/entries", token=token,
                       query={"status": "approved"}).get_json()
    assert [item["id"] for item in approved["items"]] == ids[:2]
    error(api.get(f"/organizations/{activity.organization.code}/entries", token=token, query={"status": "x"}),
          400, "invalid_parameter")


def test_other_organizations_cannot_see_or_decide(api, make, site):
    activity, coordinator, (zhuoma, *_rest) = site
    entry_id = serve(activity, coordinator, zhuoma, 60)
    other = make.org()
    outsider = token_for(make.coordinator(other))
    error(api.get(f"/organizations/{activity.organization.code}/entries", token=outsider), 403, "forbidden")
    error(api.post("/entries/decisions", token=outsider, json={"entries": [entry_id], "decision": "approve"}),
          404, "not_found")
    error(api.post("/entries/decisions", token=token_for(make.account_of(zhuoma)),
                   json={"entries": [entry_id], "decision": "approve"}), 404, "not_found")
    error(api.post("/entries/decisions", json={"entries": [entry_id], "decision": "approve"}), 401,
          "token_required")
    assert status_of(entry_id) == "pending"


def test_hours_for_the_volunteer_and_for_the_recording_organization(api, make, site):
    activity, coordinator, (zhuoma, *_rest) = site
    # earlier the same day (service at the same time in two places would not count twice)
    elsewhere = make.activity(starts_at=activity.starts_at - T(hours=5), ends_at=activity.starts_at - T(hours=3))
    other_coordinator = make.coordinator(elsewhere.organization)
    sign_up(make.account_of(zhuoma), elsewhere, now=elsewhere.starts_at - T(days=1))
    db.session.commit()
    first = serve(activity, coordinator, zhuoma, 90)
    second = serve(elsewhere, other_coordinator, zhuoma, 30)
    token = token_for(coordinator)
    api.post("/entries/decisions", token=token, json={"entries": [first], "decision": "approve"})
    api.post("/entries/decisions", token=token_for(other_coordinator), json={"entries": [second],
                                                                            "decision": "approve"})
    own = api.get(f"/volunteers/{zhuoma.volunteer_number}/hours", token=token_for(make.account_of(zhuoma)))
    body = own.get_json()
    assert (body["approved_minutes"], body["approved_hours"], body["stars"], body["next_star_hours"]) == (
        120, 2.0, 0, 100)
    assert sorted(o["minutes"] for o in body["by_organization"]) == [30, 90] and body["by_year"][0]["minutes"] == 120
    staff = api.get(f"/volunteers/{zhuoma.volunteer_number}/hours", token=token).get_json()
    assert staff["approved_minutes"] == 120 and staff["by_year"] is None and staff["pending_minutes"] is None
    assert [o["organization"] for o in staff["by_organization"]] == [activity.organization.code]
    error(api.get(f"/volunteers/{zhuoma.volunteer_number}/hours", token=token_for(make.coordinator(make.org()))),
          404, "not_found")
    error(api.get("/volunteers/3333-3333-3333/hours", token=token), 404, "not_found")


def test_an_auditor_checks_the_log_from_outside(api, client, site):
    """Fetch the checkpoint and the key, verify the signature, then inclusion of every leaf and consistency
    between two checkpoints — with nothing but the public endpoints."""
    activity, coordinator, (zhuoma, tashi, tsering) = site
    error(api.get("/ledger/leaves", query={"start": 0, "end": 1}), 400, "invalid_parameter")
    assert client.get("/.well-known/volunteer-registry/checkpoint").status_code == 404
    serve(activity, coordinator, zhuoma, 30)
    serve(activity, coordinator, tashi, 40)
    extend_log()
    db.session.commit()
    older = open_note(client.get("/.well-known/volunteer-registry/checkpoint").get_data(as_text=True),
                      [client.get("/.well-known/volunteer-registry/checkpoint-key").get_data(as_text=True).strip()])
    serve(activity, coordinator, tsering, 50)
    extend_log()
    db.session.commit()
    key_text = client.get("/.well-known/volunteer-registry/checkpoint-key").get_data(as_text=True).strip()
    response = client.get("/.well-known/volunteer-registry/checkpoint")
    assert response.mimetype == "text/plain"
    latest = open_note(response.get_data(as_text=True), [key_text])
    assert (older.size, latest.size) == (2, 3)
    # the JWK set holds the same Ed25519 key, as the current checkpoint key
    keys = client.get("/.well-known/volunteer-registry/jwks.json").get_json()["keys"]
    [jwk] = [key for key in keys if key["purpose"] == "ledger-checkpoint"]
    assert jwk["status"] == "current" and jwk["retired_at"] is None
    assert base64.urlsafe_b64decode(jwk["x"] + "=") == parse_verifier_key(key_text).public_key
    assert (jwk["kty"], jwk["crv"], jwk["note_verifier_key"]) == ("OKP", "Ed25519", key_text)
    leaves = api.get("/ledger/leaves", query={"start": 0, "end": 1000}).get_json()
    assert [leaf["index"] for leaf in leaves["leaves"]] == [0, 1, 2] and leaves["tree_size"] == 3
    for leaf in leaves["leaves"]:
        proof = api.get("/ledger/proof/inclusion", query={"index": leaf["index"], "tree_size": 3}).get_json()
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        assert verify_inclusion(bytes.fromhex(leaf["leaf_hash"]), leaf["index"], 3, path, latest.root)
        assert not verify_inclusion(bytes.fromhex(leaf["leaf_hash"]), (leaf["index"] + 1) % 3, 3, path, latest.root)
    proof = api.get("/ledger/proof/consistency", query={"first": 2, "second": 3}).get_json()
    nodes = [bytes.fromhex(h) for h in proof["consistency"]]
    assert verify_consistency(2, 3, older.root, latest.root, nodes)
    assert not verify_consistency(2, 3, latest.root, older.root, nodes)


@pytest.mark.parametrize(("path", "query"), [
    ("/ledger/leaves", {"start": 5, "end": 6}),
    ("/ledger/leaves", {"start": -1, "end": 2}),
    ("/ledger/leaves", {"start": "0x1", "end": 2}),
    ("/ledger/leaves", {"start": 0}),
    ("/ledger/proof/inclusion", {"index": 1, "tree_size": 1}),
    ("/ledger/proof/inclusion", {"index": 0, "tree_size": 9}),
    ("/ledger/proof/inclusion", {"index": "٣", "tree_size": 1}),
    ("/ledger/proof/consistency", {"first": 0, "second": 1}),
    ("/ledger/proof/consistency", {"first": 2, "second": 1}),
    ("/ledger/proof/consistency", {"first": 1, "second": 10**30}),
])
def test_bad_monitor_parameters_are_400(api, site, path, query):
    activity, coordinator, (zhuoma, *_rest) = site
    serve(activity, coordinator, zhuoma, 30)
    extend_log()
    db.session.commit()
    error(api.get(path, query=query), 400, "invalid_parameter")


def test_every_ledger_status_is_documented(api, make, site):
    activity, coordinator, (zhuoma, tashi, _tsering) = site
    document = api.get("/openapi.json").get_json()
    first, second = serve(activity, coordinator, zhuoma, 30), serve(activity, coordinator, tashi, 30)
    extend_log()
    db.session.commit()
    token, outsider = token_for(coordinator), token_for(make.coordinator(make.org()))
    org = activity.organization.code
    calls = [
        ("GET", "/organizations/{code}/entries", f"/organizations/{org}/entries", token, None, None),
        ("GET", "/organizations/{code}/entries", f"/organizations/{org}/entries", outsider, None, None),
        ("GET", "/organizations/{code}/entries", f"/organizations/{org}/entries", None, None, None),
        ("GET", "/organizations/{code}/entries", "/organizations/NOSUCHORG/entries", token, None, None),
        ("GET", "/organizations/{code}/entries", f"/organizations/{org}/entries", token, None, {"status": "?"}),
        ("POST", "/entries/decisions", "/entries/decisions", token, {"entries": [first], "decision": "approve"},
         None),
        ("POST", "/entries/decisions", "/entries/decisions", token, {"entries": [first], "decision": "approve"},
         None),
        ("POST", "/entries/decisions", "/entries/decisions", token, {"entries": [second], "decision": "reject"},
         None),
        ("POST", "/entries/decisions", "/entries/decisions", token, {"entries": []}, None),
        ("POST", "/entries/decisions", "/entries/decisions", outsider, {"entries": [second], "decision": "reject"},
         None),
        ("POST", "/entries/decisions", "/entries/decisions", None, {}, None),
        ("GET", "/volunteers/{number}/hours", f"/volunteers/{zhuoma.volunteer_number}/hours", token, None, None),
        ("GET", "/volunteers/{number}/hours", f"/volunteers/{zhuoma.volunteer_number}/hours", outsider, None, None),
        ("GET", "/volunteers/{number}/hours", f"/volunteers/{zhuoma.volunteer_number}/hours", None, None, None),
        ("GET", "/ledger/leaves", "/ledger/leaves", None, None, {"start": 0, "end": 5}),
        ("GET", "/ledger/leaves", "/ledger/leaves", None, None, {"start": 9, "end": 5}),
        ("GET", "/ledger/proof/inclusion", "/ledger/proof/inclusion", None, None, {"index": 0, "tree_size": 2}),
        ("GET", "/ledger/proof/inclusion", "/ledger/proof/inclusion", None, None, {"index": 0}),
        ("GET", "/ledger/proof/consistency", "/ledger/proof/consistency", None, None, {"first": 1, "second": 2}),
        ("GET", "/ledger/proof/consistency", "/ledger/proof/consistency", None, None, {"first": 3, "second": 2}),
    ]
    seen = set()
    for method, template, path, tok, body, query in calls:
        kwargs = {"token": tok, "query": query}
        if body is not None:
            kwargs["json"] = body
        response = api.call(method, path, **kwargs)
        seen.add((method, template, response.status_code))
        documented = document["paths"][template][method.lower()]["responses"]
        assert str(response.status_code) in documented, (method, path, response.status_code)
        if response.status_code >= 400:
            assert set(response.get_json()["error"]) <= {"code", "message", "field"}
    assert {s for m, t, s in seen if t == "/entries/decisions"} == {200, 400, 401, 404, 409, 422}
