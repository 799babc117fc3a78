"""Template filters that turn stored codes into words."""
from __future__ import annotations

from flask import Flask

from .organizations.models import INVITATION_ROLES, JOIN_MODES
from .regions import region_path


def init_app(app: Flask) -> None:
    app.add_template_filter(region_path, "region")
    app.add_template_filter(lambda mode: str(JOIN_MODES.get(mode, mode)), "join_mode")
    app.add_template_filter(lambda role: str(INVITATION_ROLES.get(role, role)), "invitation_role")
