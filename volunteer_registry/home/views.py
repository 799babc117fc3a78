from flask import redirect, render_template, request, session, url_for
from flask_login import current_user

from ..activities.queries import activities_today, upcoming_signups
from ..extensions import db
from ..i18n import LANGUAGE_NAMES
from ..ledger.queries import pending_counts
from ..organizations.queries import organizations_of_user, pending_organization_count
from ..security import is_safe_next
from ..volunteers.queries import volunteer_for_user
from . import bp


@bp.route("/")
def index():
    """The first page: what this is for a visitor; each role's next task for a signed-in person."""
    if not current_user.is_authenticated:
        return render_template("home/landing.html")
    volunteer = volunteer_for_user(current_user)
    staff = organizations_of_user(current_user)
    return render_template(
        "home/dashboard.html",
        volunteer=volunteer,
        staff=staff,
        signups=upcoming_signups(volunteer),
        today=activities_today(org.id for org, _role in staff if org.status == "approved"),
        pending_entries=pending_counts(org.id for org, _role in staff if org.status == "approved"),
        pending_organizations=pending_organization_count() if current_user.is_platform_admin else 0,
    )


@bp.route("/language/<lang>")
def set_language(lang: str):
    if lang in LANGUAGE_NAMES:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    target = request.args.get("next")
    return redirect(target if is_safe_next(target) else url_for("home.index"))
