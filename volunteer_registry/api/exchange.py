"""The exchange's JSON API for transfers (docs/EXCHANGE.md): a volunteer's own record bundle, and the bundle behind
a transfer code, which another registry fetches on the volunteer's behalf. The feed and the push are
api/exchange_feed.py."""
from __future__ import annotations

from flask import current_app, g, request

from ..exchange.bundle import build_bundle, bundle_response
from ..exchange.schema import BUNDLE_OUT, TRANSFER_REQUEST
from ..exchange.services import ExchangeError, redeem_transfer_code
from ..extensions import db, limiter
from ..volunteers.queries import volunteer_for_user
from . import bp
from .auth import token_required
from .openapi import INVALID, UNAUTHORIZED, documented, error, ok
from .views import _body


def _transfer_limit() -> str:
    return current_app.config["TRANSFER_RATE_LIMIT"]


@bp.route("/me/record", methods=["GET"])
@documented("The token's volunteer's whole record as a signed, self-verifying bundle (docs/EXCHANGE.md)",
            responses={200: ok(BUNDLE_OUT), 401: UNAUTHORIZED,
                       404: error("The account has no volunteer record (no_volunteer_record).")})
@token_required
def my_record():
    volunteer = volunteer_for_user(g.api_user)
    if volunteer is None:
        raise ExchangeError("no_volunteer_record")
    bundle = build_bundle(volunteer)
    db.session.commit()  # the batch of the log that sealed the volunteer's newest entries, if there was one
    return bundle_response(bundle, volunteer.volunteer_number)


@bp.route("/exchange/transfers", methods=["POST"])
@documented("The record bundle behind a volunteer's one-time transfer code, for the registry they move it to; the "
            "code is spent", request=TRANSFER_REQUEST,
            responses={200: ok(BUNDLE_OUT), 400: INVALID,
                       404: error("No such code (code_invalid)."), 409: error("The code was used (code_used)."),
                       410: error("The code has expired (code_expired)."),
                       429: error("Too many attempts from this address.")})
@limiter.limit(_transfer_limit)
def transfer_bundle():
    """No token: the code is the volunteer's consent and the credential. Rate-limited per address."""
    body = _body()
    code = body.get("code")
    if not isinstance(code, str):
        raise ExchangeError("code_invalid", field="code")
    volunteer = redeem_transfer_code(code, request.remote_addr or "")
    bundle = build_bundle(volunteer)
    db.session.commit()
    return bundle_response(bundle, volunteer.volunteer_number)
