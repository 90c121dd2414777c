"""Signatures: sign, confirm by e-mail, withdraw, and the counts."""
from __future__ import annotations

from flask import Flask

from campaign.extensions import csrf
from campaign.jobs import register_job


def init_app(app: Flask) -> None:
    from campaign.campaigns.page import register_section
    from campaign.outbox.services import on_message_due, on_message_finished, register_composer, register_task
    from campaign.signatures import cli, crowds, embed, routes, services

    app.register_blueprint(routes.bp)
    csrf.exempt(routes.bp)  # public forms: PublicForm refuses cross-site posts instead
    embed.init_app(app)  # the sign form in other sites' pages: /embed/<slug>/sign
    cli.init_app(app)
    register_section(app, "count", "signatures/_count.html", slot="header", order=10)
    register_section(app, "sign", "signatures/_sign.html", routes.sign_section, slot="aside", order=10)
    register_section(app, "recent_signers", "signatures/_recent_signers.html", routes.recent_signers_section,
                     order=60)
    register_section(app, "countries", "signatures/_countries.html", routes.countries_section, order=70)
    # Erasing an address once its last mail is delivered is a privacy promise.
    on_message_finished(app, services.release_after_delivery)
    # A double click or a second "resend" mails the same links once, not twice.
    on_message_due(app, services.repeat_of_a_recent_mail)
    # The resend form's look-up runs in the worker: the request does the same work
    # whatever the address (see request_link).
    register_task(app, "signatures.resend_link", services.resend_link_task)
    # Signing: the request queues what was typed; the worker stores it and renders
    # the mail (see take_signature).
    register_composer(app, services.LINK_MAIL_COMPOSER, services.compose_link_mail)
    register_task(app, services.TAKE_SIGNATURE_TASK, services.take_signature_task)
    register_task(app, services.SIGN_AGAIN_TASK, services.sign_again_task)
    register_job(app, "signatures.erase_expired_pending", services.erase_expired_pending, every=60)
    register_job(app, "signatures.fold_counts", services.fold_counts, every=1)
    register_job(app, "signatures.forget_expired_challenges", crowds.forget_expired_challenges, every=300)
