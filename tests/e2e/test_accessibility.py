"""Accessibility of the main pages of every role, checked by axe-core in Chromium at a phone's width and at a
desktop's: no violation of WCAG 2.0 and 2.1, levels A and AA, that axe rates serious or critical.

axe-core is the release pinned in ./manage (AXE_CORE_VERSION, with the npm registry's sha512 integrity), which
`./manage setup` downloads to .cache/. The pages are those of a small organization built through the services: an
org admin, a coordinator, a volunteer with approved and pending hours, a sign-up and a certificate, a platform
admin with an application to review. Each role signs in through the real form.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from volunteer_registry.activities.services import sign_up
from volunteer_registry.certificates.services import issue_certificate, today
from volunteer_registry.certificates.tokens import token_text
from volunteer_registry.extensions import db
from volunteer_registry.ledger.services import decide_entries, record_missing_service
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.services import apply_for_membership, decide_membership

from ..conftest import PASSWORD

pytestmark = pytest.mark.slow  # a live server and a browser

#: the release ./manage setup installs (AXE_CORE_VERSION there); the tests check the script is that release
AXE_CORE_VERSION = "4.14.1"
AXE_SOURCE = Path(__file__).resolve().parents[2] / ".cache" / f"axe-core-{AXE_CORE_VERSION}" / "axe.min.js"

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe.min.js; missing, the test fails (a skip would let a run look green without checking anything)."""
    if not AXE_SOURCE.is_file():
        pytest.fail(f"{AXE_SOURCE} is missing: run ./manage setup (./manage test does) to download axe-core "
                    f"{AXE_CORE_VERSION}")
    return AXE_SOURCE.read_text(encoding="utf-8")


@pytest.fixture
def organization(make):
    """One approved organization and its people: the org admin, a coordinator, a volunteer member with 3 h of
    approved service, 2 h waiting for approval, an accepted sign-up and a certificate; a platform admin with
    another organization's application waiting for review."""
    org = make.org(name="西宁市城东区青年志愿者协会", person_in_charge="马丽")
    admin = make.org_admin_of(org)
    admin.display_name = "马晓东"  # a certificate prints its handler's name
    coordinator = make.coordinator(org)
    person = make.user()
    volunteer = make.volunteer(person, name="卓玛")
    decide_membership(coordinator, apply_for_membership(person, org), approve=True)

    now = utcnow().replace(microsecond=0)
    running = make.activity(org, title="社区服务站日常值班", allows_walk_ins=True)
    upcoming = make.activity(org, title="湟水河岸清洁", starts_at=now + dt.timedelta(days=2),
                             ends_at=now + dt.timedelta(days=2, hours=3), signup_mode="auto")
    other = make.activity(org, title="社区图书角", category="education", starts_at=now + dt.timedelta(days=3),
                          ends_at=now + dt.timedelta(days=3, hours=2))
    past = make.activity(org, title="敬老院探访", starts_at=now - dt.timedelta(days=20),
                         ends_at=now + dt.timedelta(days=1))
    served = (now - dt.timedelta(days=10)).replace(hour=2, minute=0, second=0)
    entry = record_missing_service(coordinator, past, volunteer.id, served, served + dt.timedelta(hours=3),
                                   "paper sign-in sheet")
    decide_entries(admin, org, [entry.id], "approve")
    waiting = now - dt.timedelta(days=2)
    record_missing_service(coordinator, past, volunteer.id, waiting, waiting + dt.timedelta(hours=2),
                           "paper sign-in sheet")
    sign_up(person, upcoming)
    certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today(), render=False)

    platform = make.admin()
    make.org(name="湟中区鲁沙尔镇老年协会", status="pending")
    db.session.commit()
    return {"org": org.code, "running": running.code, "upcoming": upcoming.code, "other": other.code,
            "certificate": certificate.code, "verify_link": "/V/" + token_text(certificate.token),
            "accounts": {"volunteer": person.email, "coordinator": coordinator.email, "org admin": admin.email,
                         "platform admin": platform.email}}


def pages_of(role: str, o: dict) -> list[str]:
    """The main pages of ``role`` in ``o`` (the organization fixture)."""
    org = o["org"]
    return {
        "anonymous": ["/", "/login", "/signup", "/organizations", f"/organizations/{org}", "/activities",
                      f"/activities/{o['other']}", "/verify", o["verify_link"]],
        "volunteer": ["/", "/volunteer", "/volunteer/profile", "/volunteer/card", "/volunteer/hours",
                      "/volunteer/certificates", f"/certificates/{o['certificate']}", "/activities",
                      f"/activities/{o['upcoming']}", f"/activities/{o['other']}", "/organizations/mine",
                      "/notifications", "/account"],
        "coordinator": ["/", f"/organizations/{org}/manage", f"/activities/{o['running']}",
                        f"/activities/{o['running']}/scanner", f"/activities/{o['running']}/kiosk",
                        f"/activities/{o['running']}/day", f"/organizations/{org}/entries"],
        "org admin": [f"/organizations/{org}/dashboard", f"/organizations/{org}/certificates",
                      f"/organizations/{org}/members", f"/organizations/{org}/activities"],
        "platform admin": ["/", "/admin/organizations", "/platform/dashboard"],
    }[role]


def sign_in(page, identifier: str) -> None:
    """Through the real form, as a person would."""
    page.goto("/login")
    page.fill("input[name=identifier]", identifier)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def blocking_violations(page, axe_source: str) -> list[dict]:
    """axe's violations of WCAG 2.0/2.1 A and AA on the page as it is now, those rated serious or critical.

    The script is evaluated through the DevTools protocol (page.evaluate), which the page's CSP does not govern;
    a <script> tag would be refused, and rightly."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    assert page.evaluate("() => axe.version") == AXE_CORE_VERSION
    results = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
                            " resultTypes: ['violations']})", WCAG_TAGS)
    return [v for v in results["violations"] if v["impact"] in BLOCKING]


def describe(found: dict[tuple[str, str], list[dict]]) -> str:
    lines = []
    for (viewport, path), violations in found.items():
        for v in violations:
            targets = ", ".join(" ".join(node["target"]) for node in v["nodes"][:3])
            more = f" (+{len(v['nodes']) - 3} more)" if len(v["nodes"]) > 3 else ""
            lines.append(f"{path} [{viewport}] {v['id']} ({v['impact']}): {v['help']} — {targets}{more}")
    return "\n".join(lines)


@pytest.mark.parametrize("role", ["anonymous", "volunteer", "coordinator", "org admin", "platform admin"])
def test_main_pages_have_no_serious_accessibility_violations(page, organization, axe_source, role):
    if role != "anonymous":
        sign_in(page, organization["accounts"][role])
    found = {}
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        for path in pages_of(role, organization):
            response = page.goto(path)
            assert response is not None and response.ok, f"{path}: {response and response.status}"
            assert response.request.redirected_from is None, f"{role} asked for {path}, was sent to {page.url}"
            violations = blocking_violations(page, axe_source)
            if violations:
                found[viewport, path] = violations
    assert not found, f"axe {AXE_CORE_VERSION} ({', '.join(WCAG_TAGS)}), {role}:\n" + describe(found)
