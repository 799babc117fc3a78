"""Supervision by civil affairs in Chromium on a phone (390 × 844): a platform admin scans the ledger into the risk
queue, opens a signal's entries, spot-checks the organization and records a problem (an entry annulled, a
certificate revoked), which the organization's public page then lists; a parent who holds the certificate files a
complaint from its verification page, follows it by its link, and reads civil affairs' answer there.

A screenshot of every step is kept in ``test-artifacts/supervision/``, and axe-core checks each of those pages
for serious or critical WCAG 2.1 A/AA violations (as test_accessibility.py does for the main pages).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from volunteer_registry.certificates.models import Certificate
from volunteer_registry.certificates.tokens import token_text
from volunteer_registry.extensions import db
from volunteer_registry.ledger.log import extend_log
from volunteer_registry.ledger.models import LedgerState
from volunteer_registry.supervision.models import Complaint, SpotCheck

from ..conftest import PASSWORD
from ..supervision.conftest import VOLUNTEER_NAME, add_entry, build_checked
from .conftest import TIMEOUT_MS
from .test_accessibility import AXE_SOURCE, blocking_violations

expect = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.txt").expect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "supervision"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


class Camera:
    """Screenshots of each step, and axe-core's serious or critical WCAG violations on each page shot."""

    def __init__(self):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()
        self.step = 0
        self.axe = AXE_SOURCE.read_text(encoding="utf-8") if AXE_SOURCE.is_file() else None
        self.violations: dict[str, list] = {}

    def shot(self, page, name: str) -> Path:
        self.step += 1
        path = ARTIFACTS / f"{self.step:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if self.axe:
            found = blocking_violations(page, self.axe)
            if found:
                self.violations[name] = [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in found]
        return path


