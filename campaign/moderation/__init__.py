"""Moderation: search signatures, invalidate and restore them, the burst panel."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from campaign.moderation import cli, manage

    app.register_blueprint(manage.bp)
    cli.init_app(app)
