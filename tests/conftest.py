"""Fixtures: a fresh app and database per test, factories with overridable defaults, sign-in helpers."""
from __future__ import annotations

import datetime as dt
import itertools
import os

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.globals import _cv_app
from flask.testing import FlaskClient

from volunteer_registry import create_app
from volunteer_registry.accounts.models import User
from volunteer_registry.accounts.services import create_account
from volunteer_registry.extensions import db, limiter
from volunteer_registry.organizations.credit_code import credit_code_check_character
from volunteer_registry.organizations.models import StaffRole
from volunteer_registry.organizations.services import OrganizationData, apply_for_organization, decide_organization
from volunteer_registry.volunteers.identity import resident_id_check_character
from volunteer_registry.volunteers.services import VolunteerData, save_own_profile

PASSWORD = "correct horse battery"


def pytest_configure(config):
    """Under pytest-xdist each worker gets a PostgreSQL database of its own (``<name>_gw0``, created when missing),
    so parallel tests never share tables. SQLite needs nothing: every test has a file of its own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("TEST_DATABASE_URL")
    if worker and url:
        os.environ["TEST_DATABASE_URL"] = _worker_database(url, worker)


def _worker_database(url: str, worker: str) -> str:
    target = sa.engine.make_url(url)
    target = target.set(database=f"{target.database}_{worker}")
    server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                    {"name": target.database}).scalar()
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()
    return target.render_as_string(hide_password=False)
_serial = itertools.count(1)


def _database_url(tmp_path) -> str:
    """SQLite in the test's folder, or the PostgreSQL server named by TEST_DATABASE_URL."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite3'}"


class RequestIsolatingClient(FlaskClient):
    """Each request runs in its own application context and database session, as it does in production.

    Without this, Flask would reuse the test's application context: requests would share the test's
    uncommitted session and ``g`` (cached locale, cached signed-in user).
    """

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            response = super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)
        if has_app_context():
            db.session.expire_all()  # the test sees what the request wrote, as a person reloading would
        return response


def build_app(tmp_path, **overrides):
    config = {
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path),
        "SECRET_KEY": "test-secret-key",
        "ID_ENCRYPTION_KEY": "test-id-encryption-key",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "registry.test",
    }
    config.update(overrides)
    app = create_app(config, instance_path=str(tmp_path / "instance"))
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _empty_postgresql()
        else:
            db.drop_all()
            db.create_all()
    limiter.reset()
    _built_apps.append(app)
    return app


_built_apps: list = []
#: the PostgreSQL databases whose schema this process made from the models (then only emptied between tests)
_schemas_made: set = set()


def _empty_postgresql() -> None:
    """An empty database with the models' schema, for the next test. Making the schema costs about 110 ms on
    PostgreSQL and emptying it about 25 ms (TRUNCATE, the append-only triggers set aside as a superuser may), so
    each process makes it once and then empties it. It is made again when a migration test has been there (it
    leaves alembic_version), when the tables are not the models', or when TRUNCATE is not allowed."""
    url = db.engine.url.render_as_string(hide_password=False)
    tables = set(sa.inspect(db.engine).get_table_names())
    models = [table.name for table in db.metadata.sorted_tables]
    if url in _schemas_made and tables == set(models):
        try:
            with db.engine.begin() as connection:
                connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
                names = ", ".join(f'"{name}"' for name in models)
                connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        except sa.exc.DBAPIError:
            pass  # not a superuser: make it again
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    db.drop_all()
    db.create_all()
    _schemas_made.add(url)


@pytest.fixture(autouse=True)
def _close_database_connections():
    """Close every connection of the apps a test built (an open one is a ResourceWarning, so an error)."""
    yield
    while _built_apps:
        with _built_apps.pop().app_context():
            db.engine.dispose()


