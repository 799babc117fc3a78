"""Single-use means once, also at the same moment (issue 17). Two people (or two tabs) using one link together: each
in a thread of its own, with its own application context and database session, on the suite's database (a SQLite
file with a busy timeout, or PostgreSQL). A barrier holds both until each has found the link valid, so both go on to
write; the database lets exactly one through and the other gets the coded refusal.

Links covered: staff and member invitations, membership invitations (accept or decline), password reset links and
sign-up links. Not single-use, by design: unsubscribe links (they switch an email kind off; again is the same) and
complaint follow links (they show a complaint's progress, as often as the person looks).
"""
from __future__ import annotations

import re
import threading

import pytest

from volunteer_registry.accounts import services as account_services
from volunteer_registry.accounts.models import ApiToken, User
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.errors import DomainError
from volunteer_registry.extensions import db
from volunteer_registry.organizations import services as org_services
from volunteer_registry.organizations.models import Membership, StaffRole

from .conftest import PASSWORD

TIMEOUT = 20  # seconds, for every wait


def at_the_same_moment(app, actions, monkeypatch, module, checkpoint: str) -> list:
    """Run each of ``actions`` (a function of no arguments) in a thread of its own, in its own application context,
    committing what it did. ``module.checkpoint`` (a function the action calls once it has found the link valid and
    before it writes) is wrapped so that every thread waits there for the others. Returns, per action, ("ok", value)
    or ("refused", code) or ("error", the exception's type name)."""
    barrier = threading.Barrier(len(actions), timeout=TIMEOUT)
    original = getattr(module, checkpoint)
    local = threading.local()

    def wait_for_the_others(*args, **kwargs):
        result = original(*args, **kwargs)
        if getattr(local, "racing", False) and not getattr(local, "waited", False):
            local.waited = True
            barrier.wait()
        return result

    monkeypatch.setattr(module, checkpoint, wait_for_the_others)
    outcomes: list = [None] * len(actions)

    def run(index: int):
        local.racing = True
        with app.app_context():
            try:
                value = actions[index]()
                db.session.commit()
                outcomes[index] = ("ok", value)
            except DomainError as error:
                db.session.rollback()
                outcomes[index] = ("refused", error.code)
            except Exception as error:  # noqa: BLE001  (reported, and the test fails on it)
                db.session.rollback()
                outcomes[index] = ("error", f"{type(error).__name__}: {error}")
                barrier.abort()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    db.session.expire_all()
    return outcomes


