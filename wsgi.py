"""The WSGI entry point: ``gunicorn wsgi:app``."""
from volunteer_registry import create_app

app = create_app()
