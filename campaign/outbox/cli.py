"""`flask worker`: delivers the outbox and runs the periodic housekeeping."""
from __future__ import annotations

import signal
import time

import click
from flask import Flask, current_app

from campaign.extensions import db
from campaign.housekeeping import run_housekeeping
from campaign.mail.backends import backend_for
from campaign.outbox.services import deliver_due
from campaign.updates.services import queue_due_updates


# Retention is measured in days; checking hourly is plenty.
RETENTION_EVERY_SECONDS = 3600


def run_worker(app: Flask, *, once: bool = False, stop=lambda: False) -> int:
    """Deliver due messages until stopped (or, with ``once``, until none are due)."""
    mail = backend_for(app)
    total = 0
    last_housekeeping = last_retention = float("-inf")  # both due at start
    while not stop():
        now = time.monotonic()
        if now - last_housekeeping > 60 or once:
            retention = once or now - last_retention > RETENTION_EVERY_SECONDS
            run_housekeeping(db.session, retention=retention)
            db.session.commit()
            last_housekeeping = now
            if retention:
                last_retention = now
        # A batch of any update being sent goes into the outbox before delivery.
        queue_due_updates(db.session)
        db.session.commit()
        attempted = deliver_due(app, db.session, mail)
        total += attempted
        if once and attempted == 0:
            break
        if attempted == 0:
            time.sleep(app.config["OUTBOX_POLL_SECONDS"])
    db.session.remove()
    return total


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver everything due, then exit.")
def worker_command(once: bool) -> None:
    """Deliver queued e-mails (and posts), retrying temporary failures."""
    app = current_app._get_current_object()
    stopping = {"now": False}

    def request_stop(signum, frame):
        stopping["now"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if app.config["MAIL_BACKEND"] == "console" and app.config["PUBLIC_URL"].startswith("https://"):
        # The embedded default prints every address and confirmation link: on a
        # public site that puts signers' data in the process logs.
        click.echo("worker: WARNING: MAIL_BACKEND is 'console' on a public site: every signer's address "
                   "and link will be printed. Set MAIL_BACKEND=smtp or sendgrid.", err=True)
    if not once:
        click.echo(f"worker: delivering mail with the {app.config['MAIL_BACKEND']} backend")
    total = run_worker(app, once=once, stop=lambda: stopping["now"])
    if once:
        click.echo(f"worker: {total} message(s) attempted")


def init_app(app: Flask) -> None:
    app.cli.add_command(worker_command)
