"""The exchange's pages: a volunteer's transfer codes and the transfer of their record in from another registry."""
from __future__ import annotations

from . import bp, services  # noqa: F401
