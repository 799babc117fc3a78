"""The certificate pages as their users go through them: a volunteer asks, an org admin issues (one by one or in
bulk), the volunteer downloads; an org admin uploads the seal."""
from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zlib

import sqlalchemy as sa
from PIL import Image

from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.certificates.models import Certificate, CertificateRequest
from volunteer_registry.certificates.services import issue_certificate, today
from volunteer_registry.extensions import db
from volunteer_registry.organizations.models import Organization
from volunteer_registry.volunteers.queries import volunteer_for_user

from ..conftest import login
from .conftest import approved_service


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def period(days: int = 30) -> dict:
    return {"period_start": (today() - dt.timedelta(days=days)).isoformat(), "period_end": today().isoformat()}


def test_a_volunteer_asks_the_admin_issues_and_the_volunteer_downloads(app, make, certified):
    org, admin, volunteer, _coordinator, _activities = certified
    volunteer_client, admin_client = app.test_client(), app.test_client()
    login(volunteer_client, make.account_of(volunteer))
    login(admin_client, admin)
    page = volunteer_client.get("/volunteer/certificates").get_data(as_text=True)
    assert "Ask for a certificate" in page and org.name in page  # the organization that recorded service
    response = volunteer_client.post("/volunteer/certificates/request",
                                     data={"organization": org.code, **period(), "note": "university"})
    assert response.status_code == 302
    request_row = db.session.scalar(sa.select(CertificateRequest))
    assert (request_row.status, request_row.note) == ("pending", "university")
    # the org admin sees it on the organization's certificates page, with a count on the manage page
    assert "Certificates <span class=\"badge badge--pending\">1</span>" in admin_client.get(
        f"/organizations/{org.code}/manage").get_data(as_text=True)
    listing = admin_client.get(f"/organizations/{org.code}/certificates").get_data(as_text=True)
    assert "Requests from volunteers" in listing and volunteer.volunteer_number in listing
    issued = admin_client.post(f"/organizations/{org.code}/certificates/requests/{request_row.id}/issue")
    assert issued.status_code == 302
    certificate = db.session.scalar(sa.select(Certificate))
    assert certificate is not None and certificate.minutes == 330
    db.session.refresh(request_row)
    assert request_row.status == "issued"
    mine = volunteer_client.get("/volunteer/certificates").get_data(as_text=True)
    assert certificate.number in mine and "Download PDF" in mine
    pdf = volunteer_client.get(f"/certificates/{certificate.code}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert f"certificate-{certificate.number}.pdf" in pdf.headers["Content-Disposition"]
    detail = volunteer_client.get(f"/certificates/{certificate.code}").get_data(as_text=True)
    assert "5.5 h" in detail and "湟水河清洁" in detail and "Revoke" not in detail


def test_a_request_with_nothing_to_certify_shows_why_and_keeps_nothing(app, make, certified):
    org, _admin, volunteer, _coordinator, _activities = certified
    client = app.test_client()
    login(client, make.account_of(volunteer))
    response = client.post("/volunteer/certificates/request", data={
        "organization": org.code, "period_start": "2020-01-01", "period_end": "2020-12-31", "note": ""})
    assert response.status_code == 422
    assert "no approved service recorded for this volunteer" in response.get_data(as_text=True)
    stranger_org = make.org()
    response = client.post("/volunteer/certificates/request", data={"organization": stranger_org.code, **period()})
    assert response.status_code == 422 and "Choose an organization from the list." in response.get_data(as_text=True)
    response = client.post("/volunteer/certificates/request", data={"organization": org.code,
                                                                    "period_start": "not a date",
                                                                    "period_end": today().isoformat()})
    assert response.status_code == 422 and "field--error" in response.get_data(as_text=True)
    assert count(CertificateRequest) == 0


def test_bulk_issuing_from_the_organization_page(app, make, certified):
    org, admin, zhuoma, coordinator, (river, _library) = certified
    tashi = make.volunteer(name="扎西")
    dawa = make.volunteer(name="达瓦")
    for volunteer, minutes in ((tashi, 240), (dawa, 60)):
        approved_service(make, river, volunteer, minutes, days_ago=6, recorder=coordinator, approver=admin)
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    url = f"/organizations/{org.code}/certificates/issue"
    listing = client.get(url, query_string=period())
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "卓玛" in html and "扎西" in html and "5.5 h" in html and "4.0 h" in html
    # nobody is ticked, not even by the "tick all" box
    assert re.findall(r'<input type="checkbox"[^>]*>', html) and " checked" not in html
    nothing = client.post(url, data=period())
    assert nothing.status_code == 422 and "Tick at least one volunteer." in nothing.get_data(as_text=True)
    # the first POST shows who, which period and how many hours each, and issues nothing
    ticked = {**period(), "volunteers": [zhuoma.id, tashi.id]}
    summary = client.post(url, data=ticked)
    page = summary.get_data(as_text=True)
    assert summary.status_code == 200 and "Check before issuing" in page and count(Certificate) == 0
    assert "卓玛" in page and "扎西" in page and "达瓦" not in page and "5.5 h" in page and "4.0 h" in page
    assert "2 certificates, 9.5 h in all" in page and "Issue 2 certificates" in page and "马晓东" in page
    start, end = today() - dt.timedelta(days=30), today()
    assert f"{start:%b} {start.day}, {start.year}" in page and f"{end:%b} {end.day}, {end.year}" in page
    shown = re.search(r'name="shown" type="hidden" value="([0-9a-f]+)"', page).group(1)
    # "change the selection" goes back to the list with the same ticks, still issuing nothing
    back = client.post(url, data={**ticked, "confirm": "change", "shown": shown}).get_data(as_text=True)
    assert count(Certificate) == 0 and len(re.findall(r'name="volunteers" value="\d+" id="v-\d+" checked', back)) == 2
    # the confirmation issues exactly the ticked ones
    response = client.post(url, data={**ticked, "confirm": "yes", "shown": shown})
    assert response.status_code == 302
    assert sorted(db.session.scalars(sa.select(Certificate.volunteer_id))) == sorted([zhuoma.id, tashi.id])
    again = client.post(url, data={**period(), "volunteers": [zhuoma.id]})
    assert "Will be skipped: A valid certificate for exactly this period already exists" in again.get_data(
        as_text=True) and "Issue 0 certificates" in again.get_data(as_text=True)
    confirmed = client.post(url, data={**period(), "volunteers": [zhuoma.id], "confirm": "yes"},
                            follow_redirects=True)
    assert "1 volunteer skipped: A valid certificate for exactly this period already exists" in confirmed.get_data(
        as_text=True) and count(Certificate) == 2


def test_a_confirmation_whose_hours_changed_since_is_shown_again(app, make, certified):
    org, admin, zhuoma, coordinator, (_river, library) = certified
    client = app.test_client()
    login(client, admin)
    url = f"/organizations/{org.code}/certificates/issue"
    ticked = {**period(), "volunteers": [zhuoma.id]}
    shown = re.search(r'name="shown" type="hidden" value="([0-9a-f]+)"',
                      client.post(url, data=ticked).get_data(as_text=True)).group(1)
    approved_service(make, library, zhuoma, 60, days_ago=3, recorder=coordinator, approver=admin)
    db.session.commit()
    again = client.post(url, data={**ticked, "confirm": "yes", "shown": shown})
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "The hours changed since this page was shown" in page and "6.5 h" in page
    assert count(Certificate) == 0


def test_an_org_admin_cannot_tick_or_issue_their_own_certificate(app, make, certified):
    org, admin, zhuoma, coordinator, (river, _library) = certified
    mine = volunteer_for_user(admin)
    approved_service(make, river, mine, 120, days_ago=4, recorder=coordinator, approver=make.coordinator(org))
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    url = f"/organizations/{org.code}/certificates/issue"
    html = client.get(url, query_string=period()).get_data(as_text=True)
    assert "马晓东" in html and f'value="{mine.id}"' not in html and "Your own service" in html
    # a hand-made form that ticks them anyway: refused before anything, the refusal kept in the audit log
    for data in ({**period(), "volunteers": [zhuoma.id, mine.id]},
                 {**period(), "volunteers": [zhuoma.id, mine.id], "confirm": "yes"}):
        refused = client.post(url, data=data)
        assert refused.status_code == 403 and "This is your own service record" in refused.get_data(as_text=True)
    assert count(Certificate) == 0
    assert count(AuditEvent, AuditEvent.action == "integrity.refused") == 2


def test_a_coordinator_sees_the_certificates_but_cannot_issue_or_revoke(app, make, certified):
    org, admin, volunteer, coordinator, _activities = certified
    certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today(), render=False)
    db.session.commit()
    client = app.test_client()
    login(client, coordinator)
    assert certificate.number in client.get(f"/organizations/{org.code}/certificates").get_data(as_text=True)
    assert client.get(f"/organizations/{org.code}/certificates/issue").status_code == 403
    assert client.post(f"/certificates/{certificate.code}/revoke", data={"reason": "x"}).status_code == 403
    db.session.refresh(certificate)
    assert certificate.status == "valid"


