"""Amplify: the share panel (networks, copy link, QR code, the phone's share sheet)
on the campaign and thank-you pages, share cards for link previews, milestone
posts, and prefilled posts at a campaign's targets."""
from __future__ import annotations

from flask import Flask

from campaign.i18n import current_language


def init_app(app: Flask) -> None:
    from campaign.amplify import cards, milestones, routes
    from campaign.campaigns.page import register_section
    from campaign.jobs import register_job

    app.register_blueprint(routes.bp)
    register_section(app, "share", "amplify/_share_section.html", routes.share_section, slot="main", order=40)
    register_job(app, "amplify.milestones", milestones.queue_milestone_posts, every=60)

    @app.context_processor
    def share_cards():
        def share_card_url(campaign) -> str | None:
            """The campaign's og:image, where cards can be drawn."""
            if not cards.available():
                return None
            from campaign.urls import external_url

            return external_url("amplify.card", lang_code=current_language(), slug=campaign.slug)

        return {"share_card_url": share_card_url}
