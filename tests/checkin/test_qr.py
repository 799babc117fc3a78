"""QR codes rendered by the app decode, with the real zbarimg (zbar-tools), to exactly what the app expects."""
import datetime as dt
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.kiosk import kiosk_problem, kiosk_token, kiosk_url, qr_png
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow

from ..conftest import login

ZBARIMG = shutil.which("zbarimg")
# not a skip: zbar-tools is in ./manage's APT_PACKAGES, so a machine without it is set up wrongly
assert ZBARIMG, "zbarimg is missing: install zbar-tools (./manage installs it)"


def rasterise_svg(svg: str, folder: Path) -> Path:
    """The SVG as pixels, drawn by tools the project already has: WeasyPrint lays it out on a page (as it draws the
    certificates) and poppler's pdftoppm renders the page. zbarimg reads PNG with ImageMagick's base coders; its SVG
    coder is in a package (libmagickcore-6.q16-6-extra) a fresh machine does not have, and it should not need it."""
    from weasyprint import HTML

    pdf = folder / "svg.pdf"
    HTML(string=f'<style>@page {{ size: 12cm 12cm; margin: 1cm }} svg {{ width: 10cm; height: 10cm }}</style>{svg}'
         ).write_pdf(pdf)
    done = subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(folder / "svg")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return folder / "svg.png"


def decode(path) -> list[str]:
    """Every QR symbol zbarimg finds in the image file, as text."""
    done = subprocess.run([ZBARIMG, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_kiosk_qr_decodes_to_the_kiosk_url(app, make, tmp_path):
    activity = make.activity()
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - dt.timedelta(days=1))
    db.session.commit()
    url = kiosk_url(kiosk_token(activity.code, utcnow()))
    (tmp_path / "kiosk.png").write_bytes(qr_png(url))
    assert decode(tmp_path / "kiosk.png") == [url]
    token = urlsplit(url).path.removeprefix("/k/")
    assert kiosk_problem(token, activity.code, utcnow()) == (activity.code, None)

    # the SVG the kiosk screen shows decodes too, and the URL in it opens the tap page for a volunteer
    screen = app.test_client()
    login(screen, make.org_admin_of(activity.organization))
    state = screen.get(f"/activities/{activity.code}/kiosk/state").get_json()
    assert state["svg"].lstrip().startswith(("<?xml", "<svg"))
    [shown] = decode(rasterise_svg(state["svg"], tmp_path))
    assert shown == state["url"]
    phone = app.test_client()
    login(phone, make.account_of(volunteer))
    page = phone.get(urlsplit(shown).path)
    assert page.status_code == 200 and activity.title in page.get_data(as_text=True)


def test_the_volunteer_card_decodes_to_the_volunteer_number(app, make, tmp_path):
    volunteer = make.volunteer()
    db.session.commit()
    client = app.test_client()
    login(client, make.account_of(volunteer))
    response = client.get("/volunteer/card.png")
    assert response.status_code == 200
    (tmp_path / "card.png").write_bytes(response.data)
    assert decode(tmp_path / "card.png") == [volunteer.volunteer_number]


@pytest.mark.parametrize("text", ["HTTP://REGISTRY.TEST/K/ABCD2345.89797695.ZGMTI5FDXJLUDWRT", "23HK-9PQR-7XW4"])
def test_decode_is_exact(tmp_path, app, text):
    """The helper itself: what goes in comes out, no more (so the tests above could fail)."""
    (tmp_path / "qr.png").write_bytes(qr_png(text))
    assert decode(tmp_path / "qr.png") == [text]
    (tmp_path / "qr.png").write_bytes(qr_png(text + "X"))
    assert decode(tmp_path / "qr.png") != [text]
