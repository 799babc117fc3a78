"""The whole product in Chromium, the way its people use it, each in a browser of their own (phones for the
volunteer and the verifier):

an organization applies and a platform admin approves it; a coordinator publishes an activity; a volunteer
registers, signs up, and on the day opens the kiosk QR's URL (decoded by ``zbarimg`` from a screenshot of the kiosk
page, as a phone's camera would) to check in, and again two hours later to check out; the coordinator approves the
hours; the org admin issues a certificate; a verifier opens the URL of the certificate's QR code (decoded from the
PDF, rendered by ``pdftoppm``) and sees it valid, and after the org admin revokes it, revoked.

The clock is moved with time-machine (the app runs in this process) from the sign-up to the activity's start and
on to the check-out; the browsers keep real time. A screenshot of every step is kept in ``test-artifacts/journey/``.
"""
from __future__ import annotations

import datetime as dt
import re
import subprocess
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import current_app

from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.organizations.models import Organization, StaffRole
from volunteer_registry.timeutil import LOCAL_ZONE

from ..conftest import PASSWORD, valid_credit_code, valid_resident_id
from .journeys import DESKTOP, PHONE, ROOT, Journey, decode_qr, fresh, sign_in

time_machine = pytest.importorskip("time_machine", reason="pip install -r requirements.txt")
expect = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.txt").expect

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts" / "journey"
ORG_NAME = "玉树州结古镇青年志愿者协会"
ACTIVITY = "结古寺广场清洁"


def sign_up(page, identifier: str) -> None:
    """Sign up as a person does: the address, then the link the message brings (read from the test outbox), then the
    password."""
    page.goto("/signup")
    page.fill("input[name=identifier]", identifier)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/signup/sent$"))
    [message] = [m for m in current_app.extensions["outbox"] if m.to == identifier.replace(" ", "")][-1:]
    page.goto(urlsplit(re.search(r"https?://\S+/signup/\S+", message.body).group(0)).path)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def local_input(moment: dt.datetime) -> str:
    """A datetime-local input's value, in Beijing time."""
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def journey(browser, live_server):
    journey = Journey(browser, live_server, ARTIFACTS)
    try:
        yield journey
    finally:
        journey.close()


