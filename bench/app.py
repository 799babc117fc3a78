"""The benchmark's WSGI entry point: the production app (``wsgi.py``) plus the bench-only baseline blueprint.

    gunicorn --workers 2 --bind 127.0.0.1:PORT bench.app:app
"""
# ruff: noqa: E402  (the app is built before the blueprint is imported, as wsgi.py builds it)
from __future__ import annotations

import gc

from volunteer_registry import create_app

app = create_app()

from bench.baseline import bp
from volunteer_registry.extensions import csrf

app.register_blueprint(bp)
csrf.exempt(bp)
gc.freeze()  # as wsgi.py does
