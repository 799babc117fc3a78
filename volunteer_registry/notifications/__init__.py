"""Notifications: in-app, email and short messages, written to an outbox with the change they report and sent by a
worker (``flask notifications run``)."""
from flask import Blueprint

bp = Blueprint("notifications", __name__)
