"""Public views of statements: the request to be added, its confirmation, the
signatory's withdrawal, the version history and the PDF."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for

from campaign.campaigns.models import CampaignKind
from campaign.campaigns.page import public_campaign_or_404
from campaign.extensions import db, limiter
from campaign.i18n import LANGUAGES, current_language
from campaign.statements import pdf, services
from campaign.statements.forms import ButtonForm, EndorseForm
from campaign.statements.models import SignatoryKind
from campaign.statements.services import EndorsementInput, TokenError

bp = Blueprint("statements", __name__, url_prefix="/<lang_code>")


def _statement_or_404(slug: str):
    campaign = public_campaign_or_404(slug)
    if campaign.kind != CampaignKind.statement:
        abort(404)
    return campaign


def _sign_limit() -> str:
    return current_app.config["RATELIMIT_SIGN"]


def _render_endorse(campaign, form, status=200):
    return render_template("statements/endorse.html", campaign=campaign, form=form), status


@bp.route("/c/<slug>/endorse", methods=["GET", "POST"])
@limiter.limit(_sign_limit, methods=["POST"])
def endorse(slug: str):
    """"Add my name / my organisation" to a statement."""
    campaign = _statement_or_404(slug)
    if not campaign.is_open:
        return _render_endorse(campaign, None, 409)
    lang = current_language()
    form = EndorseForm(lang)
    if not form.is_submitted():
        return _render_endorse(campaign, form)
    if not form.validate_on_submit():
        return _render_endorse(campaign, form, form.error_status)
    if not form.homepage.data:
        services.request_endorsement(
            db.session, campaign,
            EndorsementInput(kind=SignatoryKind(form.kind.data), names=form.names(), roles=form.roles(),
                             country=form.country.data, email=form.email.data, url=form.website.data),
            locale=lang,
        )
        db.session.commit()
    # A bot that filled the honeypot sees the same answer; nothing is stored.
    return redirect(url_for(".check_email", slug=slug), code=303)


@bp.get("/c/<slug>/endorse/check-email")
def check_email(slug: str):
    return render_template("statements/check_email.html", campaign=_statement_or_404(slug))


def _bad_link(error: TokenError):
    return render_template("statements/bad_link.html", expired=error.expired), 410 if error.expired else 404


@bp.get("/endorse/confirm/<token>")
def confirm(token: str):
    try:
        signatory = services.find_request(db.session, token)
    except TokenError as exc:
        return _bad_link(exc)
    return render_template("statements/confirm.html", campaign=signatory.campaign, signatory=signatory,
                           form=ButtonForm(), token=token)


@bp.post("/endorse/confirm/<token>")
def confirm_post(token: str):
    ButtonForm().require_button()
    try:
        signatory = services.confirm_request(db.session, token)
    except TokenError as exc:
        return _bad_link(exc)
    db.session.commit()
    return render_template("statements/confirmed.html", campaign=signatory.campaign)


@bp.get("/endorse/withdraw/<token>")
def withdraw(token: str):
    try:
        signatory = services.find_for_withdrawal(db.session, token)
    except TokenError as exc:
        return _bad_link(exc)
    return render_template("statements/withdraw.html", campaign=signatory.campaign, signatory=signatory,
                           form=ButtonForm(), token=token)


@bp.post("/endorse/withdraw/<token>")
def withdraw_post(token: str):
    ButtonForm().require_button()
    try:
        signatory = services.withdraw(db.session, token)
    except TokenError as exc:
        return _bad_link(exc)
    db.session.commit()
    return render_template("statements/withdrawn.html", campaign=signatory.campaign)


@bp.get("/c/<slug>/versions")
def versions(slug: str):
    campaign = _statement_or_404(slug)
    lang = current_language()
    return render_template("statements/versions.html", campaign=campaign, text=campaign.text(lang),
                           history=services.history(db.session, campaign, lang))


# Making a PDF costs seconds of CPU when it is not cached: per client address.
PDF_LIMIT = "20 per minute;200 per hour"


def _pdf_response(slug: str, languages: list[str], filename: str):
    campaign = _statement_or_404(slug)
    try:
        data = pdf.render(db.session, campaign, languages)
    except pdf.PdfUnavailable:
        return render_template("statements/pdf_unavailable.html", campaign=campaign), 503
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{campaign.slug}-{filename}.pdf"',
        "Cache-Control": "public, max-age=60",
    })


@bp.get("/c/<slug>/statement.pdf")
@limiter.limit(PDF_LIMIT)
def statement_pdf(slug: str):
    """The statement and its numbered signatories in the page's language."""
    return _pdf_response(slug, [current_language()], current_language())


@bp.get("/c/<slug>/statement-bilingual.pdf")
@limiter.limit(PDF_LIMIT)
def statement_pdf_bilingual(slug: str):
    """Both languages in one file, the page's language first."""
    lang = current_language()
    return _pdf_response(slug, [lang] + [other for other in LANGUAGES if other != lang], "bilingual")


def signatories_section(campaign, lang: str, preview: bool) -> dict:
    """The campaign page's section of named signatories (statements only): public
    fields, approved signatories only."""
    if campaign.kind != CampaignKind.statement:
        return {"hidden": True}
    signatories = services.public_signatories(db.session, campaign)
    all_versions = services.versions(db.session, campaign)
    return {
        "groups": services.numbered_groups(db.session, campaign, signatories),
        "total": len(signatories),
        "version": all_versions[-1] if all_versions else None,
        "version_count": len(all_versions),
    }
