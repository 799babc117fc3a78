"""A service point of an activity running now, with its first poster, a coordinator and a signed-up volunteer."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest

from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.services import ScanRequest, record_scan
from volunteer_registry.extensions import db
from volunteer_registry.points.models import ServicePoint, ServicePointPoster
from volunteer_registry.points.services import PointData, create_point, issue_poster
from volunteer_registry.points.tokens import poster_token

#: 西宁 Dongguan mosque square; 0.001° of latitude is about 111 m
HERE = (36.6171, 101.7782)


@dataclass
class Place:
    activity: object
    coordinator: object
    volunteer: object
    point: ServicePoint
    poster: ServicePointPoster

    @property
    def token(self) -> str:
        return poster_token(self.point, self.poster)


def point_data(**overrides) -> PointData:
    values = dict(name="东关社区养老服务站", address="西宁市城东区东关大街 12 号", latitude=HERE[0],
                  longitude=HERE[1], radius_m=150)
    values.update(overrides)
    return PointData(**values)


def poster_scan(person, token: str, at: dt.datetime, latitude=HERE[0], longitude=HERE[1], event_id=None):
    return record_scan(person, ScanRequest(event_id=event_id or uuid.uuid4().hex, poster_token=token,
                                           latitude=latitude, longitude=longitude), now=at)


@pytest.fixture
def place(make) -> Place:
    activity = make.activity(title="社区助老服务")
    coordinator = make.coordinator(activity.organization)
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - dt.timedelta(days=1))
    point = create_point(coordinator, activity, point_data())
    poster = issue_poster(coordinator, point)
    db.session.commit()
    return Place(activity, coordinator, volunteer, point, poster)
