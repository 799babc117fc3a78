from __future__ import annotations

from flask import has_request_context, request

from ..extensions import db
from .models import AuditEvent


def record_event(action: str, *, actor=None, organization=None, target=None, **details) -> AuditEvent:
    """Append one event to the audit log (flushed with the change it describes, committed with it)."""
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        organization_id=getattr(organization, "id", None),
        target_type=type(target).__name__ if target is not None else None,
        target_id=str(getattr(target, "code", None) or getattr(target, "id", "")) if target is not None else None,
        details={k: v for k, v in details.items() if v is not None},
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
