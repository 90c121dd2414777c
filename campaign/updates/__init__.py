"""Updates to signers who opted in: compose in every language, test, send once."""
from __future__ import annotations

from flask import Flask

from campaign.extensions import csrf
from campaign.jobs import register_job


def init_app(app: Flask) -> None:
    from campaign.updates import manage, routes, services

    app.register_blueprint(routes.bp)
    csrf.exempt(routes.bp)  # public forms: PublicForm refuses cross-site posts instead
    app.register_blueprint(manage.bp)
    # A batch of any update being sent goes into the outbox on every pass.
    register_job(app, "updates.queue_due", services.queue_due_updates, every=0)
