"""The target directory and a campaign's targets and letter, in the workspace:
/<lang>/manage/targets/… and /<lang>/manage/campaigns/<id>/targets.

Thin views: forms give plain values, campaign.targets.services checks permissions,
changes and audits; the view commits."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from campaign.extensions import db
from campaign.i18n import LANGUAGES, current_language
from campaign.organiser import access
from campaign.organiser.access import Permission
from campaign.organiser.auth import campaign_for, current_organiser, login_required
from campaign.security import accepts_files
from campaign.states import TransitionError
from campaign.targets import services
from campaign.targets.forms import (
    CampaignTargetsForm,
    DeliverForm,
    ImportForm,
    LetterTextForm,
    OutcomesForm,
    ResponseForm,
    TargetForm,
)
from campaign.targets.models import Delivery, Outcome, Target

bp = Blueprint("manage_targets", __name__, url_prefix="/<lang_code>/manage")


def _organisation_id(permission: Permission) -> int:
    """The organisation a directory page is about (?organisation=…, else the
    organiser's first), if the organiser may do ``permission`` there."""
    organiser = current_organiser()
    organisations = access.organisations_of(db.session, organiser)
    wanted = request.args.get("organisation", type=int)
    if wanted is None:
        if not organisations:
            abort(403)
        wanted = organisations[0].id
    access.require(organiser, permission, wanted)
    return wanted


def _target_for(target_id: int, permission: Permission) -> Target:
    target = db.session.get(Target, target_id)
    if target is None:
        abort(404)
    access.require(current_organiser(), permission, target.organisation_id)
    return target


@bp.get("/targets/")
@login_required
def index():
    organisation_id = _organisation_id(Permission.view_campaigns)
    organiser = current_organiser()
    return render_template(
        "targets/manage/index.html",
        organisation_id=organisation_id,
        organisations=access.organisations_of(db.session, organiser),
        targets=services.targets_of(db.session, organisation_id),
        may_edit=access.allowed(organiser, Permission.edit_campaigns, organisation_id),
        import_form=ImportForm(formdata=None),
        report=None,
    )


def _input(form: TargetForm) -> services.TargetInput:
    return services.TargetInput(
        code=form.code.data or "", kind=form.kind.data or "", names=form.names(), country=form.country.data or "",
        language=form.language.data or "", email=form.email.data or "", x_handle=form.x_handle.data or "",
        bluesky_handle=form.bluesky_handle.data or "", contact_url=form.contact_url.data or "",
        phone=form.phone.data or "", postal_address=form.postal_address.data or "",
        never_send_names=bool(form.never_send_names.data),
    )


def _save(form: TargetForm, organisation_id: int, target: Target | None):
    if form.validate_on_submit():
        try:
            saved = services.save_target(db.session, current_organiser(), organisation_id, _input(form), target)
        except services.Refused as exc:
            db.session.rollback()
            form.form_errors.extend(exc.problems)
        else:
            db.session.commit()
            flash(_("Target saved."), "success")
            return redirect(url_for(".index", organisation=saved.organisation_id), code=303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("targets/manage/edit.html", form=form, target=target,
                           organisation_id=organisation_id), status


@bp.route("/targets/new", methods=["GET", "POST"])
@login_required
def new():
    organisation_id = _organisation_id(Permission.edit_campaigns)
    return _save(TargetForm(current_language()), organisation_id, None)


@bp.route("/targets/<int:target_id>/edit", methods=["GET", "POST"])
@login_required
def edit(target_id: int):
    target = _target_for(target_id, Permission.edit_campaigns)
    data = {name: getattr(target, name) or "" for name in (
        "code", "country", "language", "email", "x_handle", "bluesky_handle", "contact_url", "phone",
        "postal_address")}
    data.update({f"name_{lang}": target.names.get(lang, "") for lang in LANGUAGES},
                kind=target.kind.value, never_send_names=target.never_send_names)
    form = TargetForm(current_language(), data=data) if request.method == "GET" else TargetForm(current_language())
    return _save(form, target.organisation_id, target)


@bp.get("/targets/export.csv")
@login_required
def export():
    organisation_id = _organisation_id(Permission.view_campaigns)
    body = services.export_csv(db.session, current_organiser(), organisation_id)
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=targets.csv"})


@bp.post("/targets/import")
@accepts_files("file")
@login_required
def import_():
    organisation_id = _organisation_id(Permission.edit_campaigns)
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        report = services.import_csv(db.session, current_organiser(), organisation_id,
                                     form.file.data.read(2_000_000))
        db.session.commit()
    organiser = current_organiser()
    return render_template(
        "targets/manage/index.html",
        organisation_id=organisation_id,
        organisations=access.organisations_of(db.session, organiser),
        targets=services.targets_of(db.session, organisation_id),
        may_edit=True, import_form=form, report=report,
    ), (200 if report is not None else 422)


# --- a campaign's targets and letter ---

def _response_form(campaign, **kwargs) -> ResponseForm:
    form = ResponseForm(**kwargs)
    lang = current_language()
    form.target.choices = [(ct.target_id, ct.target.name_in(lang)) for ct in services.campaign_targets(db.session,
                                                                                                        campaign)]
    form.demands.choices = [(d.position, f"{d.position}. {d.text(lang).title if d.text(lang) else ''}")
                            for d in campaign.demands]
    return form


def _render_campaign(campaign, letter_form: LetterTextForm | None = None, problems: list[str] | None = None,
                     status: int = 200, response_form: ResponseForm | None = None):
    if letter_form is None:
        letter_form = LetterTextForm(data=_letter_data(campaign), formdata=None)
    chosen = {ct.target_id: ct for ct in services.campaign_targets(db.session, campaign)}
    return render_template(
        "targets/manage/campaign.html", campaign=campaign,
        directory=services.targets_of(db.session, campaign.organisation_id) if campaign.organisation_id else [],
        chosen=chosen, targets_form=CampaignTargetsForm(formdata=None), letter_form=letter_form,
        problems=problems or [], counts=services.letter_counts(db.session, campaign),
        deliver_form=DeliverForm(formdata=None), deliveries=services.deliveries_of(db.session, campaign),
        response_form=response_form or _response_form(campaign, formdata=None),
        responses=services.responses_of(db.session, campaign), outcomes=services.outcomes_of(db.session, campaign),
        outcomes_form=OutcomesForm(formdata=None), Outcome=Outcome,
        may_send_names=access.allowed(current_organiser(), Permission.export_signers, campaign.organisation_id),
    ), status


@bp.get("/campaigns/<int:campaign_id>/targets")
@login_required
def campaign_targets(campaign_id: int):
    return _render_campaign(campaign_for(campaign_id, Permission.view_campaigns))


def _letter_data(campaign) -> dict:
    data = {}
    for lang in LANGUAGES:
        text = services.letter_text(db.session, campaign, lang)
        data[f"{lang}_subject"] = text.subject if text else ""
        data[f"{lang}_body"] = text.body if text else ""
    return data


@bp.post("/campaigns/<int:campaign_id>/targets")
@login_required
def save_campaign_targets(campaign_id: int):
    campaign = campaign_for(campaign_id, Permission.edit_campaigns)
    form = CampaignTargetsForm()
    if not form.validate_on_submit():
        abort(400)
    chosen = {}
    for raw in request.form.getlist("target"):
        if raw.isdigit():
            rate = request.form.get(f"rate-{raw}", type=int) or 30
            chosen[int(raw)] = rate
    try:
        services.set_campaign_targets(db.session, current_organiser(), campaign, chosen)
    except ValueError:
        db.session.rollback()
        abort(400)
    db.session.commit()
    flash(_("Targets saved."), "success")
    return redirect(url_for(".campaign_targets", campaign_id=campaign.id), code=303)


@bp.post("/campaigns/<int:campaign_id>/letter")
@login_required
def save_letter(campaign_id: int):
    campaign = campaign_for(campaign_id, Permission.edit_campaigns)
    form = LetterTextForm()
    if not form.validate_on_submit():
        return _render_campaign(campaign, form, status=422)
    try:
        services.set_letter(db.session, current_organiser(), campaign, form.texts())
    except services.Refused as exc:
        db.session.rollback()
        return _render_campaign(campaign, form, exc.problems, status=422)
    db.session.commit()
    flash(_("Letter saved."), "success")
    return redirect(url_for(".campaign_targets", campaign_id=campaign.id), code=303)


@bp.post("/campaigns/<int:campaign_id>/deliver")
@login_required
def deliver(campaign_id: int):
    campaign = campaign_for(campaign_id, Permission.edit_campaigns)
    form = DeliverForm()
    if not form.validate_on_submit():
        abort(400)
    target_ids = [int(raw) for raw in request.form.getlist("deliver_to") if raw.isdigit()]
    with_names = bool(form.with_names.data)
    if with_names and not access.allowed(current_organiser(), Permission.export_signers, campaign.organisation_id):
        abort(403)
    deliveries = services.deliver_campaign(db.session, current_organiser(), campaign, target_ids,
                                           spacing_minutes=form.spacing_minutes.data or 0, with_names=with_names)
    db.session.commit()
    flash(ngettext("%(num)s delivery queued.", "%(num)s deliveries queued.", len(deliveries)),
          "success")
    return redirect(url_for(".campaign_targets", campaign_id=campaign.id) + "#deliveries", code=303)


@bp.post("/deliveries/<int:delivery_id>/bounced")
@login_required
def delivery_bounced(delivery_id: int):
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        abort(404)
    campaign = campaign_for(delivery.campaign_id, Permission.edit_campaigns)
    if not CampaignTargetsForm().validate_on_submit():
        abort(400)
    try:
        services.mark_bounced(db.session, current_organiser(), delivery)
    except TransitionError:  # it failed before it was sent
        db.session.rollback()
        flash(_("This delivery can no longer be marked as bounced."), "error")
    else:
        db.session.commit()
    return redirect(url_for(".campaign_targets", campaign_id=campaign.id) + "#deliveries", code=303)


@bp.post("/campaigns/<int:campaign_id>/responses")
@login_required
def add_response(campaign_id: int):
    campaign = campaign_for(campaign_id, Permission.edit_campaigns)
    form = _response_form(campaign)
    if form.validate_on_submit():
        try:
            services.record_response(
                db.session, current_organiser(), campaign, target_id=form.target.data,
                received_on=form.received_on.data, url=form.url.data, demands=form.demands.data or [],
                texts={lang: form[f"text_{lang}"].data or "" for lang in LANGUAGES},
            )
        except services.Refused as exc:
            db.session.rollback()
            form.form_errors.extend(exc.problems)
        else:
            db.session.commit()
            flash(_("Answer recorded."), "success")
            return redirect(url_for(".campaign_targets", campaign_id=campaign.id) + "#responses", code=303)
    return _render_campaign(campaign, response_form=form, status=422)


@bp.post("/campaigns/<int:campaign_id>/outcomes")
@login_required
def save_outcomes(campaign_id: int):
    campaign = campaign_for(campaign_id, Permission.edit_campaigns)
    if not OutcomesForm().validate_on_submit():
        abort(400)
    for demand in campaign.demands:
        outcome = request.form.get(f"outcome-{demand.position}", "")
        if outcome and outcome not in {o.value for o in Outcome}:
            abort(400)
        try:
            decided_on = dt.date.fromisoformat(request.form.get(f"decided-{demand.position}", "")) if outcome else None
        except ValueError:
            decided_on = None
        services.set_outcome(db.session, current_organiser(), campaign, demand.position, outcome or None, decided_on)
    db.session.commit()
    flash(_("Outcomes saved."), "success")
    return redirect(url_for(".campaign_targets", campaign_id=campaign.id) + "#outcomes", code=303)
