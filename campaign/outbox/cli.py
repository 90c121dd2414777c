"""`flask worker`: delivers the outbox and runs the periodic jobs that features register."""
from __future__ import annotations

import signal
import time

import click
from flask import Flask, current_app

from campaign.extensions import db
from campaign.jobs import run_due_jobs
from campaign.mail.backends import backend_for
from campaign.outbox.services import deliver_due


def run_worker(app: Flask, *, once: bool = False, stop=lambda: False) -> int:
    """Deliver due messages until stopped (or, with ``once``, until none are due)."""
    mail = backend_for(app)
    total = 0
    last_run: dict[str, float] = {}  # every job is due at start
    while not stop():
        # With ``once``, every job runs on each pass, as an operator draining by hand expects.
        run_due_jobs(app, db.session, last_run, now=time.monotonic(), everything=once)
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
