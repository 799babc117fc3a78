"""The hours ledger: entries, the Merkle log over them, signed checkpoints. The blueprint's routes are in
views.py (pages) and monitor.py (the public log interface), imported by the app factory."""
from flask import Blueprint

bp = Blueprint("ledger", __name__)
