from flask import render_template, request

from ..accounts.models import User
from ..accounts.permissions import platform_admin_required
from ..accounts.services import find_user
from ..extensions import db
from ..organizations.models import Organization
from ..paging import requested_page
from . import bp
from .queries import action_names, audit_events


@bp.route("/admin/audit")
@platform_admin_required
def log():
    actor_text = request.args.get("actor", "").strip()
    org_text = request.args.get("org", "").strip().upper()
    action = request.args.get("action", "").strip()
    actor = find_user(actor_text) if actor_text else None
    org = db.session.scalar(db.select(Organization).where(Organization.code == org_text)) if org_text else None
    no_match = bool(actor_text and actor is None) or bool(org_text and org is None)
    page = None if no_match else audit_events(
        actor_id=actor.id if actor else None, organization_id=org.id if org else None, action=action,
        page=requested_page())
    user_ids = {e.actor_id for e in page.items if e.actor_id} if page else set()
    org_ids = {e.organization_id for e in page.items if e.organization_id} if page else set()
    users = {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    orgs = {o.id: o for o in db.session.scalars(db.select(Organization).where(Organization.id.in_(org_ids)))} \
        if org_ids else {}
    return render_template("audit/log.html", page=page, users=users, orgs=orgs, actions=action_names(),
                           filters={"actor": actor_text, "org": org_text, "action": action})
