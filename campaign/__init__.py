"""Sawt (صوت): the application factory.

create_app reads top to bottom: configuration, extensions, then each feature in
FEATURES registers its own blueprints, commands, campaign-page sections and worker
jobs through its ``init_app``; then error pages and the commands that span features.
"""
from __future__ import annotations

import importlib
import logging
import os
import secrets
from pathlib import Path

from flask import Flask, render_template

from campaign import config as config_module
from campaign.config import ROOT

# Each is a package under campaign/ with an init_app(app). Order matters only where
# one feature builds on another: campaigns first (the page others add sections to).
FEATURES = (
    "privacy",
    "organiser",
    "campaigns",
    "signatures",
    "statements",
    "moderation",
    "exports",
    "dashboard",
    "updates",
    "retention",
    "outbox",
    "amplify",
    "targets",
    "api",
    "embeds",
)


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=config_module.INSTANCE_PATH,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(config_module.from_environment(app.instance_path))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")
    app.config["BABEL_DEFAULT_LOCALE"] = "ar"
    if test_config:
        app.config.update(test_config)
    _ensure_secrets(app)
    _database_connect_timeout(app)

    register_extensions(app)
    for name in FEATURES:
        importlib.import_module(f"campaign.{name}").init_app(app)
    register_errorhandlers(app)
    register_commands(app)
    _redact_logs()
    return app


def _ensure_secrets(app: Flask) -> None:
    """Embedded default: generate SECRET_KEY, DATA_KEY and API_SIGNING_KEY once and
    keep them in instance/, so a newcomer needs no configuration, duplicates stay
    detectable and signed snapshots stay checkable across restarts. Production sets
    them in the environment."""
    for name in ("SECRET_KEY", "DATA_KEY", "API_SIGNING_KEY"):
        if app.config.get(name):
            continue
        path = Path(app.instance_path) / name.lower()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Written aside, then linked into place: of several processes starting
            # at once (gunicorn workers), the first one's key wins for all of them.
            draft = path.with_name(f".{path.name}.{os.getpid()}")
            draft.write_text(secrets.token_urlsafe(48))
            draft.chmod(0o600)
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        app.config[name] = path.read_text().strip()


def _database_connect_timeout(app: Flask) -> None:
    """A PostgreSQL that does not answer is given DB_CONNECT_TIMEOUT seconds, so a
    request during an outage gets its 503 quickly instead of hanging."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = {"connect_timeout": app.config["DB_CONNECT_TIMEOUT"],
                               **options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def register_extensions(app: Flask) -> None:
    from campaign import i18n, security, static_files, urls
    from campaign.extensions import babel, cache, csrf, db, limiter, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    cache.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    urls.init_app(app)
    static_files.init_app(app)
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


def register_errorhandlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    from campaign.organiser.access import PermissionDenied
    from campaign.security import CrossSiteRefused

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
    app.register_error_handler(CrossSiteRefused, page("errors/cross_site.html", 403))
    app.register_error_handler(429, page("errors/429.html", 429))
    app.register_error_handler(500, page("errors/500.html", 500))

    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    def database_unavailable(error):
        # The database is down or unreachable (an outage, a restart, a failover): a
        # passing state, so 503 with a time to come back, not a 500. Each request
        # tries again (pool_pre_ping), so the site recovers by itself.
        app.logger.warning("database unavailable: %s", type(error).__name__)
        response = app.make_response((render_template("errors/503.html", error=error), 503))
        response.headers["Retry-After"] = str(app.config["DB_RETRY_AFTER_SECONDS"])
        return response

    for error_class in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(error_class, database_unavailable)


def register_commands(app: Flask) -> None:
    """Commands that span every feature; each feature registers its own."""
    from campaign import demo, translate_cli

    demo.init_app(app)
    translate_cli.init_app(app)


def _redact_logs() -> None:
    """No raw IP address, e-mail address or link token may reach a log line."""
    from campaign.privacy import redact

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    redact.install("werkzeug", "gunicorn.access", "gunicorn.error", "campaign")
