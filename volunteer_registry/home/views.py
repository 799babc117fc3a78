from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..activities.queries import activities_today, upcoming_signups
from ..certificates.queries import certificates_of_volunteer
from ..extensions import db
from ..i18n import LANGUAGE_NAMES
from ..ledger.queries import pending_counts
from ..ledger.services import hours_of
from ..organizations.queries import organizations_of_user, pending_organization_count
from ..reports.queries import volunteer_stats
from ..reports.views import categories_chart, hours_chart, months_chart
from ..security import is_safe_next
from ..volunteers.queries import volunteer_for_user
from . import bp

#: the demo's accounts a newcomer is offered on the landing page, with what each one is for
DEMO_LOGINS = (
    ("volunteer@example.org", _l("a volunteer: her hours, her volunteer card, her certificate")),
    ("coordinator@example.org", _l("a coordinator: today's kiosk QR code, the scanner, hours to approve")),
    ("orgadmin@example.org", _l("an organization's admin: the dashboard, certificates to issue")),
    ("admin@example.org", _l("the civil-affairs clerk: organizations to approve, the province's figures")),
)


@bp.route("/")
def index():
    """The first page: what this is for a visitor; each role's next task for a signed-in person."""
    if not current_user.is_authenticated:
        return render_template("home/landing.html", demo=_demo_accounts())
    volunteer = volunteer_for_user(current_user)
    staff = organizations_of_user(current_user)
    figures = {}
    if volunteer is not None:
        totals, stats = hours_of(volunteer.id), volunteer_stats(volunteer)
        figures = dict(totals=totals, by_organization=hours_chart(stats.by_organization),
                       months=months_chart(stats.by_month), categories=categories_chart(stats.by_category),
                       to_go=(totals.next_star_hours * 60 - totals.minutes) if totals.next_star_hours else 0,
                       certificates=certificates_of_volunteer(volunteer.id, limit=5))
    return render_template(
        "home/dashboard.html",
        volunteer=volunteer,
        staff=staff,
        **figures,
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


def _demo_accounts() -> tuple | None:
    """The demo's accounts, shown on the landing page so that a newcomer can try each role at once: only outside
    production, and only where `flask demo seed` has made them."""
    from ..demo.seed import DEMO_PASSWORD, demo_loaded

    if current_app.config.get("ENV_NAME") == "production" or not demo_loaded():
        return None
    return DEMO_PASSWORD, DEMO_LOGINS
