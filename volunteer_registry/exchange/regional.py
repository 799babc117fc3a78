"""The regional view (docs/EXCHANGE.md): what the registries below sent up, by peer and region, read-only for the
platform's administrators (civil affairs). Only the ingest writes these rows; nothing here changes them."""
from __future__ import annotations

from flask import render_template
from flask_login import login_required

from ..accounts.permissions import require
from . import bp
from .queries import regional_rows, regional_totals


@bp.route("/platform/regional")
@login_required
def regional():
    require("stats.view")
    return render_template("exchange/regional.html", rows=regional_rows(), totals=regional_totals())
