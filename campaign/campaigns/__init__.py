"""Campaigns: appeals, petitions and statements in two languages, their demands, and
the public campaign page that the other features add their sections to."""
from __future__ import annotations

from flask import Flask

from campaign.jobs import register_job


def init_app(app: Flask) -> None:
    from campaign.campaigns import cli, manage, routes, services

    app.register_blueprint(routes.bp)
    app.register_blueprint(manage.bp)
    cli.init_app(app)
    register_job(app, "campaigns.close_expired", lambda session: services.close_expired(session), every=60)
