"""The statement's workspace: /<lang>/manage/campaigns/<id>/signatories — the named
list, requests waiting for a decision, paste-or-upload with a preview, CSV export,
and how the list is shown."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from campaign.campaigns.models import Campaign, CampaignKind
from campaign.extensions import db
from campaign.i18n import LANGUAGES, current_language
from campaign.organiser.access import Permission
from campaign.organiser.auth import campaign_for, current_organiser, fresh_two_factor_required, login_required
from campaign.security import accepts_files
from campaign.statements import services
from campaign.statements.forms import ActionForm, ApproveForm, ImportForm, ListOrderForm, SignatoryForm
from campaign.statements.models import ListOrder, Signatory, SignatoryKind, SignatoryState
from campaign.statements.services import SignatoryInput

bp = Blueprint("manage_statements", __name__, url_prefix="/<lang_code>/manage/campaigns/<int:campaign_id>/signatories")

# Uploaded CSV files larger than this are refused (a 2,000-line list is ~300 KB).
MAX_UPLOAD = 2 * 1024 * 1024


def _statement(campaign_id: int, permission: Permission) -> Campaign:
    campaign = campaign_for(campaign_id, permission)
    if campaign.kind != CampaignKind.statement:
        abort(404)
    return campaign


def _signatory(campaign: Campaign, signatory_id: int) -> Signatory:
    signatory = db.session.get(Signatory, signatory_id)
    if signatory is None or signatory.campaign_id != campaign.id:
        abort(404)
    return signatory


def _back(campaign: Campaign):
    return redirect(url_for(".index", campaign_id=campaign.id), code=303)


def _check_action() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.get("/")
@login_required
def index(campaign_id: int):
    campaign = _statement(campaign_id, Permission.view_campaigns)
    listed = services.public_signatories(db.session, campaign)
    order_form = ListOrderForm(list_order=services.options_for(db.session, campaign).list_order.value)
    current = services.current_version(db.session, campaign)
    return render_template(
        "statements/manage/index.html",
        campaign=campaign,
        text=campaign.text(current_language()),
        signatories=listed,
        waiting=services.requests_waiting(db.session, campaign),
        current_version=current,
        order_form=order_form,
        action_form=ActionForm(),
        declined_days=current_app.config["STATEMENT_DECLINED_DAYS"],
    )


@bp.post("/order")
@login_required
def order(campaign_id: int):
    campaign = _statement(campaign_id, Permission.edit_campaigns)
    form = ListOrderForm()
    if not form.validate_on_submit() or form.list_order.data not in {o.value for o in ListOrder}:
        abort(400)
    services.set_list_order(db.session, current_organiser(), campaign, ListOrder(form.list_order.data))
    db.session.commit()
    flash(_("Saved."), "success")
    return _back(campaign)


def _kinds_from_form() -> dict[int, SignatoryKind]:
    """The preview lets the organiser correct a guessed kind per line."""
    kinds = {}
    for key, value in request.form.items():
        if key.startswith("kind-") and key[5:].isdigit() and value in {k.value for k in SignatoryKind}:
            kinds[int(key[5:])] = SignatoryKind(value)
    return kinds


@bp.route("/import", methods=["GET", "POST"])
@accepts_files("upload")
@login_required
def import_list(campaign_id: int):
    """Paste (or upload) → preview → confirm. Nothing is stored between the steps:
    the preview carries the text in its form and the confirm step reads it again."""
    campaign = _statement(campaign_id, Permission.edit_campaigns)
    form = ImportForm()
    if request.method == "GET":
        return render_template("statements/manage/import.html", campaign=campaign, form=form, preview=None)
    if not form.validate_on_submit():
        return render_template("statements/manage/import.html", campaign=campaign, form=form, preview=None), 422
    text = form.text.data or ""
    upload = request.files.get(form.upload.name)
    if upload and upload.filename:
        data = upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            form.upload.errors = [_("This file is too large.")]
            return render_template("statements/manage/import.html", campaign=campaign, form=form, preview=None), 422
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            form.upload.errors = [_("This file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")]
            return render_template("statements/manage/import.html", campaign=campaign, form=form, preview=None), 422
        form.text.data = text
    if not text.strip():
        form.text.errors = [_("Paste a list or choose a file.")]
        return render_template("statements/manage/import.html", campaign=campaign, form=form, preview=None), 422
    language = form.language.data or None
    if request.form.get("action") == "confirm":
        added, preview = services.import_list(db.session, current_organiser(), campaign, text,
                                              locale=language, kinds=_kinds_from_form())
        db.session.commit()
        flash(_("%(num)s signatories added to the end of the list.", num=len(added)), "success")
        return _back(campaign)
    preview = services.read_list(text, locale=language, kinds=_kinds_from_form())
    return render_template("statements/manage/import.html", campaign=campaign, form=form, preview=preview,
                           rows=list(zip(preview.lines, preview.entries)), languages=LANGUAGES)


@bp.get("/export.csv")
@login_required
@fresh_two_factor_required
def export(campaign_id: int):
    """The list as CSV. It carries the organisers' private notes, so it asks for a
    recent two-factor code, as exports of signers do."""
    campaign = _statement(campaign_id, Permission.edit_campaigns)
    body = services.export_csv(db.session, current_organiser(), campaign)
    db.session.commit()
    return Response(body.encode("utf-8-sig"), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{campaign.slug}-signatories.csv"',
        "Cache-Control": "no-store",
    })


def _input_from(form: SignatoryForm) -> SignatoryInput:
    return SignatoryInput(
        kind=SignatoryKind(form.kind.data) if form.kind.data in {k.value for k in SignatoryKind} else SignatoryKind.individual,
        names={"ar": form.name_ar.data or "", "en": form.name_en.data or ""},
        roles={"ar": form.role_ar.data or "", "en": form.role_en.data or ""},
        country=(form.country.data or "").upper() or None,
        url=form.website.data, private_note=form.private_note.data,
    )


def _form_for(signatory: Signatory) -> SignatoryForm:
    data = {"kind": signatory.kind.value, "country": signatory.country or "", "website": signatory.url or "",
            "private_note": signatory.private_note or ""}
    for lang in LANGUAGES:
        text = signatory.text(lang)
        data[f"name_{lang}"] = text.name if text else ""
        data[f"role_{lang}"] = text.role if text else ""
    return SignatoryForm(data=data)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new(campaign_id: int):
    campaign = _statement(campaign_id, Permission.edit_campaigns)
    form = SignatoryForm()
    if form.validate_on_submit():
        services.add_signatories(db.session, current_organiser(), campaign, [_input_from(form)])
        db.session.commit()
        flash(_("Added to the end of the list."), "success")
        return _back(campaign)
    return render_template("statements/manage/signatory.html", campaign=campaign, form=form, signatory=None), \
        422 if form.errors else 200


@bp.route("/<int:signatory_id>/edit", methods=["GET", "POST"])
@login_required
def edit(campaign_id: int, signatory_id: int):
    campaign = _statement(campaign_id, Permission.edit_campaigns)
    signatory = _signatory(campaign, signatory_id)
    if signatory.state in (SignatoryState.withdrawn, SignatoryState.declined):
        abort(404)
    form = SignatoryForm() if request.method == "POST" else _form_for(signatory)
    if request.method == "POST" and form.validate_on_submit():
        services.edit_signatory(db.session, current_organiser(), signatory, _input_from(form))
        db.session.commit()
        flash(_("Saved."), "success")
        return _back(campaign)
    return render_template("statements/manage/signatory.html", campaign=campaign, form=form, signatory=signatory), \
        422 if form.errors else 200


@bp.post("/<int:signatory_id>/approve")
@login_required
def approve(campaign_id: int, signatory_id: int):
    campaign = _statement(campaign_id, Permission.edit_campaigns)
    signatory = _signatory(campaign, signatory_id)
    form = ApproveForm()
    # The page's fields allow MAX_ROLE characters: more, or a bad token, is no click of ours.
    if not form.validate_on_submit():
        abort(400)
    if signatory.state != SignatoryState.pending:
        flash(_("This request has already been decided."), "error")
        return _back(campaign)
    roles = {}
    for lang in LANGUAGES:
        field, text = form[f"role_{lang}"], signatory.text(lang)
        roles[lang] = field.data if field.raw_data else (text.role if text else "")
    services.approve(db.session, current_organiser(), signatory, roles=roles)
    db.session.commit()
    flash(_("Approved: added to the end of the list, and the requester was told."), "success")
    return _back(campaign)


@bp.post("/<int:signatory_id>/decline")
@login_required
def decline(campaign_id: int, signatory_id: int):
    campaign = _statement(campaign_id, Permission.edit_campaigns)
    signatory = _signatory(campaign, signatory_id)
    _check_action()
    if signatory.state != SignatoryState.pending:
        flash(_("This request has already been decided."), "error")
        return _back(campaign)
    services.decline(db.session, current_organiser(), signatory)
    db.session.commit()
    flash(_("Declined. The requester was told."), "success")
    return _back(campaign)


@bp.post("/<int:signatory_id>/remove")
@login_required
def remove(campaign_id: int, signatory_id: int):
    campaign = _statement(campaign_id, Permission.edit_campaigns)
    signatory = _signatory(campaign, signatory_id)
    _check_action()
    if signatory.state == SignatoryState.approved:
        services.remove(db.session, current_organiser(), signatory)
        db.session.commit()
        flash(_("Removed from the list."), "success")
    return _back(campaign)


@bp.post("/<int:signatory_id>/move")
@login_required
def move(campaign_id: int, signatory_id: int):
    campaign = _statement(campaign_id, Permission.edit_campaigns)
    signatory = _signatory(campaign, signatory_id)
    _check_action()
    if signatory.state == SignatoryState.approved:
        services.move(db.session, current_organiser(), signatory, -1 if request.form.get("to") == "up" else 1)
        db.session.commit()
    return _back(campaign)