def test_the_admin_revokes_and_reissues_from_the_certificate_page(app, certified):
    org, admin, volunteer, _coordinator, _activities = certified
    first = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today(), render=False)
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    response = client.post(f"/certificates/{first.code}/reissue", data={"reissue-reason": "name corrected"})
    second = db.session.scalar(sa.select(Certificate).where(Certificate.supersedes_id == first.id))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/certificates/{second.code}")
    no_reason = client.post(f"/certificates/{second.code}/revoke", data={"reason": ""}, follow_redirects=True)
    assert "Give a reason." in no_reason.get_data(as_text=True)
    client.post(f"/certificates/{second.code}/revoke", data={"reason": "issued by mistake"})
    db.session.expire_all()
    assert [(c.status, c.revocation_reason) for c in db.session.scalars(sa.select(Certificate)
                                                                         .order_by(Certificate.id))] == [
        ("superseded", None), ("revoked", "issued by mistake")]


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (170, 20, 20, 255)).save(out, "PNG")
    return out.getvalue()


def _png_bomb(width: int, height: int) -> bytes:
    """A tiny file that claims a huge image (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def test_the_seal_upload_accepts_images_only(app, certified):
    org, admin, _volunteer, _coordinator, _activities = certified
    client = app.test_client()
    login(client, admin)

    def upload(data: bytes, name: str = "seal.png"):
        return client.post(f"/organizations/{org.code}/seal", data={"seal": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")

    def stored():
        db.session.expire_all()
        return db.session.scalar(sa.select(Organization.seal_png).where(Organization.id == org.id))

    for bad, message in ((b"<svg onload=alert(1)>", "must be a PNG or JPEG"),
                         (b"GIF89a" + b"\0" * 100, "must be a PNG or JPEG"),
                         (_png_bomb(50000, 50000), "at most 2 MB and 4000")):
        response = upload(bad)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        assert stored() is None
    assert upload(_png(1200, 1200)).status_code == 302
    with Image.open(io.BytesIO(stored())) as image:
        assert (image.format, image.size) == ("PNG", (600, 600))  # re-encoded, no larger than it is printed
    preview = client.get(f"/organizations/{org.code}/seal.png")
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert client.post(f"/organizations/{org.code}/seal", data={"remove": "1"}).status_code == 302
    assert stored() is None
