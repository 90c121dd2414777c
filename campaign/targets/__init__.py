"""Targets: the directory of those campaigns are addressed to (embassies, UN
bodies, ministries, parliaments, media, NGOs), a campaign's targets and letter, and
letters signers write to them — from their own mailbox, or sent by the platform."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from campaign.campaigns.page import register_section
    from campaign.extensions import csrf
    from campaign.outbox.services import on_message_finished
    from campaign.targets import cli, manage, routes, services

    app.register_blueprint(routes.bp)
    csrf.exempt(routes.bp)  # public forms: PublicForm refuses cross-site posts instead
    app.register_blueprint(manage.bp)
    cli.init_app(app)
    # In "main", after the text and demands: a list of targets with counters and a
    # link to write is too long for the header, which keeps the count and "Sign now".
    register_section(app, "addressed_to", "targets/_addressed_to.html", routes.addressed_to_section,
                     slot="main", order=20)
    # A letter follows its outbox message: sent, failed, or cancelled on withdrawal.
    on_message_finished(app, services.letter_finished)
    on_message_finished(app, services.delivery_finished)
    register_section(app, "responses", "targets/_responses.html", routes.responses_section, slot="main", order=21)
    register_section(app, "delivered_to", "targets/_delivered_to.html", routes.delivered_to_section,
                     slot="main", order=22)
    app.jinja_env.globals["campaign_has_letter_targets"] = services.has_letter_targets
