"""Amplify: the share panel (networks, copy link, QR code, the phone's share sheet)
on the campaign and thank-you pages, and prefilled posts at a campaign's targets."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from campaign.amplify import milestones, routes
    from campaign.campaigns.page import register_section
    from campaign.jobs import register_job

    app.register_blueprint(routes.bp)
    register_section(app, "share", "amplify/_share_section.html", routes.share_section, slot="main", order=40)
    register_job(app, "amplify.milestones", milestones.queue_milestone_posts, every=60)
