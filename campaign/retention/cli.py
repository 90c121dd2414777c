"""`flask retention run`: anonymise the signatures of campaigns past their retention
period and delete the requests to sign a statement that are kept no longer. Run it
daily (cron, a scheduler) if no worker runs; it is idempotent."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from campaign.extensions import db
from campaign.retention import services
from campaign.statements import services as statements

retention_cli = AppGroup("retention", help="Anonymise old campaigns' signatures; delete old requests to sign.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Only list what is due.")
def run_command(dry_run: bool) -> None:
    """Anonymise every signature of campaigns closed (or archived) longer ago than
    their retention period (counts are kept) and delete their statements' requests
    to sign not on the list; delete requests to sign whose link expired unconfirmed,
    and those declined more than STATEMENT_DECLINED_DAYS ago."""
    declined_days = current_app.config["STATEMENT_DECLINED_DAYS"]
    if dry_run:
        for campaign in services.due_campaigns(db.session):
            left = services.remaining(db.session, campaign)
            requests = statements.unlisted_requests(db.session, campaign)
            if left or requests:
                due = f"{left} signature(s) to anonymise"
                if requests:
                    due += f", {requests} request(s) to sign to delete"
                click.echo(f"{campaign.slug}\t{campaign.state.value}\tdue since "
                           f"{services.anonymise_at(campaign):%Y-%m-%d}\t{due}")
        old = statements.requests_due(db.session)
        if old.expired or old.declined:
            click.echo(f"requests to sign a statement: {old.expired} unconfirmed with an expired link, "
                       f"{old.declined} declined over {declined_days} day(s) ago, to delete")
        return
    # Each batch is its own transaction: a large campaign never holds one long lock.
    result = services.anonymise_due(db.session, after_batch=db.session.commit)
    expired = statements.delete_expired_requests(db.session)
    declined = statements.delete_declined_requests(db.session)
    db.session.commit()
    click.echo(f"retention: {result.signatures} signature(s) anonymised in {result.campaigns} campaign(s)")
    click.echo(f"retention: {result.requests + expired + declined} request(s) to sign a statement deleted "
               f"({result.requests} at the end of the retention period, {expired} unconfirmed with an "
               f"expired link, {declined} declined over {declined_days} day(s) ago)")


def init_app(app: Flask) -> None:
    app.cli.add_command(retention_cli)
