"""Updates in the workspace: /<lang>/manage/campaigns/<id>/updates… (compose, test,
send). The public unsubscribe pages are in routes.py.

Thin views: the form turns the request into plain values, campaign.updates.services
checks permissions, changes, queues and audits; the view commits or rolls back.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.i18n import LANGUAGES
from campaign.organiser import access
from campaign.organiser.access import Permission
from campaign.organiser.auth import campaign_for, current_organiser, login_required
from campaign.sanitize import render_markdown
from campaign.states import TransitionError
from campaign.updates import services
from campaign.updates.forms import ButtonForm, SendForm, UpdateForm, form_data_for
from campaign.updates.models import Update, UpdateState
from campaign.updates.services import CampaignArchived, UpdateChanged, UpdateIncomplete, UpdateLocked

bp = Blueprint("manage_updates", __name__, url_prefix="/<lang_code>/manage")


def _campaign(campaign_id: int, permission: Permission = Permission.view_campaigns) -> Campaign:
    return campaign_for(campaign_id, permission)


def _update(campaign: Campaign, update_id: int) -> Update:
    update = db.session.get(Update, update_id)
    if update is None or update.campaign_id != campaign.id:
        abort(404)
    return update


def _preview(form: UpdateForm) -> dict:
    """Each language's subject and text as signers will read them (nothing saved)."""
    return {
        lang: {"subject": form[lang].subject.data or "", "html": render_markdown(form[lang].body_md.data or "")}
        for lang in LANGUAGES
    }


def _render_index(campaign: Campaign, form: UpdateForm | None = None, *, preview: dict | None = None,
                  status: int = 200):
    return render_template(
        "updates/manage/index.html",
        campaign=campaign,
        updates=services.updates_of(db.session, campaign),
        counts=services.recipient_counts(db.session, campaign),
        form=form if form is not None else UpdateForm(formdata=None),
        preview=preview,
    ), status


def _render_edit(campaign: Campaign, update: Update, form: UpdateForm | None = None, *,
                 preview: dict | None = None, status: int = 200):
    if form is None:
        form = UpdateForm(formdata=None, data=form_data_for(update))
    return render_template(
        "updates/manage/edit.html",
        campaign=campaign,
        update=update,
        form=form,
        preview=preview,
        counts=services.recipient_counts(db.session, campaign),
    ), status


def _to_edit(campaign: Campaign, update: Update):
    return redirect(url_for(".edit", campaign_id=campaign.id, update_id=update.id), code=303)


def _test_sent_message() -> str:
    return _("A test in both languages is on its way to %(email)s. Signers have not been sent anything.",
             email=current_organiser().email)


