"""Scans are rate-limited per scanning account (its token or its session), not per address: past the limit the
answer is 429 with a JSON error, nothing is recorded, and another account scanning meanwhile is not held up."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from volunteer_registry.accounts.services import create_api_token
from volunteer_registry.checkin.models import Scan
from volunteer_registry.extensions import db

from ..conftest import Factory, build_app, login, serve


@pytest.fixture
def limited(tmp_path):
    yield from serve(build_app(tmp_path, SCAN_RATE_LIMIT="3 per minute"))


def scans() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Scan))


def api_scan(client, token, activity, number):
    return client.post("/api/v1/scans", headers={"Authorization": f"Bearer {token}"},
                       json={"event_id": uuid.uuid4().hex, "activity": activity.code, "volunteer_number": number})


def test_the_api_limits_each_token_and_records_nothing_past_the_limit(limited):
    make = Factory(limited)
    activity = make.activity(allows_walk_ins=True)
    volunteer = make.volunteer()
    first, second = (make.coordinator(activity.organization) for _ in range(2))
    tokens = [create_api_token(user, "scanner")[1] for user in (first, second)]
    db.session.commit()
    client = limited.test_client()
    statuses = [api_scan(client, tokens[0], activity, volunteer.volunteer_number).status_code for _ in range(4)]
    assert statuses[:3] == [201, 201, 201] and statuses[3] == 429
    answer = api_scan(client, tokens[0], activity, volunteer.volunteer_number)
    assert answer.status_code == 429 and answer.get_json()["error"]["code"] == "rate_limited"
    assert scans() == 3
    assert api_scan(client, tokens[1], activity, volunteer.volunteer_number).status_code == 201  # another scanner
    assert scans() == 4


def test_the_scanner_page_limits_each_signed_in_account(limited):
    make = Factory(limited)
    activity = make.activity(allows_walk_ins=True)
    volunteer = make.volunteer()
    coordinator = make.coordinator(activity.organization)
    db.session.commit()
    client = limited.test_client()
    login(client, coordinator)
    statuses = [client.post(f"/activities/{activity.code}/scans", json={
        "event_id": uuid.uuid4().hex, "volunteer_number": volunteer.volunteer_number}).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert scans() == 3
