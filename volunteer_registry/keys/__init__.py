"""The instance's signing keys: the root certificate authority, the PDF document-signing certificate, the
certificate-token key (ES256) and the checkpoint key (Ed25519). Public halves are rows (published at
/.well-known/volunteer-registry/); private halves are files in the instance folder, mode 0600."""
from flask import Blueprint

bp = Blueprint("keys", __name__)
