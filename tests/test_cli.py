"""The `flask` commands of this issue, run as an operator would."""
from volunteer_registry.accounts.models import User
from volunteer_registry.extensions import db
from volunteer_registry.organizations.models import Organization


def test_create_admin_account_and_token(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["accounts", "create-admin", "--email", "chief@example.org",
                                 "--password", "a long admin password"])
    assert result.exit_code == 0 and "platform admin" in result.output
    result = runner.invoke(args=["accounts", "create", "--email", "13900000001", "--password", "another password!"])
    assert result.exit_code == 0
    users = {u.identifier: u.is_platform_admin for u in db.session.scalars(db.select(User))}
    assert users == {"chief@example.org": True, "13900000001": False}
    result = runner.invoke(args=["accounts", "create-token", "--email", "chief@example.org"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vr_")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {lines[0]}"})
    assert response.status_code == 200 and response.get_json()["is_platform_admin"] is True


def test_create_refuses_bad_input(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["accounts", "create", "--email", "nope", "--password", "a long password"])
    assert result.exit_code == 1 and "identifier_invalid" in result.output
    result = runner.invoke(args=["accounts", "create-token", "--email", "ghost@example.org"])
    assert result.exit_code == 1 and "No account" in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_demo_seed_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0 and "Demo data created." in first.output and "admin@example.org" in first.output
    counts = (db.session.scalar(db.select(db.func.count()).select_from(User)),
              db.session.scalar(db.select(db.func.count()).select_from(Organization)))
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0 and "already present" in second.output
    assert counts == (db.session.scalar(db.select(db.func.count()).select_from(User)),
                      db.session.scalar(db.select(db.func.count()).select_from(Organization)))
    assert counts[0] >= 13 and counts[1] == 6
    statuses = sorted(db.session.scalars(db.select(Organization.status)))
    assert statuses == ["approved"] * 5 + ["pending"]