def serve(app):
    """Yield ``app`` inside an application context (the next test's build_app empties the database)."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def app(tmp_path):
    yield from serve(build_app(tmp_path))


@pytest.fixture
def client(app):
    return app.test_client()


def valid_resident_id(region="630102", birth=dt.date(1990, 5, 17), sequence=None, gender="male") -> str:
    seq = sequence if sequence is not None else next(_serial) % 450 * 2 + (1 if gender == "male" else 0)
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + resident_id_check_character(body)


def valid_credit_code(category="1", region="630102", serial=None) -> str:
    body = f"5{category}{region}MJ{(serial or next(_serial)):07d}"
    return body + credit_code_check_character(body)


class Factory:
    """Creates rows through the services, as a user would; every default can be overridden."""

    def __init__(self, app):
        self.app = app

    def user(self, identifier=None, *, admin=False, password=PASSWORD):
        return create_account(identifier or f"user{next(_serial)}@example.org", password, is_platform_admin=admin)

    def admin(self):
        return self.user(admin=True)

    def org_data(self, **overrides) -> OrganizationData:
        values = dict(name=f"Test Volunteers {next(_serial)}", org_type="social_group",
                      credit_code=valid_credit_code(), region_code="630102", address="1 Kunlun Road",
                      person_in_charge="Ma Li", contact_phone="13912345678", contact_email="org@example.org",
                      description="", join_mode="approval")
        values.update(overrides)
        return OrganizationData(**values)

    def org(self, *, admin_user=None, status="approved", **overrides):
        """An organization (approved by default) whose org admin is ``admin_user`` (a new account by default)."""
        org = apply_for_organization(admin_user or self.user(), self.org_data(**overrides))
        if status != "pending":
            platform = self.admin()
            if status in ("approved", "suspended"):
                decide_organization(platform, org, "approve")
            if status == "suspended":
                decide_organization(platform, org, "suspend", "test")
            if status == "rejected":
                decide_organization(platform, org, "reject", "test")
        return org

    def org_admin_of(self, org):
        return db.session.get(User, org.applicant_id)

    def account_of(self, volunteer):
        return db.session.get(User, volunteer.user_id)

    def coordinator(self, org):
        user = self.user()
        db.session.add(StaffRole(organization_id=org.id, user_id=user.id, role="coordinator"))
        db.session.flush()
        return user

    def activity(self, org=None, *, status="published", actor=None, **overrides):
        """An activity of ``org`` (a new approved one by default) running from an hour ago to three hours on."""
        from volunteer_registry.activities.services import ActivityData, create_activity, publish_activity
        from volunteer_registry.models import utcnow

        org = org or self.org()
        actor = actor or self.org_admin_of(org)
        now = utcnow().replace(microsecond=0)
        values = dict(title="Riverside clean-up", category="environment", recipient="Huangshui river banks",
                      region_code=org.region_code, address="Huangshui riverside park", person_in_charge="Ma Li",
                      starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=3),
                      grace_minutes=30)
        created_at = overrides.pop("created_at", None)
        values.update(overrides)
        # planned ahead, as activities are: created a day before it starts unless a test says otherwise (an
        # activity created after its start is retroactive, and every entry of it needs a second person)
        activity = create_activity(actor, org, ActivityData(**values),
                                   now=created_at or min(utcnow(), values["starts_at"] - dt.timedelta(days=1)))
        if status == "published":
            publish_activity(actor, activity)
        return activity

    def volunteer_data(self, **overrides) -> VolunteerData:
        gender = overrides.get("gender", "female")
        birth = overrides.get("birth_date", dt.date(1995, 3, 8))
        values = dict(name="卓玛", gender=gender, birth_date=birth, id_type="resident_id",
                      id_number=valid_resident_id(birth=birth or dt.date(1995, 3, 8), gender=gender),
                      phone="13800138000",
                      region_code="630102", email=None, skills="first aid", consent=True)
        values.update(overrides)
        return VolunteerData(**values)

    def volunteer(self, user=None, **overrides):
        return save_own_profile(user or self.user(), self.volunteer_data(**overrides))


@pytest.fixture
def make(app):
    return Factory(app)


def login(client, user) -> None:
    """Sign ``user`` in on ``client`` without going through the form."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
