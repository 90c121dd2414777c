"""Retention: anonymise old closed campaigns; erase a signer's data on request."""
from __future__ import annotations

from flask import Flask

from campaign.extensions import csrf
from campaign.jobs import register_job


def init_app(app: Flask) -> None:
    from campaign.retention import cli, routes, services

    from campaign.outbox.services import register_task

    app.register_blueprint(routes.bp)
    csrf.exempt(routes.bp)  # public forms: PublicForm refuses cross-site posts instead
    cli.init_app(app)
    # The erase form's look-up runs in the worker (see queue_erasure_request).
    register_task(app, "retention.request_erasure", services.request_erasure_task)
    # Retention must not depend on an operator remembering a cron job. It is measured
    # in days, so hourly is plenty; each batch commits, so a large campaign never
    # holds one long transaction.
    register_job(app, "retention.anonymise_due",
                 lambda session: services.anonymise_due(session, after_batch=session.commit).signatures,
                 every=3600)
