"""Statements: named signatories (organisations and individuals), endorsement
requests, versions of the text, and the PDF."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

AUDIT_ACTIONS = {
    "statement.signatories_add": _l("Signatories added to a statement"),
    "statement.signatory_edit": _l("Signatory edited"),
    "statement.signatory_remove": _l("Signatory removed from a statement"),
    "statement.request_approve": _l("Request to sign a statement approved"),
    "statement.request_decline": _l("Request to sign a statement declined"),
    "statement.list_order": _l("Order of a statement's signatories changed"),
    "statement.export_csv": _l("Signatories exported (CSV)"),
    "statement.requests_erase": _l("Requester's data erased on request"),
    "statement.requests_expire": _l("Unconfirmed requests to sign a statement deleted (link expired)"),
    "statement.requests_declined_delete": _l("Declined requests to sign a statement deleted"),
    "statement.requests_retention": _l("Requests to sign a statement deleted at the end of the retention period"),
}


def init_app(app: Flask) -> None:
    """Register the statement feature: its views, commands, audit labels and the
    session hook that versions a public statement's text."""
    from sqlalchemy.orm import Session

    from campaign.campaigns.page import register_section
    from campaign.extensions import csrf
    from campaign.jobs import register_job
    from campaign.organiser.services import AUDIT_ACTIONS as labels
    from campaign.statements import cli, manage, routes, services

    app.register_blueprint(routes.bp)
    csrf.exempt(routes.bp)  # public forms: PublicForm refuses cross-site posts instead
    app.register_blueprint(manage.bp)
    cli.init_app(app)
    # Right after the text and demands, before the ordinary signers (60, 70).
    register_section(app, "signatories", "statements/_section.html", routes.signatories_section, order=40)
    # A request never confirmed goes, names and all, as soon as its link expires; a
    # declined one after STATEMENT_DECLINED_DAYS (days: hourly is plenty). The rest not
    # on the list go with the signatures' details (retention.anonymise_due).
    register_job(app, "statements.delete_expired_requests", services.delete_expired_requests, every=60)
    register_job(app, "statements.delete_declined_requests", services.delete_declined_requests, every=3600)
    labels.update(AUDIT_ACTIONS)
    services.listen(Session)
