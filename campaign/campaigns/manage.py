"""The campaign editor: /<lang>/manage/campaigns/… — a campaign's workspace page,
creating, editing both languages side by side, previewing, and the state buttons.

Thin views: the form turns the request into plain values, campaign.campaigns.services
checks permissions, changes and audits; the view commits or rolls back.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from campaign.amplify.share import campaign_link
from campaign.campaigns import page, services
from campaign.campaigns.forms import CampaignForm, NewCampaignForm, field_errors, form_data_for
from campaign.campaigns.models import Campaign, CampaignKind, CampaignState
from campaign.campaigns.services import Missing, NotReady
from campaign.extensions import db
from campaign.i18n import LANGUAGES, current_language
from campaign.organiser import access
from campaign.organiser.access import Permission
from campaign.organiser.auth import campaign_for, current_organiser, login_required
from campaign.sanitize import render_markdown
from campaign.states import TransitionError

bp = Blueprint("manage_campaigns", __name__, url_prefix="/<lang_code>/manage/campaigns")



def _to_workspace(campaign: Campaign):
    return redirect(url_for(".campaign", campaign_id=campaign.id), code=303)


def missing_field_id(item: Missing) -> str:
    """The edit page's field for a missing item, so the list can link to it."""
    if item.field in ("demand_title", "demand_body"):
        part = "title" if item.field == "demand_title" else "body"
        return f"demands-{(item.position or 1) - 1}-{item.locale}-{part}"
    return f"{item.locale}-{'body_md' if item.field == 'body' else item.field}"


def _editable_organisations(organiser):
    return [
        o for o in access.organisations_of(db.session, organiser)
        if access.allowed(organiser, Permission.edit_campaigns, o.id)
    ]


# --- the workspace page ---

def _render_workspace(campaign: Campaign, *, refused: list[Missing] | None = None, status: int = 200):
    missing = services.missing_for_publish(campaign) if campaign.state == CampaignState.draft else []
    return (
        render_template(
            "campaigns/manage/campaign.html",
            campaign=campaign,
            text=campaign.text(current_language()),
            missing=refused if refused is not None else missing,
            refused=refused is not None,
            missing_field_id=missing_field_id,
            public_url=campaign_link(campaign, current_language()) if services.is_public(campaign) else None,
        ),
        status,
    )


@bp.get("/<int:campaign_id>/")
@login_required
def campaign(campaign_id: int):
    return _render_workspace(campaign_for(campaign_id, Permission.view_campaigns))


# --- creating ---

@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    organiser = current_organiser()
    organisations = _editable_organisations(organiser)
    if not organisations:
        abort(403)
    form = NewCampaignForm(organisations)
    if form.validate_on_submit():
        try:
            campaign = services.create(
                db.session, organiser,
                organisation_id=form.organisation.data,
                kind=CampaignKind(form.kind.data),
                slug=form.slug.data,
            )
        except services.SlugTaken:
            db.session.rollback()
            form.slug.errors.append(_("Another campaign already uses this address. Please choose another."))
        else:
            db.session.commit()
            flash(_("Campaign created. Write it in both languages, then publish it."), "success")
            return redirect(url_for(".edit", campaign_id=campaign.id), code=303)
    status = 422 if form.errors else 200
    return render_template("campaigns/manage/new.html", form=form), status


# --- editing ---

def _render_form(campaign: Campaign, form: CampaignForm, *, preview: dict | None = None,
                 refused: list[Missing] | None = None, status: int = 200):
    return (
        render_template(
            "campaigns/manage/edit.html",
            campaign=campaign,
            form=form,
            errors=field_errors(form),
            preview=preview,
            refused=refused,
            may_set_retention=access.allowed(current_organiser(), Permission.manage_retention,
                                             campaign.organisation_id),
            missing=services.missing_for_publish(campaign) if campaign.state == CampaignState.draft else [],
            missing_field_id=missing_field_id,
        ),
        status,
    )


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@login_required
def edit(campaign_id: int):
    campaign = campaign_for(campaign_id, Permission.edit_campaigns)
    if campaign.state == CampaignState.archived:
        flash(_("Archived campaigns can no longer be changed."), "error")
        return _to_workspace(campaign)
    if request.method == "GET":
        form = CampaignForm(data=form_data_for(campaign), stored_closes_at=campaign.closes_at)
        form.add_blank_demands()
        return _render_form(campaign, form)

    form = CampaignForm(stored_closes_at=campaign.closes_at)
    action = request.form.get("action", "save")
    if action == "preview":
        # Nothing is saved: the bodies are rendered and cleaned exactly as on save.
        preview = {lang: render_markdown(form[lang].body_md.data or "") for lang in LANGUAGES}
        return _render_form(campaign, form, preview=preview)
    if action == "more":
        form.add_blank_demands()
        return _render_form(campaign, form)

    if not form.validate():
        return _render_form(campaign, form, status=422)
    try:
        changed = services.save(db.session, current_organiser(), campaign, form.changes())
    except services.SlugTaken:
        db.session.rollback()
        form.slug.errors.append(_("Another campaign already uses this address. Please choose another."))
        return _render_form(db.session.get(Campaign, campaign_id), form, status=422)
    except NotReady as exc:
        # A public campaign may not lose a language: nothing is saved.
        db.session.rollback()
        return _render_form(db.session.get(Campaign, campaign_id), form, refused=exc.missing, status=422)
    db.session.commit()
    page.forget(campaign)
    flash(_("Saved.") if changed else _("No changes to save."), "success")
    return redirect(url_for(".edit", campaign_id=campaign_id), code=303)


