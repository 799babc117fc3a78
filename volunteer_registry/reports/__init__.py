"""Dashboards, reports and exports: the figures each role needs at a glance (queries.py, charts.py), the pages that
show them (views.py) and the downloads of every list as CSV and XLSX (exports.py, downloads.py)."""
from flask import Blueprint

bp = Blueprint("reports", __name__)
