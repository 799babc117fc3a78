"""The WSGI entry point: ``gunicorn wsgi:app``."""
import gc

from volunteer_registry import create_app

app = create_app()
# Everything loaded so far (modules, the app, its config) lives as long as the worker: move it out of the garbage
# collector's sight, so the full collection after each certificate render (certificates/pdf.py) walks only what the
# requests made — about 10 ms instead of 150 (docs/PERFORMANCE.md).
gc.freeze()
