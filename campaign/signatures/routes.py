from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from campaign.amplify.share import campaign_link, share_panel
from campaign.campaigns import page
from campaign.campaigns.models import Campaign
from campaign.campaigns.page import public_campaign_or_404
from campaign.extensions import db, limiter
from campaign.i18n import current_language
from campaign.privacy.keys import client_ip_key, utcnow
from campaign.public_cache import public
from campaign.signatures import crowds, services
from campaign.signatures.forms import ConfirmForm, ResendForm, SignForm
from campaign.signatures.models import Visibility
from campaign.signatures.services import SignInput, TokenError, TokenProblem, country_breakdown, recent_public_signers
from campaign.targets.services import letters_pass

bp = Blueprint("signatures", __name__, url_prefix="/<lang_code>")

CHECK_FAILED = _l("The automatic check of your browser did not work (it may have expired). It has started again: "
                  "please wait for it to finish, then press Sign.")


# --- this feature's sections of the campaign page ---

def sign_section(campaign: Campaign, lang: str, preview: bool) -> dict:
    """The count and the sign form (switched off in the editor's preview)."""
    form = None
    if campaign.is_open or preview:
        form = SignForm(lang, formdata=None, ref=page.REFERRAL_SLOT)
    return {"form": form}


def recent_signers_section(campaign: Campaign, lang: str, preview: bool) -> dict:
    # "5 minutes ago" is measured from now: the time a signer confirmed is UTC.
    return {"signers": recent_public_signers(db.session, campaign), "now": utcnow()}


def countries_section(campaign: Campaign, lang: str, preview: bool) -> dict:
    minimum = current_app.config["PUBLIC_BREAKDOWN_MIN"]
    return {"breakdown": country_breakdown(db.session, campaign, minimum), "minimum": minimum}


def _resend_limit() -> str:
    return current_app.config["RATELIMIT_RESEND"]


@dataclass(frozen=True)
class Submission:
    """What became of a posted sign form: ``taken`` (the signer goes on to "check
    your e-mail"), or the form is shown again with ``status`` (and a proof of work
    to do when ``challenge`` is set)."""
    taken: bool
    status: int = 303
    challenge: dict | None = None


def submit(campaign: Campaign, form: SignForm, lang: str, *, referral: str | None) -> Submission:
    """Take a posted sign form: the one path of the campaign page's form and the
    embedded one (signatures/embed.py). Commits when a signature is stored."""
    if not form.validate_on_submit():
        return Submission(False, form.error_status)
    if form.website.data:
        # A bot filled the honeypot: it sees the usual answer (same status, same
        # page), nothing is stored.
        return Submission(True)
    ip_key = client_ip_key()
    admission = crowds.admit(
        db.session, ip_key,
        solution=request.form.get(crowds.SOLUTION_FIELD) or None,
        offered=bool(request.form.get(crowds.OFFERED_FIELD)),
    )
    if admission in (crowds.Admission.ask, crowds.Admission.refused):
        db.session.rollback()
        if admission == crowds.Admission.refused:
            form.form_errors.append(str(CHECK_FAILED))
        return Submission(False, 200 if admission == crowds.Admission.ask else 422, crowds.new_challenge())
    signature, _outcome = services.sign(
        db.session,
        campaign,
        SignInput(
            name=form.name.data,
            email=form.email.data,
            country=form.country.data,
            comment=form.comment.data,
            visibility=Visibility(form.visibility.data),
            opt_in=bool(form.opt_in.data),
            referral=referral,
        ),
        locale=lang,
        ip_key=ip_key,
    )
    if admission == crowds.Admission.hold:
        services.hold(db.session, signature)
    db.session.commit()
    crowds.count_signing(ip_key)
    return Submission(True)


@bp.post("/c/<slug>/sign")
def sign(slug: str):
    # No hard limit here: a crowd on one address is admitted in tiers (crowds.py).
    # Its texts and demands load only if the page must be shown again.
    campaign = public_campaign_or_404(slug, lean=True)
    if not campaign.is_open:
        return page.render(campaign, status=409)
    lang = current_language()
    form = SignForm(lang)
    result = submit(campaign, form, lang, referral=form.ref.data)
    if result.taken:
        return redirect(url_for(".check_email", slug=slug), code=303)
    return page.render(campaign, status=result.status, overrides={
        "sign": {"form": form, "challenge": result.challenge},
    })


