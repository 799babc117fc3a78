"""The certificates part's receivers: anonymising the certificates of a deleted account's volunteer; an
organization's page is told how many certificate requests wait."""
from __future__ import annotations

from .. import signals
from ..extensions import db
from .models import Certificate, CertificateDocument
from .queries import pending_request_count


def anonymise_certificates(volunteer, **_facts) -> None:
    """The volunteer's certificates keep only the masked name they were issued with (the token carries it, so
    each still verifies as issued); the ID number and the national number in their content are replaced and their
    stored PDFs are deleted
    (a download renders again, from the anonymised content)."""
    for certificate in db.session.scalars(db.select(Certificate).where(Certificate.volunteer_id == volunteer.id)):
        certificate.content = {**certificate.content, "volunteer_name": certificate.masked_name,
                               "id_number_masked": "—", "national_number": None}
        db.session.execute(db.delete(CertificateDocument).where(CertificateDocument.certificate_id ==
                                                                certificate.id))


def organization_figures(org, **_facts) -> dict:
    """The certificates' figure on the organization's page: its pending certificate requests."""
    return {"certificate_requests": pending_request_count(org)}


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    signals.volunteer_anonymised.connect(anonymise_certificates)
    signals.organization_figures_wanted.connect(organization_figures)