@bp.get("/campaigns/<int:campaign_id>/updates")
@login_required
def index(campaign_id: int):
    return _render_index(_campaign(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/updates")
@login_required
def create(campaign_id: int):
    """The composer on the list page: preview, save a draft, or save and test."""
    campaign = _campaign(campaign_id, Permission.edit_campaigns)
    form = UpdateForm()
    if not form.validate():
        return _render_index(campaign, form, status=422)
    action = request.form.get("action", "save")
    if action == "preview":
        return _render_index(campaign, form, preview=_preview(form))
    if action == "test":
        # Checked before anything is saved, so a refused test leaves no half draft.
        missing = services.missing_texts_of(form.texts())
        if missing:
            form.mark_missing(missing)
            return _render_index(campaign, form, status=422)
    try:
        update = services.create_draft(db.session, current_organiser(), campaign, form.texts())
        if action == "test":
            services.send_test(db.session, current_organiser(), update)
    except CampaignArchived:
        db.session.rollback()
        flash(_("This campaign is archived: no more updates can be sent to its signers."), "error")
        return redirect(url_for(".index", campaign_id=campaign_id), code=303)
    db.session.commit()
    flash(_test_sent_message() if action == "test" else _("Draft saved."), "success")
    return _to_edit(campaign, update)


@bp.route("/campaigns/<int:campaign_id>/updates/<int:update_id>", methods=["GET", "POST"])
@login_required
def edit(campaign_id: int, update_id: int):
    campaign = _campaign(campaign_id)
    update = _update(campaign, update_id)
    if request.method == "GET":
        return _render_edit(campaign, update)
    access.require_campaign(current_organiser(), Permission.edit_campaigns, campaign)
    form = UpdateForm()
    if not form.validate():
        return _render_edit(campaign, update, form, status=422)
    action = request.form.get("action", "save")
    if action == "preview":
        return _render_edit(campaign, update, form, preview=_preview(form))
    try:
        changed = services.save_draft(db.session, current_organiser(), update, form.texts())
        if action == "test":
            services.send_test(db.session, current_organiser(), update)
    except UpdateLocked:
        db.session.rollback()
        flash(_("This update has been sent: it can no longer be changed."), "error")
        return _to_edit(campaign, update)
    except UpdateIncomplete as exc:
        db.session.rollback()
        form.mark_missing(exc.missing)
        return _render_edit(campaign, db.session.get(Update, update_id), form, status=422)
    db.session.commit()
    if action == "test":
        flash(_test_sent_message(), "success")
    else:
        flash(_("Draft saved.") if changed else _("No changes to save."), "success")
    return _to_edit(campaign, update)


@bp.errorhandler(CSRFError)
def csrf_failed(error):
    """An expired form token while composing: show everything typed again, with a
    fresh token, instead of losing the text."""
    args = request.view_args or {}
    campaign = db.session.get(Campaign, args["campaign_id"]) if "campaign_id" in args else None
    if campaign is not None and request.endpoint in ("manage_updates.create", "manage_updates.edit") and access.allowed(
            current_organiser(), Permission.edit_campaigns, campaign.organisation_id):
        form = UpdateForm()
        form.form_errors.append(_("Your form expired. Nothing was saved: please check it and save again."))
        update = db.session.get(Update, args["update_id"]) if "update_id" in args else None
        if update is not None and update.campaign_id == campaign.id:
            return _render_edit(campaign, update, form, status=400)
        return _render_index(campaign, form, status=400)
    return render_template("errors/csrf.html"), 400


@bp.route("/campaigns/<int:campaign_id>/updates/<int:update_id>/send", methods=["GET", "POST"])
@login_required
def send(campaign_id: int, update_id: int):
    """Confirm with the number of recipients per language, then send (once)."""
    campaign = _campaign(campaign_id, Permission.send_updates)
    update = _update(campaign, update_id)
    if update.state != UpdateState.draft:
        flash(_("This update has already been sent."), "error")
        return _to_edit(campaign, update)
    missing = services.missing_texts(update)
    form = SendForm()
    changed = False
    if request.method == "POST" and not missing:
        if not form.validate_on_submit():
            abort(400)
        try:
            counts = services.start_sending(db.session, current_organiser(), update,
                                            seen_version=form.version.data or "")
        except UpdateChanged:
            db.session.rollback()
            changed = True
            update = db.session.get(Update, update_id)
        except TransitionError:
            db.session.rollback()
            flash(_("This update has already been sent."), "error")
            return _to_edit(campaign, db.session.get(Update, update_id))
        except CampaignArchived:
            db.session.rollback()
            flash(_("This campaign is archived: no more updates can be sent to its signers."), "error")
            return _to_edit(campaign, db.session.get(Update, update_id))
        else:
            db.session.commit()
            total = sum(counts.values())
            flash(ngettext("Sending to %(num)s signer. The e-mails go out over the next minutes.",
                           "Sending to %(num)s signers. The e-mails go out over the next minutes.", total),
                  "success")
            return _to_edit(campaign, update)
    form.version.data = services.version_of(update)
    return render_template(
        "updates/manage/send.html", campaign=campaign, update=update, form=form, missing=missing,
        changed=changed, counts=services.recipient_counts(db.session, campaign),
    ), (409 if changed else 422 if request.method == "POST" else 200)


@bp.post("/campaigns/<int:campaign_id>/updates/<int:update_id>/delete")
@login_required
def delete(campaign_id: int, update_id: int):
    campaign = _campaign(campaign_id, Permission.edit_campaigns)
    update = _update(campaign, update_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        services.delete_draft(db.session, current_organiser(), update)
    except UpdateLocked:
        db.session.rollback()
        flash(_("This update has been sent: it can no longer be changed."), "error")
        return _to_edit(campaign, update)
    db.session.commit()
    flash(_("Draft deleted."), "success")
    return redirect(url_for(".index", campaign_id=campaign_id), code=303)