@bp.get("/c/<slug>/check-email")
@public
def check_email(slug: str):
    campaign = public_campaign_or_404(slug)
    return render_template("signatures/check_email.html", campaign=campaign, form=ResendForm(formdata=None))


# One allowance for both "send the link again" forms (the site's and the embedded one).
RESEND_SCOPE = "signatures-resend"


@bp.post("/c/<slug>/resend")
@limiter.shared_limit(_resend_limit, scope=RESEND_SCOPE)
def resend(slug: str):
    campaign = public_campaign_or_404(slug)
    form = ResendForm()
    if not form.validate_on_submit():
        return render_template("signatures/check_email.html", campaign=campaign, form=form), form.error_status
    services.request_link(db.session, campaign, form.email.data, locale=current_language())
    db.session.commit()
    return redirect(url_for(".check_email", slug=slug, resent=1), code=303)


def _token_problem(problem: TokenProblem, signature=None):
    campaign = signature.campaign if signature is not None else None
    # Only the expired page shows the form: building one anyway makes a CSRF token,
    # which puts a session cookie on a page that has nothing to submit.
    form = ResendForm(formdata=None) if campaign is not None and problem == TokenProblem.expired else None
    status = 410 if problem == TokenProblem.expired else 404
    if problem == TokenProblem.closed:
        status = 409
    return render_template("signatures/token_problem.html", problem=problem.value, campaign=campaign, form=form), status


@bp.get("/confirm/<token>")
def confirm(token: str):
    try:
        signature = services.find_for_confirmation(db.session, token)
    except TokenError as exc:
        return _token_problem(exc.problem, exc.signature)
    if signature.state.value == "verified":
        return redirect(url_for(".thanks", slug=signature.campaign.slug, p=letters_pass(signature)))
    # The details are shown so that nobody can confirm, unseen, what someone else
    # typed with their address (signing again replaces an unconfirmed signature).
    return render_template("signatures/confirm.html", campaign=signature.campaign, signature=signature,
                           public_name=services.public_name(signature), form=ConfirmForm(), token=token)


@bp.post("/confirm/<token>")
def confirm_post(token: str):
    ConfirmForm().require_button()
    try:
        signature = services.verify(db.session, token)
    except TokenError as exc:
        return _token_problem(exc.problem, exc.signature)
    db.session.commit()
    # The pass (a short-lived signed token, no cookie) lets the signer write to the
    # campaign's targets from the thank-you page.
    return redirect(url_for(".thanks", slug=signature.campaign.slug, confirmed=1, p=letters_pass(signature)),
                    code=303)


@bp.get("/c/<slug>/thanks")
@public
def thanks(slug: str):
    campaign = public_campaign_or_404(slug)
    lang = current_language()
    letters_pass = request.args.get("p")
    response = make_response(render_template(
        "signatures/thanks.html",
        campaign=campaign,
        share=share_panel(campaign, lang),
        campaign_url=campaign_link(campaign, lang),
        letters_pass=letters_pass,
    ))
    if letters_pass:
        # This signer's pass to write to the targets is in the page: no cache keeps it.
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/withdraw/<token>")
def withdraw(token: str):
    try:
        signature = services.find_for_withdrawal(db.session, token)
    except TokenError as exc:
        return _token_problem(exc.problem, exc.signature)
    return render_template("signatures/withdraw.html", campaign=signature.campaign, form=ConfirmForm(), token=token)


@bp.post("/withdraw/<token>")
def withdraw_post(token: str):
    ConfirmForm().require_button()
    try:
        signature = services.withdraw(db.session, token)
    except TokenError as exc:
        return _token_problem(exc.problem, exc.signature)
    db.session.commit()
    return render_template("signatures/withdrawn.html", campaign=signature.campaign)
