"""The signed PDF, checked from outside with poppler's tools and zbar, as a verifier's software would."""
from __future__ import annotations

import datetime as dt
import io
import re
import subprocess

import pytest
from PIL import Image

from volunteer_registry.certificates.pdf import STATIC_BASE, TOKEN_ATTACHMENT, StaticOnlyFetcher
from volunteer_registry.certificates.services import certificate_pdf, issue_certificate, today
from volunteer_registry.certificates.tokens import token_url
from volunteer_registry.extensions import db
from volunteer_registry.organizations.services import set_seal

from .conftest import approved_service


def run(*args: str, stderr: bool = False) -> str:
    """A tool's output (zbarimg writes unrelated D-Bus complaints to stderr: only asked-for streams count)."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return result.stdout + (result.stderr if stderr else "")


@pytest.fixture
def issued(make, certified, tmp_path):
    """Certificates for a Chinese, a Tibetan and a Latin name, their PDFs written to files."""
    org, admin, zhuoma, coordinator, (river, _library) = certified
    people = {"zh": zhuoma, "bo": make.volunteer(name="བཀྲ་ཤིས་བདེ་ལེགས"), "en": make.volunteer(name="Maria Fernández")}
    make.account_of(people["bo"]).locale = "bo"  # reads Tibetan: the certificate says everything in Tibetan too
    for key in ("bo", "en"):
        approved_service(make, river, people[key], 200, days_ago=4, recorder=coordinator, approver=admin)
    files = {}
    for key, volunteer in people.items():
        certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today())
        path = tmp_path / f"{key}.pdf"
        path.write_bytes(certificate_pdf(certificate))
        files[key] = (certificate, path)
    db.session.commit()
    return files


def test_pdfsig_reports_a_valid_signature_over_the_whole_document(issued):
    _certificate, path = issued["zh"]
    output = run("pdfsig", str(path))
    assert "Signature Validation: Signature is Valid." in output
    assert "Total document signed" in output
    assert "Signer Certificate Common Name: Volunteer Registry certificate signing" in output
    assert "Signature Type: ETSI.CAdES.detached" in output  # PAdES


def test_a_changed_byte_breaks_the_signature(issued, tmp_path):
    _certificate, path = issued["zh"]
    data = bytearray(path.read_bytes())
    # change one byte inside the signed range (the document information is plain text; a byte of the compressed
    # page stream would do the same)
    offset = data.index(b"/Producer")
    data[offset + 2] ^= 0x01
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    output = run("pdfsig", str(changed), stderr=True)
    assert "Signature Validation:" in output and "Signature is Valid." not in output, output


def test_the_qr_read_back_from_the_page_is_the_token_url(issued, tmp_path, app):
    for certificate, path in issued.values():
        prefix = tmp_path / f"page-{certificate.code}"
        run("pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(path), str(prefix))
        [image] = list(tmp_path.glob(f"page-{certificate.code}*.png"))
        decoded = run("zbarimg", "-q", "--raw", str(image)).strip()
        assert decoded == token_url("http://registry.test", certificate.token)
        assert re.fullmatch(r"HTTP://REGISTRY\.TEST/V/[A-Z2-7]+", decoded)


def test_pdftotext_gives_back_chinese_tibetan_and_latin_names(issued):
    for key, expected in (("zh", "卓玛"), ("bo", "བཀྲ་ཤིས་བདེ་ལེགས"), ("en", "Maria Fernández")):
        certificate, path = issued[key]
        text = run("pdftotext", "-enc", "UTF-8", str(path), "-")
        assert expected in text, (key, text[:400])
        assert certificate.number in text and certificate.content["id_number_masked"] in text
        spaced_out = re.sub(r"\s+", "", text).upper()  # the title is letter-spaced
        assert "志愿服务证明" in spaced_out and "CERTIFICATEOFVOLUNTEERSERVICE" in spaced_out


def test_a_volunteer_who_reads_tibetan_gets_a_certificate_in_tibetan_too(issued):
    certificate, path = issued["bo"]
    assert certificate.content["tibetan"] is True
    text = re.sub(r"\s+", "", run("pdftotext", "-enc", "UTF-8", str(path), "-"))
    for words in ("དང་བླངས་ཞབས་ཞུའི་དཔང་ཡིག",  # the title
                  "བར་ཚོགས་པ་འདིར་དང་བླངས་ཞབས་ཞུ་བྱས་ཤིང་།",  # the statement
                  "ཞབས་ཞུའི་དུས་ཚོད་བསྡོམས།", "བཤེར་ནས་ཞིབ་བཤེར་བྱེད།"):  # a label, the QR code's caption
        assert words in text, (words, text[:600])
    assert "志愿服务证明" in text and "CERTIFICATEOFVOLUNTEERSERVICE" in text  # still Chinese and English
    assert re.search(r"^Pages:\s+1$", run("pdfinfo", str(path)), re.MULTILINE)  # all on one page
    # a volunteer who reads Chinese gets no Tibetan
    chinese, chinese_path = issued["zh"]
    assert chinese.content["tibetan"] is False
    assert "དང་བླངས" not in run("pdftotext", "-enc", "UTF-8", str(chinese_path), "-")


def test_every_font_is_embedded_and_tibetan_uses_a_tibetan_font(issued):
    _certificate, path = issued["bo"]
    fonts = run("pdffonts", str(path)).splitlines()[2:]
    assert fonts and all(re.search(r"\byes\s+yes\s+yes\b", line) for line in fonts), fonts
    assert any("Tibetan" in line for line in fonts)
    assert any("CJK" in line for line in fonts)


def test_chinese_is_set_in_one_simplified_chinese_family(issued):
    """Every CJK face embedded is Noto Serif CJK SC (regular or bold): a fallback to the Japanese face would set some
    Chinese characters in Japanese glyph forms, and each further CJK face costs a render about 40 MB of memory (its
    20–27 MB collection is read whole; docs/PERFORMANCE.md)."""
    for _certificate, path in issued.values():
        cjk = [line.split()[0].split("+")[-1] for line in run("pdffonts", str(path)).splitlines()[2:]
               if "CJK" in line]
        assert cjk and set(cjk) <= {"Noto-Serif-CJK-SC", "Noto-Serif-CJK-SC-Bold"}, cjk


def test_the_token_is_attached_to_the_pdf(issued, tmp_path):
    certificate, path = issued["en"]
    assert TOKEN_ATTACHMENT in run("pdfdetach", "-list", str(path))
    saved = tmp_path / "token.cose"
    run("pdfdetach", "-save", "1", "-o", str(saved), str(path))
    assert saved.read_bytes() == certificate.token


def test_the_organizations_seal_is_printed(make, certified, tmp_path):
    org, admin, zhuoma, _coordinator, _activities = certified
    seal = io.BytesIO()
    Image.new("RGBA", (300, 300), (180, 30, 30, 200)).save(seal, "PNG")
    set_seal(admin, org, seal.getvalue())
    certificate = issue_certificate(admin, org, zhuoma, today() - dt.timedelta(days=30), today())
    path = tmp_path / "sealed.pdf"
    path.write_bytes(certificate_pdf(certificate))
    images = run("pdfimages", "-list", str(path)).splitlines()[2:]
    assert any(re.search(r"\b300\s+300\b", line) for line in images), images


def test_the_renderer_fetches_nothing_but_our_static_files(app):
    fetcher = StaticOnlyFetcher(app.static_folder)
    served = fetcher.fetch(STATIC_BASE + "certificates/document.css")
    assert b"@page" in served.read()
    for url in ("file:///etc/passwd", "http://169.254.169.254/latest/meta-data/", STATIC_BASE + "../../etc/passwd",
                STATIC_BASE + "certificates/../../volunteer_registry/config.py", "https://example.org/x.css"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_signing_works_inside_a_running_event_loop(issued):
    """pyHanko signs through asyncio.run(); a worker thread with a running loop (an async server, a browser driver
    left running in the same thread) must still get a signed PDF."""
    import asyncio

    from volunteer_registry.certificates.services import render_certificate

    certificate, _path = issued["en"]

    async def inside_a_loop() -> bytes:
        return render_certificate(certificate)

    signed = asyncio.run(inside_a_loop())
    assert signed.startswith(b"%PDF-") and b"/ByteRange" in signed


@pytest.mark.parametrize("language", ["zh_CN", "bo"])
def test_a_full_certificate_stays_on_one_page(make, certified, tmp_path, language):
    """The most activities a certificate lists (the rest summed up in one line), with long titles, in the two
    layouts (bilingual, and trilingual for a volunteer who reads Tibetan): one page, its QR code readable."""
    org, admin, _zhuoma, coordinator, _activities = certified
    volunteer = make.volunteer(name="次仁央宗")
    make.account_of(volunteer).locale = language
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for index in range(9):
        activity = make.activity(org, title=f"三江源国家公园生态保护宣传与垃圾清理志愿服务第{index + 1}期",
                                 starts_at=now - dt.timedelta(days=25), ends_at=now + dt.timedelta(days=1))
        approved_service(make, activity, volunteer, 60 + index, days_ago=3 + index, recorder=coordinator,
                         approver=admin)
    certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today())
    path = tmp_path / "full.pdf"
    path.write_bytes(certificate_pdf(certificate))
    assert re.search(r"^Pages:\s+1$", run("pdfinfo", str(path)), re.MULTILINE)
    text = run("pdftotext", "-enc", "UTF-8", str(path), "-")
    listed = 2 if language == "bo" else 4
    assert f"另有 {9 - listed} 项活动" in text  # nine activities: a few listed, the others summed up
    run("pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page"))
    assert run("zbarimg", "-q", "--raw", str(tmp_path / "page-1.png")).strip().startswith("HTTP://REGISTRY.TEST/V/")