def _count(model, *where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def _kinds(outcomes) -> list:
    return sorted(kind for kind, _value in outcomes)


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_two_people_accepting_one_staff_invitation_together_make_one_staff_member(app, make, monkeypatch, role):
    org = make.org()
    _invitation, token = org_services.create_invitation(make.org_admin_of(org), org, role)
    first, second = make.user(), make.user()
    ids = (first.id, second.id)
    db.session.commit()

    def accept(user_id):
        return lambda: org_services.accept_invitation(db.session.get(User, user_id), token).id

    outcomes = at_the_same_moment(app, [accept(ids[0]), accept(ids[1])], monkeypatch, org_services,
                                  "find_invitation")
    assert _kinds(outcomes) == ["ok", "refused"], outcomes
    assert [value for kind, value in outcomes if kind == "refused"] == ["invitation_invalid"]
    assert _count(StaffRole, StaffRole.organization_id == org.id, StaffRole.user_id.in_(ids)) == 1
    assert _count(AuditEvent, AuditEvent.action == "invitation.accepted") == 1


def test_two_people_accepting_one_member_invitation_together_make_one_member(app, make, monkeypatch):
    org = make.org(join_mode="invitation")
    _invitation, token = org_services.create_invitation(make.org_admin_of(org), org, "member")
    first, second = make.volunteer(), make.volunteer()
    users = (first.user_id, second.user_id)
    db.session.commit()

    def accept(user_id):
        return lambda: org_services.accept_invitation(db.session.get(User, user_id), token).id

    outcomes = at_the_same_moment(app, [accept(users[0]), accept(users[1])], monkeypatch, org_services,
                                  "find_invitation")
    assert _kinds(outcomes) == ["ok", "refused"], outcomes
    assert [value for kind, value in outcomes if kind == "refused"] == ["invitation_invalid"]
    assert _count(Membership, Membership.organization_id == org.id, Membership.status == "active") == 1


def test_accepting_and_declining_a_membership_invitation_together_records_one_answer(app, make, monkeypatch):
    org = make.org()
    volunteer = make.volunteer()
    membership, outcome = org_services.invite_member(make.org_admin_of(org), org, volunteer)
    assert outcome == "invited"
    ids = (volunteer.user_id, membership.id)
    db.session.commit()

    def answer(function):
        return lambda: function(db.session.get(User, ids[0]), db.session.get(Membership, ids[1])).status

    outcomes = at_the_same_moment(
        app, [answer(org_services.accept_membership_invitation), answer(org_services.decline_membership_invitation)],
        monkeypatch, org_services, "_open_invitation_of")
    assert _kinds(outcomes) == ["ok", "refused"], outcomes
    [(_kind, status)] = [outcome for outcome in outcomes if outcome[0] == "ok"]
    assert [value for kind, value in outcomes if kind == "refused"] == ["membership_not_invited"]
    assert db.session.get(Membership, ids[1]).status == status
    answers = _count(AuditEvent, AuditEvent.action.in_(("membership.invitation_accepted",
                                                        "membership.invitation_declined")))
    assert answers == 1


def test_two_resets_with_one_link_together_set_one_password(app, make, monkeypatch):
    user = make.user("twice@example.org")
    token = account_services.make_reset_token(user)
    db.session.commit()
    passwords = ("first new password", "second new password")

    def reset(password):
        return lambda: account_services.reset_password_by_link(token, password).id

    outcomes = at_the_same_moment(app, [reset(passwords[0]), reset(passwords[1])], monkeypatch, account_services,
                                  "check_password_strength")
    assert _kinds(outcomes) == ["ok", "refused"], outcomes
    assert [value for kind, value in outcomes if kind == "refused"] == ["reset_link_invalid"]
    winner = passwords[[kind for kind, _value in outcomes].index("ok")]
    loser = passwords[1 - passwords.index(winner)]
    assert account_services.authenticate("twice@example.org", winner).id == user.id
    with pytest.raises(account_services.AccountError):
        account_services.authenticate("twice@example.org", loser)
    changed = db.session.scalars(db.select(AuditEvent.details).where(AuditEvent.action == "account.password_changed"))
    assert len(changed.all()) == 1


def test_two_accounts_from_one_signup_link_together_make_one_account(app, monkeypatch):
    app.test_client().post("/signup", data={"identifier": "together@example.org"})
    token = app.extensions["outbox"][0].body.split("/signup/")[1].split()[0]

    def finish():
        return account_services.create_account_by_link(token, PASSWORD)[0].id

    outcomes = at_the_same_moment(app, [finish, finish], monkeypatch, account_services, "_hash_password")
    assert _kinds(outcomes) == ["ok", "refused"], outcomes
    assert [value for kind, value in outcomes if kind == "refused"] == ["signup_link_used"]
    assert _count(User, User.email == "together@example.org") == 1


def test_a_reset_revokes_every_api_token_when_ticked_and_none_when_not(client, make):
    ticked, unticked = make.user("tokens@example.org"), make.user("keep@example.org")
    for user in (ticked, unticked):
        account_services.create_api_token(user, "scanner")
        account_services.create_api_token(user, "script")
    _token, kept = account_services.create_api_token(unticked, "tablet")
    db.session.commit()
    page = client.get(f"/password/reset/{account_services.make_reset_token(ticked)}").get_data(as_text=True)
    [checkbox] = re.findall(r'<input[^>]*name="revoke_tokens"[^>]*>', page)
    assert "checked" in checkbox and "Also revoke every API token" in page  # ticked unless the person unticks it
    form = {"password": "a brand new password", "confirm": "a brand new password"}
    response = client.post(f"/password/reset/{account_services.make_reset_token(ticked)}",
                           data={**form, "revoke_tokens": "y"})
    assert response.status_code == 302
    assert _count(ApiToken, ApiToken.user_id == ticked.id, ApiToken.revoked_at.is_(None)) == 0
    assert _count(AuditEvent, AuditEvent.action == "api_token.revoked") == 2
    response = client.post(f"/password/reset/{account_services.make_reset_token(unticked)}", data=form)
    assert response.status_code == 302
    assert _count(ApiToken, ApiToken.user_id == unticked.id, ApiToken.revoked_at.is_(None)) == 3
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {kept}"}).status_code == 200