def phone(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US", **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def sign_in(page, identifier: str) -> None:
    page.goto("/login")
    page.fill("input[name=identifier]", identifier)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def fresh(query):
    db.session.rollback()
    return db.session.execute(query).all()


@pytest.fixture
def supervised(make):
    """The checked organization of tests/supervision (27 approved entries, 12 certificates) with signals to find:
    offline sessions, a long day, an overlap."""
    world = build_checked(make)  # the same organization as the unit tests
    org, volunteers, _entries, _certificates = world
    day = dt.date.today() - dt.timedelta(days=2)
    add_entry(org, volunteers[1], day, 45, hour=7, source="offline", flags=["offline"])
    add_entry(org, volunteers[2], day, 50, hour=7, flags=["clock_skew"])
    add_entry(org, volunteers[3], day, 420, hour=6)
    add_entry(make.org(name="海东市乐都区志愿者协会"), volunteers[3], day, 360, hour=14)
    add_entry(org, volunteers[4], day - dt.timedelta(days=1), 90, flags=["overlap"], status="pending")
    extend_log()
    db.session.commit()
    return world


def test_civil_affairs_supervises_and_a_parent_complains(browser, live_server, make, supervised):
    org, volunteers, _entries, certificates = supervised
    make.user("chief@example.org", admin=True)
    db.session.commit()
    camera = Camera()
    clerk_context, parent_context = phone(browser, live_server), phone(browser, live_server)
    try:
        clerk = clerk_context.new_page()
        sign_in(clerk, "chief@example.org")

        # 1. the risk queue, brought up to date
        clerk.goto("/admin/supervision")
        expect(clerk.locator("main")).to_contain_text("not yet scanned")
        clerk.click("button:has-text('Scan now')")
        expect(clerk.locator(".flash")).to_contain_text("up to date")
        expect(clerk.locator("main table")).to_contain_text("Back-dated or offline sessions")
        expect(clerk.locator("main table")).to_contain_text("Long day")
        camera.shot(clerk, "risk-queue")

        # 2. a signal leads to its entries
        clerk.locator("tr", has_text="Back-dated or offline sessions").locator("a:has-text('See the entries')").click()
        expect(clerk.locator("h1")).to_contain_text("Back-dated or offline sessions")
        expect(clerk.locator("main")).to_contain_text(volunteers[1].volunteer_number)
        camera.shot(clerk, "signal-entries")

        # 3. the organization's supervision page: a spot check of 4 certificates and 6 entries
        clerk.click("a:has-text('Spot-check this organization')")
        clerk.fill("input[name=certificates]", "4")
        clerk.fill("input[name=entries]", "6")
        camera.shot(clerk, "organization-start-spot-check")
        clerk.click("button:has-text('Draw the sample')")
        expect(clerk.locator(".flash")).to_contain_text("4 certificates and 6 entries drawn")
        camera.shot(clerk, "spot-check-sample")

        # 4. a problem: one entry annulled, one certificate revoked, through the ledger
        clerk.locator("input[name=annul]").first.check()
        clerk.locator("input[name=revoke]").first.check()
        clerk.check("input[name=outcome][value=problem]")
        clerk.fill("textarea[name=description]", "The sign-in sheet for this session does not exist.")
        clerk.fill("input[name=reason]", "Spot check by civil affairs: service not shown")
        camera.shot(clerk, "spot-check-outcome-form")
        clerk.click("button:has-text('Record and publish')")
        expect(clerk.locator(".flash")).to_contain_text("recorded and published")
        expect(clerk.locator("main")).to_contain_text("1 entries annulled, 1 certificates revoked")
        camera.shot(clerk, "spot-check-recorded")
        [(check_id, status)] = fresh(sa.select(SpotCheck.id, SpotCheck.status))
        assert status == "problem"
        assert fresh(sa.select(sa.func.count()).select_from(LedgerState).where(
            LedgerState.status == "annulled")) == [(1,)]
        assert fresh(sa.select(sa.func.count()).select_from(Certificate).where(
            Certificate.status == "revoked")) == [(1,)]

        # 5. what everyone sees: the published outcome, without anyone's name or number
        parent = parent_context.new_page()
        parent.goto(f"/organizations/{org.code}")
        parent.click("a:has-text('Spot checks by civil affairs')")
        expect(parent.locator("main table")).to_contain_text("Problem found")
        expect(parent.locator("main table")).to_contain_text("1 record annulled")
        body = parent.locator("main").inner_text()
        assert VOLUNTEER_NAME not in body and all(v.volunteer_number not in body for v in volunteers)
        camera.shot(parent, "public-spot-checks")

        # 6. a parent checks a certificate and complains from its verification page
        certificate = db.session.get(Certificate, certificates[0].id)
        parent.goto(f"/V/{token_text(certificate.token)}")
        expect(parent.locator(".verdict")).to_be_visible()
        camera.shot(parent, "verification-page-report-link")
        parent.click("a:has-text('Report a problem with this certificate')")
        parent.click("button:has-text('Send to civil affairs')")  # nothing written: the form says what is missing
        expect(parent.locator("#message-error")).to_be_visible()
        camera.shot(parent, "complaint-form-error")
        parent.fill("textarea[name=message]", "My son was at school on those days; he never served there.")
        parent.fill("input[name=contact]", "13900001234")
        parent.click("button:has-text('Send to civil affairs')")
        expect(parent.locator("h1")).to_have_text("Your complaint")
        expect(parent.locator("main")).to_contain_text("Received")
        follow = parent.url
        assert re.search(r"/complaints/[A-Z0-9]{20}$", follow), follow
        camera.shot(parent, "complaint-follow-page")

        # 7. civil affairs answers; the follow link shows it
        [(complaint_id,)] = fresh(sa.select(Complaint.id))
        clerk.goto("/admin/supervision/complaints")
        clerk.click("main table a")
        expect(clerk.locator("main")).to_contain_text("13900001234")
        clerk.select_option("select[name=status]", "closed")
        clerk.fill("textarea[name=response]", "We checked the organization's sheets and revoked the certificate.")
        camera.shot(clerk, "admin-responds-to-complaint")
        clerk.click("button:has-text('Save')")
        expect(clerk.locator(".flash")).to_contain_text("updated")
        parent.goto(follow)
        expect(parent.locator("main")).to_contain_text("We checked the organization's sheets")
        expect(parent.locator("main")).to_contain_text("Closed")
        assert "13900001234" not in parent.locator("main").inner_text()
        camera.shot(parent, "complaint-follow-page-answered")
        parent.goto("/complaints/" + "3" * 20)
        expect(parent.locator("h1")).to_be_visible()
        assert complaint_id and check_id
    finally:
        clerk_context.close()
        parent_context.close()
    shots = sorted(ARTIFACTS.glob("*.png"))
    assert len(shots) == camera.step and all(path.stat().st_size > 5_000 for path in shots)
    assert camera.axe, f"{AXE_SOURCE} is missing: run ./manage setup"
    assert not camera.violations, camera.violations
