from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination

from ..extensions import db
from .models import AuditEvent


def audit_events(*, actor_id: int | None = None, organization_id: int | None = None, action: str = "",
                 page: int = 1, per_page: int = 50) -> Pagination:
    """Newest first, filtered by actor, organization and action (a prefix such as ``organization.``)."""
    query = db.select(AuditEvent)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if organization_id is not None:
        query = query.where(AuditEvent.organization_id == organization_id)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    return db.paginate(query.order_by(AuditEvent.id.desc()), page=page, per_page=per_page, error_out=False)


def action_names() -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
