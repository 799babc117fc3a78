"""The blueprint; its routes are in views.py, imported by the app factory."""
from flask import Blueprint

bp = Blueprint("records", __name__)
