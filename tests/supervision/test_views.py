"""Supervision's pages: civil affairs' queue, checks and complaints; the public checks page and the complaint flow,
with no personal data on what the public sees."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from volunteer_registry.certificates.models import Certificate
from volunteer_registry.certificates.tokens import token_text
from volunteer_registry.extensions import db
from volunteer_registry.ledger.log import extend_log
from volunteer_registry.ledger.models import LedgerState
from volunteer_registry.models import utcnow
from volunteer_registry.supervision.models import Complaint, SpotCheck, SpotCheckItem
from volunteer_registry.supervision.services import start_spot_check
from volunteer_registry.volunteers.identity import mask_name
from volunteer_registry.volunteers.vault import decrypt_id_number

from ..conftest import Factory, build_app, login, serve
from .conftest import VOLUNTEER_NAME, add_entry

ADMIN_PAGES = ["/admin/supervision", "/admin/supervision/spot-checks", "/admin/supervision/complaints",
               "/admin/supervision/organizations/{org}"]


def text(response) -> str:
    return response.get_data(as_text=True)


def sample_ids(check):
    items = db.session.scalars(sa.select(SpotCheckItem).where(SpotCheckItem.spot_check_id == check.id)).all()
    return ([i.entry_id for i in items if i.entry_id], [i.certificate_id for i in items if i.certificate_id])


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_are_civil_affairs_only(client, make, checked, platform, url):
    org = checked[0]
    url = url.format(org=org.code)
    assert client.get(url).status_code == 302  # to sign in
    users = (make.org_admin_of(org), make.coordinator(org), make.account_of(checked[1][0]), make.user())
    db.session.commit()
    for user in users:
        login(client, user)
        assert client.get(url).status_code == 403, user
    login(client, platform)
    assert client.get(url).status_code == 200


def test_admin_writes_are_civil_affairs_only(client, make, checked, platform):
    org = checked[0]
    check = start_spot_check(platform, org, certificates=1, entries=1)
    db.session.commit()
    login(client, make.org_admin_of(org))
    assert client.post(f"/admin/supervision/organizations/{org.code}/spot-checks",
                       data={"certificates": "1", "entries": "1"}).status_code == 403
    assert client.post(f"/admin/supervision/spot-checks/{check.code}/outcome",
                       data={"outcome": "confirmed"}).status_code == 403
    assert client.post("/admin/supervision/scan").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SpotCheck)) == 1
    assert db.session.get(SpotCheck, check.id).status == "open"


def test_the_risk_queue_leads_to_the_entries_of_a_signal(client, make, checked, platform):
    org, volunteers = checked[0], checked[1]
    day = utcnow().date()
    add_entry(org, volunteers[2], day, 60, source="offline")
    extend_log()
    db.session.commit()
    login(client, platform)
    page = text(client.get("/admin/supervision"))
    assert "No signals." in page and "Never scanned yet." in page and "ledger entries not yet scanned" in page
    response = client.post("/admin/supervision/scan")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/supervision")
    page = text(client.get("/admin/supervision"))
    assert "Back-dated or offline sessions" in page and org.name in page and "Every entry in the log is scanned" in page
    link = re.search(r'href="(/admin/supervision/signals/\d+)"', page).group(1)
    detail = text(client.get(link))
    assert volunteers[2].volunteer_number in detail and "Spot-check this organization" in detail
    assert text(client.get("/admin/supervision?kind=long_day")).count("See the entries") == 0
    assert client.get("/admin/supervision?page=0").status_code == 400
    assert client.get("/admin/supervision/signals/999999").status_code == 404


def test_starting_a_check_from_the_organizations_page(client, checked, platform):
    org = checked[0]
    login(client, platform)
    page = text(client.get(f"/admin/supervision/organizations/{org.code}"))
    assert 'name="certificates"' in page and 'value="10"' in page and 'value="20"' in page
    response = client.post(f"/admin/supervision/organizations/{org.code}/spot-checks",
                           data={"certificates": "2", "entries": "3"})
    assert response.status_code == 302
    check = db.session.scalar(sa.select(SpotCheck))
    assert response.headers["Location"].endswith(f"/admin/supervision/spot-checks/{check.code}")
    assert [len(ids) for ids in sample_ids(check)] == [3, 2]
    page = text(client.get(f"/admin/supervision/spot-checks/{check.code}"))
    assert page.count('name="annul"') == 3 and page.count('name="revoke"') == 2


@pytest.mark.parametrize(("data", "message"), [
    ({"certificates": "-1", "entries": "3"}, "Number must be between 0 and 200."),
    ({"certificates": "2", "entries": "abc"}, "Not a valid integer value."),
    ({"certificates": "0", "entries": "0"}, "Draw at least one certificate or one entry."),
])
def test_a_refused_start_shows_its_reason(client, checked, platform, data, message):
    org = checked[0]
    login(client, platform)
    response = client.post(f"/admin/supervision/organizations/{org.code}/spot-checks", data=data)
    assert response.status_code == 422 and message in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SpotCheck)) == 0


def test_nothing_to_check(client, make, platform):
    org = make.org()
    db.session.commit()
    login(client, platform)
    response = client.post(f"/admin/supervision/organizations/{org.code}/spot-checks",
                           data={"certificates": "10", "entries": "20"})
    assert response.status_code == 422 and "nothing of that kind to check" in text(response)


def test_recording_a_problem_annuls_and_revokes_and_is_published_without_personal_data(client, checked,
                                                                                        platform):
    org, volunteers, _entries, _certificates = checked
    check = start_spot_check(platform, org, certificates=12, entries=27)  # everything: every volunteer drawn
    db.session.commit()
    entry_ids, certificate_ids = sample_ids(check)
    login(client, platform)
    page = text(client.get(f"/admin/supervision/spot-checks/{check.code}"))
    assert volunteers[0].volunteer_number in page  # civil affairs sees whom it checks
    refused = client.post(f"/admin/supervision/spot-checks/{check.code}/outcome",
                          data={"outcome": "problem", "description": "", "annul": entry_ids[:1]})
    assert refused.status_code == 422 and "Describe the problem you found." in text(refused)
    response = client.post(f"/admin/supervision/spot-checks/{check.code}/outcome", data={
        "outcome": "problem", "description": f"{VOLUNTEER_NAME}'s sessions were never served.",
        "reason": "Spot check by civil affairs: not served", "annul": entry_ids[:2], "revoke": certificate_ids[:1]})
    assert response.status_code == 302
    assert [db.session.get(LedgerState, i).status for i in entry_ids[:2]] == ["annulled", "annulled"]
    assert db.session.get(LedgerState, entry_ids[2]).status == "approved"
    assert db.session.get(Certificate, certificate_ids[0]).status == "revoked"
    assert db.session.get(SpotCheck, check.id).status == "problem"

    client.post("/logout")
    public = client.get(f"/organizations/{org.code}/spot-checks")
    assert public.status_code == 200
    body = text(public)
    assert "Problem found" in body and "2 records annulled" in body and "1 certificate revoked" in body
    assert "12 certificates" in body and "27 service records" in body
    for volunteer in volunteers:
        assert volunteer.name not in body and volunteer.volunteer_number not in body
        assert mask_name(volunteer.name) not in body
        number = decrypt_id_number(volunteer.id_number_encrypted)
        assert number not in body and volunteer.id_number_masked not in body
    assert "never served" not in body  # the description stays with civil affairs
    assert check.code not in body


def test_an_open_check_is_not_published(client, checked, platform):
    org = checked[0]
    start_spot_check(platform, org)
    db.session.commit()
    assert "No spot check of this organization has been published." in text(
        client.get(f"/organizations/{org.code}/spot-checks"))


def test_the_organizations_public_page_links_to_its_checks_and_to_complaints(client, checked):
    org = checked[0]
    body = text(client.get(f"/organizations/{org.code}"))
    assert f"/organizations/{org.code}/spot-checks" in body and f"/complaints/organization/{org.code}" in body


# --- complaints -----------------------------------------------------------------------------------------------------

def test_a_complaint_from_the_verification_page_and_its_follow_link(client, checked, platform):
    certificate = checked[3][0]
    verify = client.get(f"/V/{token_text(certificate.token)}")
    assert verify.status_code == 200
    form_url = f"/complaints/certificate/{certificate.code}"
    assert form_url in text(verify)

    page = text(client.get(form_url))
    assert certificate.number in page and 'name="message"' in page and 'name="contact"' in page
    empty = client.post(form_url, data={"message": "   ", "contact": ""})
    assert empty.status_code == 422 and 'id="message-error"' in text(empty)
    long = client.post(form_url, data={"message": "x" * 4001, "contact": ""})
    assert long.status_code == 422 and "4000" in text(long)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 0

    filed = client.post(form_url, data={"message": "I never met this volunteer.", "contact": "parent@example.org"})
    assert filed.status_code == 302
    complaint = db.session.scalar(sa.select(Complaint))
    follow = filed.headers["Location"]
    assert follow.endswith(f"/complaints/{complaint.code}")
    page = client.get(follow)
    assert page.status_code == 200 and "Received" in text(page) and "No response yet" in text(page)
    assert complaint.code in text(page) and "parent@example.org" not in text(page)
    assert page.headers["Cache-Control"] == "private, no-store" and page.headers["Referrer-Policy"] == "no-referrer"

    assert client.get("/complaints/" + "3" * 20).status_code == 404
    assert client.get(f"/complaints/{complaint.code[:-1]}").status_code == 404

    login(client, platform)
    listing = text(client.get("/admin/supervision/complaints?status=open"))
    assert certificate.number in listing
    admin_page = text(client.get(f"/admin/supervision/complaints/{complaint.id}"))
    assert "parent@example.org" in admin_page and "I never met this volunteer." in admin_page
    refused = client.post(f"/admin/supervision/complaints/{complaint.id}", data={"status": "closed", "response": ""})
    assert refused.status_code == 422 and "needs a response" in text(refused)
    answered = client.post(f"/admin/supervision/complaints/{complaint.id}",
                           data={"status": "closed", "response": "The certificate has been revoked."})
    assert answered.status_code == 302
    client.post("/logout")
    page = text(client.get(follow))
    assert "Closed" in page and "The certificate has been revoked." in page


def test_a_complaint_about_an_organizations_recording(client, checked):
    org = checked[0]
    response = client.post(f"/complaints/organization/{org.code}",
                           data={"message": "They record hours for days the centre was closed."})
    assert response.status_code == 302
    complaint = db.session.scalar(sa.select(Complaint))
    assert (complaint.subject, complaint.organization_id, complaint.certificate_id) == ("organization", org.id, None)
    assert client.get("/complaints/organization/NOSUCHORG").status_code == 404
    assert client.get("/complaints/certificate/NOSUCHCERT").status_code == 404


def test_complaints_are_rate_limited(tmp_path):
    for app in serve(build_app(tmp_path, COMPLAINT_RATE_LIMIT="2 per minute")):
        org = Factory(app).org()
        db.session.commit()
        client = app.test_client()
        url = f"/complaints/organization/{org.code}"
        statuses = [client.post(url, data={"message": f"complaint {i}"}).status_code for i in range(3)]
        assert statuses == [302, 302, 429]
        assert client.get(url).status_code == 200  # reading the form is not limited
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 2