def test_from_an_organizations_application_to_a_revoked_certificate(journey, make, tmp_path):
    platform = make.user("chief@example.org", admin=True)
    coordinator = make.user("coordinator@example.org")
    db.session.commit()
    # 09:00 in Beijing tomorrow: the day of the sign-up; the activity starts an hour later
    start_of_day = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(9), LOCAL_ZONE)
    with time_machine.travel(start_of_day, tick=True) as clock:
        # 1. an organization applies ...
        applicant = journey.person(DESKTOP)
        sign_up(applicant, "dorje@example.org")
        applicant.goto("/organizations/apply")
        applicant.fill("input[name=name]", ORG_NAME)
        applicant.select_option("select[name=org_type]", "social_group")
        applicant.fill("input[name=credit_code]", valid_credit_code(region="632701"))
        applicant.select_option("select[name=region_code]", "632701")
        applicant.fill("input[name=address]", "结古镇扎西科路 8 号")
        applicant.fill("input[name=person_in_charge]", "才仁多杰")
        applicant.fill("input[name=contact_phone]", "13909760000")
        applicant.fill("input[name=contact_email]", "team@example.org")
        applicant.check("input[name=join_mode][value=open]")
        journey.shot(applicant, "organization-applies")
        applicant.click("main form button[type=submit]")
        expect(applicant.locator("h1")).to_contain_text(ORG_NAME)
        journey.shot(applicant, "application-waiting")
        [(org_code, status)] = fresh(sa.select(Organization.code, Organization.status)
                                     .where(Organization.name == ORG_NAME))
        assert status == "pending"

        # ... and a platform admin approves it
        clerk = journey.person(DESKTOP)
        sign_in(clerk, platform.email)
        clerk.goto("/admin/organizations")
        clerk.click(f"a:has-text('{ORG_NAME}')")
        clerk.select_option("select[name=decision]", "approve")
        journey.shot(clerk, "clerk-approves")
        clerk.click("button:has-text('Record the decision')")
        expect(clerk.locator("main")).to_contain_text("Approved")
        assert fresh(sa.select(Organization.status).where(Organization.code == org_code)) == [("approved",)]
        org_id = fresh(sa.select(Organization.id).where(Organization.code == org_code))[0][0]
        # the org admin gives the coordinator the role (an invitation link, in the product; see test_invitations)
        db.session.add(StaffRole(organization_id=org_id, user_id=coordinator.id, role="coordinator"))
        db.session.commit()

        # 2. a coordinator publishes an activity: 10:00 to 14:00
        staff = journey.person(DESKTOP)
        sign_in(staff, coordinator.email)
        staff.goto(f"/organizations/{org_code}/activities/new")
        staff.fill("input[name=title]", ACTIVITY)
        staff.select_option("select[name=category]", "environment")
        staff.fill("input[name=recipient]", "结古镇居民")
        begins = start_of_day + dt.timedelta(hours=1)
        staff.fill("input[name=starts_at]", local_input(begins))
        staff.fill("input[name=ends_at]", local_input(begins + dt.timedelta(hours=4)))
        staff.select_option("select[name=region_code]", "632701")
        staff.fill("input[name=address]", "结古寺广场")
        staff.fill("input[name=person_in_charge]", "才仁多杰")
        staff.click("main form button[type=submit]")
        expect(staff.locator("h1")).to_contain_text(ACTIVITY)
        activity_path = staff.url.removeprefix(journey.base)
        staff.click("button:has-text('Publish')")
        expect(staff.locator("h1")).not_to_contain_text("Draft")
        journey.shot(staff, "activity-published")

        # 3. a volunteer registers on their phone and signs up
        phone = journey.person(PHONE)
        sign_up(phone, "13897650001")
        expect(phone).to_have_url(re.compile(r"/volunteer/profile"))
        phone.fill("input[name=name]", "卓玛")
        phone.check("input[name=gender][value=female]")
        phone.fill("input[name=birth_date]", "1998-04-12")
        phone.fill("input[name=id_number]", valid_resident_id(region="632701", birth=dt.date(1998, 4, 12),
                                                               gender="female"))
        phone.fill("input[name=phone]", "13897650001")
        phone.select_option("select[name=region_code]", "632701")
        phone.check("input[name=consent]")
        journey.shot(phone, "volunteer-registers")
        phone.click("main form button[type=submit]")
        phone.goto("/activities")
        phone.click(f"a:has-text('{ACTIVITY}')")
        phone.click("button:has-text('Sign up')")
        expect(phone.locator("#signup")).to_contain_text("Accepted")
        journey.shot(phone, "volunteer-signed-up")

        # 4. on the day: the kiosk shows its QR; the volunteer's phone reads it and checks in
        clock.shift(dt.timedelta(hours=1, minutes=2))
        staff.goto(f"{activity_path}/kiosk")
        qr = journey.shot(staff.locator("#kiosk-qr"), "kiosk-qr")
        url = decode_qr(qr)
        assert url.startswith(journey.base + "/k/"), url
        phone.goto(url)
        journey.shot(phone, "kiosk-link-opened")
        phone.click("button.tap__button")
        expect(phone.locator("main")).to_contain_text("Checked in")
        journey.shot(phone, "checked-in")

        # two hours later, the kiosk's code has changed; read again, check out
        clock.shift(dt.timedelta(hours=2))
        staff.goto(f"{activity_path}/kiosk")
        later = decode_qr(journey.shot(staff.locator("#kiosk-qr"), "kiosk-qr-later"))
        assert later != url
        phone.goto(later)
        phone.click("button.tap__button")
        expect(phone.locator("main")).to_contain_text("Checked out")
        journey.shot(phone, "checked-out")
        [(entry_id, minutes, status)] = fresh(sa.select(LedgerEntry.id, LedgerState.minutes, LedgerState.status)
                                              .join(LedgerState, LedgerState.entry_id == LedgerEntry.id))
        assert (minutes, status) == (120, "pending")

        # 5. the coordinator approves the hours
        staff.goto(f"/organizations/{org_code}/entries")
        staff.check(f"#pick-{entry_id}")
        journey.shot(staff, "coordinator-approves")
        staff.click("button:has-text('Approve checked')")
        expect(staff.locator("main")).to_contain_text("Approved")
        assert fresh(sa.select(LedgerState.status).where(LedgerState.entry_id == entry_id)) == [("approved",)]

        # 6. the org admin sets the name printed as the certificate's handler, ticks the volunteer, checks who,
        # which period and how many hours, and issues the certificate
        applicant.goto("/account")
        applicant.fill("input[name=display_name]", "才仁多杰")
        applicant.click("main form:has(input[name=display_name]) button[type=submit]")
        applicant.goto(f"/organizations/{org_code}/certificates/issue")
        today = dt.datetime.now(LOCAL_ZONE).date()
        applicant.fill("input[name=period_start]", today.replace(day=1).isoformat())
        applicant.fill("input[name=period_end]", today.isoformat())
        applicant.click("button:has-text('Show volunteers')")
        expect(applicant.locator("main")).to_contain_text("卓玛")
        applicant.check("main table input[name=volunteers]")
        applicant.click("button:has-text('Continue')")
        expect(applicant.locator("main")).to_contain_text("Check before issuing")
        expect(applicant.locator("main")).to_contain_text("2.0 h")
        journey.shot(applicant, "certificate-check")
        applicant.click("button:has-text('Issue 1 certificate')")
        expect(applicant.locator("main")).to_contain_text("1 certificate issued")
        journey.shot(applicant, "certificate-issued")

        # 7. the volunteer downloads it; a verifier reads its QR code from the paper
        phone.goto("/volunteer/certificates")
        with phone.expect_download() as download:
            phone.click("a:has-text('PDF')")
        pdf = tmp_path / "certificate.pdf"
        download.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF-")
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                       check=True, timeout=60)
        [rendered] = tmp_path.glob("page*.png")
        verify_url = decode_qr(rendered)
        assert re.match(r"HTTPS?://127\.0\.0\.1:\d+/V/", verify_url, re.IGNORECASE), verify_url
        verifier = journey.person(PHONE)
        verifier.goto(verify_url)
        expect(verifier.locator(".verdict")).to_contain_text("Authentic and valid")
        expect(verifier.locator("main")).to_contain_text(ORG_NAME)
        journey.shot(verifier, "verifier-sees-valid")

        # 8. the org admin revokes it; the same QR code now says revoked
        applicant.goto(f"/organizations/{org_code}/certificates")
        applicant.click("main table a[href^='/certificates/']")
        applicant.fill("form[action$='/revoke'] [name=reason]", "Issued for the wrong period")
        applicant.click("form[action$='/revoke'] button[type=submit]")
        expect(applicant.locator("main")).to_contain_text("Revoked")
        verifier.goto(verify_url)
        expect(verifier.locator(".verdict")).to_contain_text("Authentic, but revoked")
        expect(verifier.locator(".verdict")).to_contain_text("Issued for the wrong period")
        journey.shot(verifier, "verifier-sees-revoked")
    shots = sorted(path.name for path in ARTIFACTS.glob("*.png"))
    assert len(shots) == journey.step and all((ARTIFACTS / name).stat().st_size > 5_000 for name in shots)
    print(f"journey: {journey.step} screenshots in {ARTIFACTS.relative_to(ROOT)}/")
