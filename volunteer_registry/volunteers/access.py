"""The guard of the pages that belong to a volunteer: a signed-in person without a volunteer profile is sent to fill
one in, and comes back to the page afterwards."""
from __future__ import annotations

from functools import wraps

from flask import redirect, request, url_for
from flask_login import current_user, login_required

from .queries import volunteer_for_user


def volunteer_required(view):
    """``login_required``, then the signed-in person's volunteer profile, passed to the view as ``volunteer``."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        volunteer = volunteer_for_user(current_user)
        if volunteer is None:
            here = request.full_path if request.query_string else request.path
            return redirect(url_for("volunteers.profile", next=here))
        return view(*args, volunteer=volunteer, **kwargs)
    return wrapped
