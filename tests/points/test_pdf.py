"""The poster PDF, A4 and A6, checked from outside as a reader would: poppler finds the text and a valid signature
over the whole file, and zbar reads the QR back as the poster's URL, which opens the check-in page."""
from __future__ import annotations

import re
import subprocess

import pytest

from volunteer_registry.extensions import db
from volunteer_registry.points.pdf import poster_url
from volunteer_registry.points.services import revoke_poster

from ..conftest import login


def run(*args: str, stderr: bool = False) -> str:
    """A tool's output (zbarimg writes unrelated D-Bus complaints to stderr: only asked-for streams count)."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return result.stdout + (result.stderr if stderr else "")


@pytest.fixture
def printed(place, client, tmp_path):
    """Poster No. 1 fetched as its coordinator would, on A4 and on A6, written to files."""
    login(client, place.coordinator)
    files = {}
    for size in ("A4", "A6"):
        response = client.get(f"/points/{place.point.code}/posters/1.pdf?size={size}")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF-")
        path = tmp_path / f"poster-{size}.pdf"
        path.write_bytes(response.data)
        files[size] = path
    return files


@pytest.mark.parametrize("size, width_pt", [("A4", 595), ("A6", 297)])
def test_the_poster_is_signed_readable_and_its_qr_opens_the_check_in_page(place, printed, tmp_path, client, make,
                                                                          size, width_pt):
    path = printed[size]
    info = run("pdfinfo", str(path))
    assert re.search(rf"Page size:\s+{width_pt}(\.\d+)? x", info) and re.search(r"Pages:\s+1\n", info), info
    text = run("pdftotext", "-enc", "UTF-8", str(path), "-")
    for expected in ("东关社区养老服务站", "社区助老服务", place.activity.organization.name, "Poster No. 1",
                     place.point.code, "your phone's location is needed"):
        assert expected in re.sub(r"\s+", " ", text), expected
    signature = run("pdfsig", str(path))
    assert "Signature Validation: Signature is Valid." in signature
    assert "Total document signed" in signature
    assert "Signer Certificate Common Name: Volunteer Registry" in signature
    prefix = tmp_path / f"page-{size}"
    run("pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(path), str(prefix))
    [image] = list(tmp_path.glob(f"page-{size}*.png"))
    decoded = run("zbarimg", "-q", "--raw", str(image)).strip()
    assert decoded == poster_url(place.point, place.poster)
    assert re.fullmatch(r"HTTP://REGISTRY\.TEST/P/P[0-9A-Z]{8}\.1\.[A-Z2-7]{16}", decoded), decoded
    # the decoded URL is the volunteer's page (on the test server's host)
    login(client, make.account_of(place.volunteer))
    page = client.get(decoded.split("REGISTRY.TEST", 1)[1])
    assert page.status_code == 200 and "东关社区养老服务站" in page.get_data(as_text=True)


def test_an_appended_edit_breaks_the_whole_file_coverage(printed, tmp_path):
    edited = tmp_path / "edited.pdf"
    edited.write_bytes(printed["A4"].read_bytes() + b"\n% an edit after signing\n")
    assert "Total document signed" not in run("pdfsig", str(edited), stderr=True)


def test_withdrawn_posters_and_unknown_sizes_are_not_printed(place, client):
    login(client, place.coordinator)
    assert client.get(f"/points/{place.point.code}/posters/1.pdf?size=A3").status_code == 400
    assert client.get(f"/points/{place.point.code}/posters/9.pdf").status_code == 404
    revoke_poster(place.coordinator, place.poster, "lost")
    db.session.commit()
    assert client.get(f"/points/{place.point.code}/posters/1.pdf").status_code == 409
