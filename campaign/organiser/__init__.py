"""Organisers: accounts, two-factor, organisations and teams, the audit log."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from campaign.organiser import cli, manage

    app.register_blueprint(manage.bp)
    cli.init_app(app)
