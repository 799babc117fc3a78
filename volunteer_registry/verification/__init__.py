"""Public verification of certificates, no account needed: the QR's link (a page, or JSON), a PDF upload, and
the offline check (`flask certificates verify`, in certificates/cli.py)."""
from flask import Blueprint

bp = Blueprint("verification", __name__)