@bp.get("/<int:campaign_id>/keepalive")
@login_required
def keepalive(campaign_id: int):
    """Pinged by static/js/editor.js while someone is typing, so writing a long text
    does not outlast the idle timeout and lose everything at "Save"."""
    campaign_for(campaign_id, Permission.edit_campaigns)
    return "", 204


@bp.errorhandler(CSRFError)
def csrf_failed(error):
    """An expired form token on the edit page: show everything typed again with a
    fresh token, instead of losing an hour of writing."""
    campaign_id = (request.view_args or {}).get("campaign_id")
    if request.endpoint == "manage_campaigns.edit" and campaign_id is not None:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is not None and access.allowed(current_organiser(), Permission.edit_campaigns,
                                                   campaign.organisation_id):
            form = CampaignForm(stored_closes_at=campaign.closes_at)
            form.form_errors.append(_("Your form expired. Nothing was saved: please check it and save again."))
            return _render_form(campaign, form, status=400)
    return render_template("errors/csrf.html"), 400


# --- preview ---

@bp.get("/<int:campaign_id>/preview")
@login_required
def preview(campaign_id: int):
    """The public page exactly as it will look, with a banner and a disabled form."""
    return page.render(campaign_for(campaign_id, Permission.view_campaigns), preview=True)


# --- state changes ---

@bp.post("/<int:campaign_id>/publish")
@login_required
def publish(campaign_id: int):
    campaign = campaign_for(campaign_id, Permission.edit_campaigns)
    try:
        services.publish(db.session, current_organiser(), campaign)
    except NotReady as exc:
        db.session.rollback()
        return _render_workspace(db.session.get(Campaign, campaign_id), refused=exc.missing, status=422)
    except TransitionError:
        db.session.rollback()
        flash(_("This campaign cannot be published in its current state."), "error")
        return _to_workspace(campaign)
    db.session.commit()
    page.forget(campaign)
    flash(_("Published: the campaign is now public and accepts signatures."), "success")
    return _to_workspace(campaign)


def _change_state(campaign: Campaign, change, done: str, refusals: dict[type[Exception], str]):
    """Apply a state change (services.close, …); on a refusal listed in ``refusals``
    (most specific first) roll back and say why. Back to the workspace either way."""
    try:
        change(db.session, current_organiser(), campaign)
    except tuple(refusals) as exc:
        db.session.rollback()
        flash(next(message for kind, message in refusals.items() if isinstance(exc, kind)), "error")
        return _to_workspace(campaign)
    db.session.commit()
    page.forget(campaign)
    flash(done, "success")
    return _to_workspace(campaign)


@bp.post("/<int:campaign_id>/close")
@login_required
def close(campaign_id: int):
    return _change_state(
        campaign_for(campaign_id, Permission.edit_campaigns), services.close,
        _("Closed: the page stays online but no longer accepts signatures."),
        {TransitionError: _("Only an open campaign can be closed.")},
    )


@bp.post("/<int:campaign_id>/reopen")
@login_required
def reopen(campaign_id: int):
    return _change_state(
        campaign_for(campaign_id, Permission.edit_campaigns), services.reopen,
        _("Reopened: the campaign accepts signatures again."),
        {
            services.CloseDatePassed: _("The close date has passed. Change or remove it on the edit page, then reopen."),
            NotReady: _("Complete both languages on the edit page, then reopen."),
            TransitionError: _("Only a closed campaign can be reopened."),
        },
    )


@bp.post("/<int:campaign_id>/archive")
@login_required
def archive(campaign_id: int):
    campaign = campaign_for(campaign_id, Permission.manage_retention)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm that you want to archive this campaign."), "error")
        return _to_workspace(campaign)
    return _change_state(
        campaign, services.archive,
        _("Archived. The campaign can no longer be changed or reopened."),
        {TransitionError: _("Close the campaign before archiving it.")},
    )
