"""Sawt (صوت): the application factory."""
from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

from flask import Flask, render_template

from campaign import config as config_module
from campaign.config import ROOT


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(config_module.from_environment(app.instance_path))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")
    app.config["BABEL_DEFAULT_LOCALE"] = "ar"
    if test_config:
        app.config.update(test_config)
    _ensure_secrets(app)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    _quiet_logs()
    return app


def _ensure_secrets(app: Flask) -> None:
    """Embedded default: generate SECRET_KEY and DATA_KEY once and keep them in
    instance/, so a newcomer needs no configuration and duplicates stay detectable
    across restarts. Production sets both in the environment."""
    for name in ("SECRET_KEY", "DATA_KEY"):
        if app.config.get(name):
            continue
        path = Path(app.instance_path) / name.lower()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        app.config[name] = path.read_text().strip()


def register_extensions(app: Flask) -> None:
    from campaign import i18n, security
    from campaign.extensions import babel, csrf, db, limiter, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    _configure_sqlite(app)

    # Import every model so metadata (and Alembic) see the whole schema.
    from campaign import models  # noqa: F401


def _configure_sqlite(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    from campaign.extensions import db

    with app.app_context():

        @event.listens_for(db.engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()


# The largest id an Integer primary key holds (PostgreSQL's integer).
MAX_ROW_ID = 2**31 - 1


def register_blueprints(app: Flask) -> None:
    from werkzeug.routing import IntegerConverter

    class RowIdConverter(IntegerConverter):
        """``<int:…>`` in our URLs names a row: a number no id column holds is no
        row (404), not an OverflowError from the SQLite driver (500)."""

        def __init__(self, map, fixed_digits=0, min=None, max=MAX_ROW_ID, signed=False):
            super().__init__(map, fixed_digits, min, max, signed)

    app.url_map.converters["int"] = RowIdConverter

    from campaign.campaigns.routes import bp as campaigns_bp
    from campaign.exports.routes import bp as exports_bp
    from campaign.moderation.routes import bp as moderation_bp
    from campaign.organiser.routes import bp as organiser_bp
    from campaign.signatures.routes import bp as signatures_bp

    app.register_blueprint(campaigns_bp)
    app.register_blueprint(signatures_bp)
    app.register_blueprint(organiser_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(exports_bp)

    from campaign.campaigns.editor import bp as editor_bp
    from campaign.dashboard.routes import bp as dashboard_bp

    app.register_blueprint(editor_bp)
    app.register_blueprint(dashboard_bp)

    from campaign.retention.routes import bp as retention_bp
    from campaign.updates.routes import bp as updates_bp

    app.register_blueprint(updates_bp)
    app.register_blueprint(retention_bp)

    from campaign import statements

    statements.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    from campaign.organiser.access import PermissionDenied

    def page(template: str, status: int):
        def handler(error):
            return render_template(template, error=error), status

        return handler

    app.register_error_handler(403, page("errors/403.html", 403))
    app.register_error_handler(PermissionDenied, page("errors/403.html", 403))
    app.register_error_handler(404, page("errors/404.html", 404))
    app.register_error_handler(405, page("errors/405.html", 405))
    app.register_error_handler(400, page("errors/400.html", 400))
    app.register_error_handler(CSRFError, page("errors/csrf.html", 400))
    app.register_error_handler(429, page("errors/429.html", 429))
    app.register_error_handler(500, page("errors/500.html", 500))

    @app.after_request
    def say_when_to_retry(response):
        # A 429 should say when to come back (RFC 6585). Flask-Limiter only sends
        # Retry-After together with X-RateLimit-* on every limited response, where
        # a Retry-After on the 303 after signing would mean "wait before following".
        if response.status_code == 429 and "Retry-After" not in response.headers:
            from campaign.extensions import limiter

            breached = limiter.current_limit
            if breached is not None:
                response.headers["Retry-After"] = str(max(1, breached.reset_at - int(time.time())))
        return response


def register_commands(app: Flask) -> None:
    from campaign import demo, translate_cli
    from campaign.campaigns import cli as campaigns_cli
    from campaign.moderation import cli as moderation_cli
    from campaign.organiser import cli as organiser_cli
    from campaign.outbox import cli as outbox_cli
    from campaign.retention import cli as retention_cli

    campaigns_cli.init_app(app)
    moderation_cli.init_app(app)
    organiser_cli.init_app(app)
    outbox_cli.init_app(app)
    retention_cli.init_app(app)
    demo.init_app(app)
    translate_cli.init_app(app)


def _quiet_logs() -> None:
    from campaign.privacy import redact

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    redact.install("werkzeug", "gunicorn.access", "gunicorn.error", "campaign")
