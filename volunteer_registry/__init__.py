"""Volunteer Registry: the system of record for volunteer service."""
from __future__ import annotations

import os

from flask import Flask

from .config import CONFIGS, database_uri, load_instance_secrets, protect_files


def create_app(config: dict | None = None, *, instance_path: str | None = None) -> Flask:
    """Build the application. ``config`` overrides settings (tests pass their database URL here)."""
    app = Flask(
        __name__,
        instance_path=instance_path or os.environ.get("VOLUNTEER_REGISTRY_INSTANCE") or None,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    env = (config or {}).get("ENV_NAME") or os.environ.get("VOLUNTEER_REGISTRY_ENV", "development")
    app.config.from_object(CONFIGS[env])
    app.config["ENV_NAME"] = env
    app.config.from_prefixed_env("VOLUNTEER_REGISTRY")
    if config:
        app.config.update(config)
    if app.config.get("TRUSTED_PROXIES"):
        # behind a reverse proxy: take the client address and scheme from its X-Forwarded-* headers
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    os.makedirs(app.instance_path, exist_ok=True)
    load_instance_secrets(app)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)
    protect_files(app)

    from . import cli, database, i18n, links, security, templating
    from .errors import register_error_handlers
    from .extensions import babel, csrf, db, limiter, login_manager, migrate

    links.init_app(app)  # production stops here without PUBLIC_URL
    db.init_app(app)
    database.configure(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    login_manager.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)

    from . import (
        accounts,
        activities,
        api,
        audit,
        calendars,
        certificates,
        checkin,
        corrections,
        exchange,
        home,
        keys,
        ledger,
        notifications,
        organizations,
        points,
        records,
        reports,
        supervision,
        verification,
        volunteers,
    )

    # each part hands over its blueprint with all its routes attached
    for part in (home, accounts, organizations, volunteers, activities, checkin, points, calendars, ledger,
                 corrections, records, certificates, verification, reports, keys, audit, notifications, supervision,
                 exchange, api):
        app.register_blueprint(part.blueprint())
    csrf.exempt(api.bp)

    register_error_handlers(app)
    cli.register(app)
    connect_listeners()
    return app


def connect_listeners() -> None:
    """Every part that reacts to another's signals (volunteer_registry.signals) connects its receivers here, once
    per process in effect (connecting again changes nothing), so no receiver depends on what was imported first."""
    from .activities import listeners as activities
    from .calendars import listeners as calendars
    from .certificates import listeners as certificates
    from .checkin import listeners as checkin
    from .exchange import listeners as exchange
    from .ledger import listeners as ledger
    from .notifications import listeners as notifications
    from .organizations import listeners as organizations
    from .volunteers import listeners as volunteers

    for part in (activities, organizations, volunteers, certificates, checkin, ledger, notifications, calendars,
                 exchange):
        part.connect()
