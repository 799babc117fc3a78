"""Service certificates: issuing (one, on request, or in bulk), the signed token and its QR, the signed PDF,
revocation and reissue. Public verification is the verification part."""
from flask import Blueprint

bp = Blueprint("certificates", __name__)
