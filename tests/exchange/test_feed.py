"""The upward exchange's feed: an event for every record of the categories written or changed, in the transaction
that writes it; numbered without gaps in commit order, so a reader paging by cursor never misses one (not even one
that committed late); scoped to the token's regions; refused without a live read token."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.ledger.test_ledger import serve, site  # noqa: F401  (the fixture)
from volunteer_registry.accounts.deletion import delete_account
from volunteer_registry.certificates.services import issue_certificate, revoke_certificate, today
from volunteer_registry.exchange.feed import (
    backfill_events,
    create_exchange_token,
    feed_page,
    revoke_exchange_token,
    sequence_events,
)
from volunteer_registry.exchange.models import ExchangeEvent
from volunteer_registry.exchange.schema import FEED_FORMAT
from volunteer_registry.extensions import db
from volunteer_registry.ledger.log import extend_log, log_origin
from volunteer_registry.ledger.services import decide_entries, service_entry_of_session
from volunteer_registry.organizations.services import apply_for_membership, decide_membership
from volunteer_registry.records.services import TrainingData, record_training, withdraw_record


def read(client, token, since=0, limit=100):
    response = client.get(f"/api/v1/exchange/records?since={since}&limit={limit}",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def read_all(client, token, limit=100) -> list[dict]:
    events, since = [], 0
    while True:
        page = read(client, token, since, limit)
        events += page["events"]
        assert page["since"] == since and page["next"] >= since
        since = page["next"]
        if not page["more"]:
            return events


def events_of(*where) -> list[tuple]:
    return [(e.category, e.action) for e in db.session.scalars(
        sa.select(ExchangeEvent).where(*where).order_by(ExchangeEvent.id))]


@pytest.fixture
def lived(site, make):  # noqa: F811
    """卓玛 served 100 minutes (approved) and 30 (rejected), got a training course that was then withdrawn and a
    certificate that was revoked; the organization was renamed; then she deleted her account."""
    activity, coordinator, admin, (zhuoma, _tashi) = site
    org = activity.organization
    admin.display_name = "马晓东"  # the handler printed on the certificate
    decide_membership(admin, apply_for_membership(make.account_of(zhuoma), org), True)
    first = serve(activity, coordinator, zhuoma, 0, 100).session
    second = serve(activity, coordinator, zhuoma, 110, 140).session
    entries = [service_entry_of_session(first.id), service_entry_of_session(second.id)]
    decide_entries(admin, org, [entries[0].id], "approve")
    decide_entries(admin, org, [entries[1].id], "reject", reason="left early")
    course = record_training(admin, org, zhuoma, TrainingData(title="急救培训", provider="红十字会",
                                                              date=today() - dt.timedelta(days=3), minutes=120))
    withdraw_record(admin, course, "记错了人")
    certificate = issue_certificate(admin, org, zhuoma, today() - dt.timedelta(days=30), today(), render=False)
    revoke_certificate(admin, certificate, "重新开具")
    org.name = "西宁市城东区志愿者协会"
    db.session.commit()
    account = make.account_of(zhuoma)
    delete_account(account, PASSWORD)
    db.session.commit()
    return activity, zhuoma, entries, course, certificate


def test_every_category_and_action_writes_its_event(app, client, lived):
    activity, zhuoma, entries, course, certificate = lived
    org = activity.organization
    token, _row = create_exchange_token("province", "read", "all")
    db.session.commit()
    events = read_all(client, token)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    mine = [(e["category"], e["action"], e["key"]) for e in events
            if e["key"] in {zhuoma.volunteer_number, str(entries[0].id), str(entries[1].id), str(course.id),
                            certificate.code, org.code}
            or (e["category"] == "service" and e["record"]["refers_to"] in {str(entries[0].id), str(entries[1].id)}
                if e["action"] == "decision" else False)]
    decisions = [(c, a) for c, a, _k in mine if a == "decision"]
    assert decisions == [("service", "decision"), ("service", "decision")]
    assert ("service", "upsert", str(entries[0].id)) in mine and ("service", "upsert", str(entries[1].id)) in mine
    assert ("training", "upsert", str(course.id)) in mine and ("training", "delete", str(course.id)) in mine
    assert [a for c, a, k in mine if c == "certificate"] == ["upsert", "upsert"]  # issued, then revoked
    assert ("organization", "upsert", org.code) in mine
    volunteer_events = [(a, e) for c, a, k in mine for e in events if c == "volunteer" and e["key"] == k
                        and e["action"] == a]
    assert [a for a, _e in volunteer_events] == ["upsert", "anonymise"]
    by_key = {(e["category"], e["action"], e["key"]): e for e in events}
    # the records as documented; an anonymised volunteer's earlier upsert carries no details any more
    assert by_key[("volunteer", "upsert", zhuoma.volunteer_number)]["record"] is None
    assert by_key[("volunteer", "anonymise", zhuoma.volunteer_number)]["record"] is None
    service = by_key[("service", "upsert", str(entries[0].id))]
    assert service["region"] == org.region_code
    assert (service["record"]["minutes"], service["record"]["organization"], service["record"]["activity"],
            service["record"]["volunteer"]) == (100, org.code, activity.code, zhuoma.volunteer_number)
    assert service["record"]["title"] == "社区服务站日常值班"
    rejection = next(e for e in events if e["action"] == "decision"
                     and e["record"]["refers_to"] == str(entries[1].id))
    assert (rejection["record"]["kind"], rejection["record"]["reason"]) == ("rejection", "left early")
    assert by_key[("training", "delete", str(course.id))]["record"] is None
    assert by_key[("training", "upsert", str(course.id))]["record"]["title"] == "急救培训"
    assert by_key[("certificate", "upsert", certificate.code)]["record"]["status"] == "revoked"
    assert by_key[("organization", "upsert", org.code)]["record"]["name"] == "西宁市城东区志愿者协会"


def test_a_page_is_the_documented_shape_with_a_signed_checkpoint_and_sealed_leaves(app, client, lived):
    _activity, _zhuoma, entries, _course, _certificate = lived
    extend_log()
    db.session.commit()
    token, _row = create_exchange_token("province", "read", "63")
    db.session.commit()
    page = read(client, token, 0, 1000)
    assert (page["format"], page["origin"], page["since"], page["more"]) == (FEED_FORMAT, log_origin(), 0, False)
    assert page["checkpoint"].startswith(log_origin() + "\n")
    assert page["next"] == page["events"][-1]["seq"]
    service = next(e for e in page["events"] if e["key"] == str(entries[0].id) and e["action"] == "upsert")
    assert service["record"]["leaf_index"] is not None and f'"id":{entries[0].id}' in service["record"]["leaf"]


def test_paging_by_cursor_has_no_gaps_and_no_repeats(app, client, lived):
    token, _row = create_exchange_token("province", "read", "all")
    db.session.commit()
    whole = read(client, token, 0, 1000)["events"]
    paged = read_all(client, token, limit=3)
    assert [e["seq"] for e in paged] == [e["seq"] for e in whole] == list(range(1, len(whole) + 1))


def test_an_event_committed_late_with_a_smaller_id_is_not_skipped(app, client, lived):
    """A transaction that began earlier (a smaller event id) but commits after a later one was numbered gets the
    next number: a reader at the end sees it on its next page."""
    token, _row = create_exchange_token("province", "read", "all")
    db.session.commit()
    top_id = db.session.scalar(sa.select(sa.func.max(ExchangeEvent.id)))
    db.session.add(ExchangeEvent(id=top_id + 10, category="organization", action="upsert", subject_id=1,
                                 region_code="630102"))
    db.session.commit()
    first = read_all(client, token)
    cursor = first[-1]["seq"]
    db.session.add(ExchangeEvent(id=top_id + 5, category="organization", action="upsert", subject_id=2,
                                 region_code="630102"))
    db.session.commit()
    later = read(client, token, cursor)
    assert [e["seq"] for e in later["events"]] == [cursor + 1]
    assert db.session.scalar(sa.select(ExchangeEvent.seq).where(ExchangeEvent.id == top_id + 5)) == cursor + 1


@pytest.mark.skipif("sqlite" in (__import__("os").environ.get("TEST_DATABASE_URL") or "sqlite"),
                    reason="SQLite serializes writers: no transaction can commit while another is open")
def test_a_transaction_still_open_is_numbered_after_it_commits(app, lived):
    with db.engine.connect() as late:
        late.begin()
        late.execute(sa.insert(ExchangeEvent.__table__).values(category="organization", action="upsert",
                                                               subject_id=1, region_code="630102",
                                                               created_at=dt.datetime.now(dt.UTC)))
        late_id = late.execute(sa.select(sa.func.max(ExchangeEvent.id))).scalar()
        db.session.add(ExchangeEvent(category="organization", action="upsert", subject_id=2, region_code="630102"))
        db.session.commit()
        sequence_events()
        db.session.commit()
        page = feed_page(0, 1000)
        db.session.commit()
        cursor = page["next"]
        assert late_id not in {e.id for e in db.session.scalars(sa.select(ExchangeEvent).where(
            ExchangeEvent.seq.is_not(None)))}
        late.commit()
    sequence_events()
    db.session.commit()
    assert db.session.scalar(sa.select(ExchangeEvent.seq).where(ExchangeEvent.id == late_id)) == cursor + 1
    assert [e["seq"] for e in feed_page(cursor, 100)["events"]] == [cursor + 1]


def test_a_token_reads_only_its_regions_and_its_cursor_passes_the_others(app, client, lived, make):
    yushu = make.org(name="玉树州志愿者协会", region_code="632701")
    db.session.commit()
    xining, _row = create_exchange_token("Xining", "read", "6301")
    yushu_token, _row = create_exchange_token("Yushu", "read", "6327")
    db.session.commit()
    everything = read_all(client, xining) + read_all(client, yushu_token)
    ours = read(client, yushu_token, 0, 1000)
    assert [(e["category"], e["key"]) for e in ours["events"]] == [("organization", yushu.code)] * len(ours["events"])
    assert ours["events"]
    assert all(e["region"].startswith("6301") for e in read(client, xining, 0, 1000)["events"])
    top = max(e["seq"] for e in everything)
    assert ours["next"] == top and ours["more"] is False  # past Xining's events too
    assert read(client, yushu_token, ours["next"])["events"] == []


def test_no_or_a_bad_or_a_revoked_token_is_refused(app, client, lived, make):
    assert client.get("/api/v1/exchange/records").status_code == 401
    assert client.get("/api/v1/exchange/records").get_json()["error"]["code"] == "token_required"
    token, row = create_exchange_token("province", "read", "all")
    db.session.commit()
    for header in ("Bearer vrx_nonsense", "Basic abc", f"Bearer {token}x"):
        response = client.get("/api/v1/exchange/records", headers={"Authorization": header})
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_invalid"
    # an account's API token is not an exchange token
    from volunteer_registry.accounts.services import create_api_token
    account_token = create_api_token(make.admin(), "mine")[0]
    db.session.commit()
    response = client.get("/api/v1/exchange/records", headers={"Authorization": f"Bearer {account_token}"})
    assert response.status_code == 401
    revoke_exchange_token(row.id)
    db.session.commit()
    response = client.get("/api/v1/exchange/records", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_invalid"


def test_the_backfill_gives_every_existing_row_one_event_once(app, lived):
    by_category = {category: count for category, count in db.session.execute(
        sa.select(ExchangeEvent.category, sa.func.count()).group_by(ExchangeEvent.category))}
    db.session.execute(sa.delete(ExchangeEvent))
    db.session.commit()
    added = backfill_events()
    db.session.commit()
    assert added > 0
    assert backfill_events() == 0  # nothing twice
    after = dict(db.session.execute(sa.select(ExchangeEvent.category, sa.func.count())
                                    .group_by(ExchangeEvent.category)).all())
    assert after["service"] == by_category["service"]  # every entry: one upsert or decision each
    assert after["organization"] >= 1 and after["training"] == 2  # the course, and its deletion
    assert after["certificate"] == 1  # the certificate as it is now (revoked), once
    assert "volunteer" in after  # 扎西; 卓玛 was anonymised and is not backfilled as an upsert
    sequence_events()
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.max(ExchangeEvent.seq))) == sum(after.values())


def test_the_feed_is_in_the_openapi_document(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/exchange/records"] and "post" in paths["/exchange/ingest"]


def test_the_exchange_migration_gives_the_rows_already_there_their_events(tmp_path):
    """Revision 0012 fills the feed with one upsert per existing row (INSERT … SELECT), in id order."""
    import os

    from tests.test_database import _database_at, _drop_everything

    upgrade, engine = _database_at(tmp_path, "0011")
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":  # the organizations alone, without their applicants
                connection.execute(sa.text("SET session_replication_role = replica"))
            connection.execute(sa.text(
                "INSERT INTO organizations (id, code, name, org_type, region_code, address, person_in_charge, "
                "contact_phone, contact_email, description, status, join_mode, applicant_id, created_at) VALUES "
                "(:id, :code, 'x', 'community_team', :region, 'x', 'x', 'x', 'x', '', 'approved', 'open', 1, "
                "'2026-01-01 00:00:00')"),
                [{"id": 1, "code": "ORGONE", "region": "630102"}, {"id": 2, "code": "ORGTWO", "region": "632701"}])
        upgrade()
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT category, action, subject_id, region_code, seq FROM exchange_events ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [("organization", "upsert", 1, "630102", None),
                                                ("organization", "upsert", 2, "632701", None)]
    finally:
        engine.dispose()
    if engine.dialect.name != "sqlite":
        _drop_everything(os.environ["TEST_DATABASE_URL"])


def test_the_exchange_commands(app, lived):
    from volunteer_registry.exchange.models import ExchangeToken

    runner = app.test_cli_runner()
    created = runner.invoke(args=["exchange", "token", "create", "--name", "青海省平台", "--regions", "63,6327"])
    assert created.exit_code == 0, created.output
    plaintext = created.output.split(": ", 1)[1].split()[0]
    row = db.session.scalar(sa.select(ExchangeToken))
    assert (row.scope, row.regions, row.peer_id) == ("read", ["63", "6327"], None)
    assert plaintext.startswith("vrx_") and plaintext not in runner.invoke(args=["exchange", "token", "list"]).output
    refused = runner.invoke(args=["exchange", "token", "create", "--name", "x", "--regions", "63a"])
    assert refused.exit_code != 0 and "regions_invalid" in refused.output
    no_peer = runner.invoke(args=["exchange", "token", "create", "--name", "x", "--scope", "push"])
    assert no_peer.exit_code != 0 and "peer_required" in no_peer.output
    sequenced = runner.invoke(args=["exchange", "sequence"])
    assert sequenced.exit_code == 0 and "events numbered" in sequenced.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExchangeEvent)
                             .where(ExchangeEvent.seq.is_(None))) == 0
    assert "waiting for a number" in runner.invoke(args=["exchange", "status"]).output
    assert runner.invoke(args=["exchange", "token", "revoke", str(row.id)]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(ExchangeToken, row.id).revoked_at is not None
    assert "Set EXCHANGE_PUSH_URL" in runner.invoke(args=["exchange", "push", "--once"]).output
    unknown = runner.invoke(args=["exchange", "pull", "http://nowhere.test"])
    assert unknown.exit_code != 0 and "peer_unknown" in unknown.output
