"""`flask worker`: delivers the outbox and runs the periodic jobs that features register."""
from __future__ import annotations

import logging
import signal
import time

import click
from flask import Flask, current_app
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from campaign.extensions import db
from campaign.jobs import run_due_jobs
from campaign.mail.backends import backend_for
from campaign.outbox.services import MailPause, deliver_due
from campaign.social.backends import backend_for as social_backend_for

log = logging.getLogger(__name__)


# What a database outage (stopped, restarting, unreachable, failing over) raises.
DATABASE_GONE = (OperationalError, InterfaceError, PoolTimeout)


def run_worker(app: Flask, *, once: bool = False, stop=lambda: False) -> int:
    """Deliver due messages until stopped (or, with ``once``, until none are due).

    The long-running worker outlives a database outage of any length: it logs, drops
    the broken session, waits (doubling, up to WORKER_MAX_BACKOFF_SECONDS) and tries
    again. Mail outages are the outbox's temporary failures and never reach here;
    one that every mail would meet pauses mail (``pause``, kept across rounds) while
    tasks and posts go on."""
    mail = backend_for(app)
    social = social_backend_for(app)
    pause = MailPause(app)
    total = 0
    last_run: dict[str, float] = {}  # every job is due at start
    failures = 0
    while not stop():
        try:
            # With ``once``, every job runs on each pass, as an operator draining by hand expects.
            run_due_jobs(app, db.session, last_run, now=time.monotonic(), everything=once)
            attempted = deliver_due(app, db.session, mail, social=social, pause=pause)
        except DATABASE_GONE as exc:
            if once:
                raise
            failures += 1
            wait = min(app.config["OUTBOX_POLL_SECONDS"] * 2 ** failures, app.config["WORKER_MAX_BACKOFF_SECONDS"])
            log.warning("worker: database unavailable (%s); trying again in %.1f s", type(exc).__name__, wait)
            _drop_session()
            _sleep(wait, stop)
            continue
        if failures:
            log.warning("worker: database back after %d failed tries", failures)
            failures = 0
        total += attempted
        if once and attempted == 0:
            break
        if attempted == 0:
            time.sleep(app.config["OUTBOX_POLL_SECONDS"])
    db.session.remove()
    return total


def _drop_session() -> None:
    """Forget the session whose connection broke; the pool reconnects on next use."""
    try:
        db.session.rollback()
    except DATABASE_GONE:
        pass
    db.session.remove()


def _sleep(seconds: float, stop) -> None:
    """Sleep, but wake for a stop request (SIGTERM) within a fraction of a second."""
    until = time.monotonic() + seconds
    while not stop() and time.monotonic() < until:
        time.sleep(min(0.2, max(until - time.monotonic(), 0)))


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
