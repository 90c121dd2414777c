"""Per-campaign numbers for organisers: signatures over time, by country and share channel, views to signatures."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from campaign.campaigns.page import on_public_view
    from campaign.dashboard import manage, services

    app.register_blueprint(manage.bp)
    on_public_view(app, services.count_view)
