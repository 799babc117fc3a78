"""The national unified volunteer number on a certificate: kept in its content, printed on its PDF (read back with
pdftotext) and shown on its page; a certificate without it, old or new, prints without the line."""
from __future__ import annotations

import datetime as dt
import re

from volunteer_registry.accounts.deletion import delete_account
from volunteer_registry.certificates.services import certificate_pdf, issue_certificate, today
from volunteer_registry.certificates.tokens import parse_token
from volunteer_registry.extensions import db
from volunteer_registry.volunteers.models import Volunteer

from ..conftest import PASSWORD, login
from .test_pdf import run


def pdf_text(certificate, tmp_path) -> str:
    path = tmp_path / f"{certificate.number}.pdf"
    path.write_bytes(certificate_pdf(certificate))
    return re.sub(r"\s+", "", run("pdftotext", "-enc", "UTF-8", str(path), "-"))


def issue(org, admin, volunteer):
    certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today())
    db.session.commit()
    return certificate


def test_the_number_is_kept_printed_and_shown(app, client, make, certified, tmp_path):
    org, admin, volunteer, _coordinator, _activities = certified
    volunteer.national_number = "QH630102199001AB"
    certificate = issue(org, admin, volunteer)
    assert certificate.content["national_number"] == "QH630102199001AB"
    text = pdf_text(certificate, tmp_path)
    assert "全国志愿者编号" in text and "Nationalvolunteernumber" in text and "QH630102199001AB" in text
    assert volunteer.volunteer_number in text
    login(client, make.account_of(volunteer))
    page = client.get(f"/certificates/{certificate.code}").get_data(as_text=True)
    assert "National volunteer number" in page and "QH630102199001AB" in page


def test_the_token_does_not_carry_it(app, make, certified):
    org, admin, volunteer, _coordinator, _activities = certified
    volunteer.national_number = "QH630102199001AB"
    certificate = issue(org, admin, volunteer)
    assert b"QH630102199001AB" not in certificate.token  # its format is fixed (docs/CERTIFICATES.md, "The token")
    assert "QH630102199001AB" not in repr(parse_token(certificate.token))


def test_without_a_number_and_from_before_it_was_kept_the_certificate_prints_without_the_line(
        app, client, make, certified, tmp_path):
    org, admin, volunteer, _coordinator, _activities = certified
    certificate = issue(org, admin, volunteer)
    assert certificate.content["national_number"] is None
    text = pdf_text(certificate, tmp_path)
    assert "全国志愿者编号" not in text and certificate.number in text
    # a certificate issued before the number was kept has no such key at all
    certificate.content = {key: value for key, value in certificate.content.items() if key != "national_number"}
    db.session.commit()
    text = pdf_text(certificate, tmp_path)
    assert "全国志愿者编号" not in text and volunteer.volunteer_number in text
    login(client, make.account_of(volunteer))
    response = client.get(f"/certificates/{certificate.code}")
    assert response.status_code == 200 and "National volunteer number" not in response.get_data(as_text=True)


def test_deleting_the_account_removes_the_number_from_the_record_and_its_certificates(app, make, certified,
                                                                                    tmp_path):
    org, admin, volunteer, _coordinator, _activities = certified
    volunteer.national_number = "QH630102199001AB"
    certificate = issue(org, admin, volunteer)
    delete_account(make.account_of(volunteer), PASSWORD)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Volunteer, volunteer.id).national_number is None
    assert certificate.content["national_number"] is None
    text = pdf_text(certificate, tmp_path)
    assert "QH630102199001AB" not in text and certificate.number in text
