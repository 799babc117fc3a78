"""The blueprint; its routes are in views.py, imported by the app factory."""
from flask import Blueprint

bp = Blueprint("checkin", __name__)
