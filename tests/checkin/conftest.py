"""Check-in fixtures shared by the service and page tests."""
from __future__ import annotations

import datetime as dt

import pytest

from volunteer_registry.activities.services import sign_up
from volunteer_registry.extensions import db


@pytest.fixture
def setting(make):
    """An activity running now (an hour ago to three hours on), its coordinator, a volunteer who signed up the day
    before it started."""
    activity = make.activity()
    coordinator = make.coordinator(activity.organization)
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - dt.timedelta(days=1))
    db.session.commit()
    return activity, coordinator, volunteer
