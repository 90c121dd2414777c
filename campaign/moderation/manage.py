"""Moderation pages: /<lang>/manage/campaigns/<id>/signatures and …/fraud."""
from __future__ import annotations

import datetime as dt
import functools
from urllib.parse import parse_qsl, urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.moderation import services
from campaign.moderation.forms import BulkForm, InvalidateForm, ReleaseForm, RestoreForm, SearchForm
from campaign.moderation.services import (
    BulkKind,
    CountChanged,
    InvalidationReason,
    ModerationError,
    RestoreReason,
)
from campaign.organiser import access
from campaign.organiser.access import Permission
from campaign.organiser.auth import campaign_for, current_organiser, login_required, safe_next
from campaign.signatures.models import Signature, SignatureState

bp = Blueprint("manage_moderation", __name__, url_prefix="/<lang_code>/manage")

PER_PAGE = 50


def _campaign(campaign_id: int) -> Campaign:
    return campaign_for(campaign_id, Permission.moderate)


def _signature(campaign: Campaign, signature_id: int) -> Signature:
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.campaign_id != campaign.id:
        abort(404)
    return signature


def _list_url(campaign: Campaign) -> str:
    return url_for(".signatures", campaign_id=campaign.id)


# The current search lives in the (signed) session, not the URL: a name or an
# address typed here must not end up in access logs or the browser's history.
SEARCH_KEY = "moderation_search"


def _saved_search(campaign: Campaign) -> tuple[str, str]:
    saved = session.get(SEARCH_KEY) or {}
    if saved.get("campaign") != campaign.id:
        return "", ""
    return saved.get("q", ""), saved.get("state", "")


def _page() -> int:
    page = request.args.get("page", type=int) or 1
    return max(1, min(page, 100_000))


def _render_list(campaign: Campaign, *, form: SearchForm | None = None, page: int = 1,
                 row_error: tuple[int, str] | None = None, status: int = 200):
    q, state = _saved_search(campaign)
    if form is None:
        form = SearchForm(formdata=None, q=q, state=state)
    else:  # a refused search: show it with its errors, and the results of the last good one
        form.q.data = form.q.data or ""
    results = services.search(db.session, campaign, q, state=SignatureState(state) if state else None,
                              page=page, per_page=PER_PAGE)
    duplicates = services.duplicate_names(db.session, campaign)
    return render_template(
        "moderation/manage/signatures.html",
        campaign=campaign,
        form=form,
        searching=bool(q or state),
        results=results,
        duplicates=duplicates,
        examples=_examples(duplicates),
        email_shown=functools.partial(
            services.email_shown,
            whole=access.allowed(current_organiser(), Permission.export_signers, campaign.organisation_id),
        ),
        invalidation_reasons=list(InvalidationReason),
        restore_reasons=list(RestoreReason),
        reason_title=_reason_title,
        row_error=row_error,
        here=url_for(".signatures", campaign_id=campaign.id, page=page if page > 1 else None),
        page_url=lambda n: url_for(".signatures", campaign_id=campaign.id, page=n),
    ), status


def _reason_title(value: str) -> str:
    try:
        return InvalidationReason(value).title
    except ValueError:
        return value


def _examples(duplicates) -> dict[int, Signature]:
    """One signer's own spelling for each repeated name, to show the organiser."""
    ids = [d.example_id for d in duplicates]
    if not ids:
        return {}
    return {s.id: s for s in db.session.scalars(sa.select(Signature).where(Signature.id.in_(ids)))}


@bp.get("/campaigns/<int:campaign_id>/signatures")
@login_required
def signatures(campaign_id: int):
    return _render_list(_campaign(campaign_id), page=_page())


@bp.post("/campaigns/<int:campaign_id>/signatures")
@login_required
def search(campaign_id: int):
    """Keep the search in the session, then show the list (Post/Redirect/Get)."""
    campaign = _campaign(campaign_id)
    form = SearchForm()
    if "clear" in request.form:
        session.pop(SEARCH_KEY, None)
        return redirect(url_for(".signatures", campaign_id=campaign.id), code=303)
    if not form.validate_on_submit():
        return _render_list(campaign, form=form, status=422)
    session[SEARCH_KEY] = {"campaign": campaign.id, "q": (form.q.data or "").strip(), "state": form.state.data or ""}
    return redirect(url_for(".signatures", campaign_id=campaign.id), code=303)


def _single_action(campaign_id: int, signature_id: int, form_cls, act, done_message: str):
    campaign = _campaign(campaign_id)
    signature = _signature(campaign, signature_id)
    form = form_cls()
    back = safe_next(form.next.data, _list_url(campaign))
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        message = " ".join(str(e) for e in form.reason.errors) or _("Please choose a reason.")
        return _render_list(campaign, page=_page_of(back), row_error=(signature.id, message), status=422)
    try:
        act(signature, form.reason.data)
    except ModerationError:
        db.session.rollback()
        flash(_("That signature has changed meanwhile; nothing was done."), "error")
        return redirect(back, code=303)
    db.session.commit()
    flash(done_message, "success")
    return redirect(back, code=303)


def _page_of(path: str) -> int:
    """The page number in a same-site list URL: after a refused action, the list as it was."""
    value = dict(parse_qsl(urlsplit(path).query)).get("page", "1")
    # str.isdigit() accepts "²", which int() refuses, and int() refuses 5,000 digits.
    if not (value.isascii() and value.isdigit()):
        return 1
    return max(1, min(int(value[:7]), 100_000))


@bp.post("/campaigns/<int:campaign_id>/signatures/<int:signature_id>/invalidate")
@login_required
def invalidate(campaign_id: int, signature_id: int):
    return _single_action(
        campaign_id, signature_id, InvalidateForm,
        lambda s, reason: services.invalidate(db.session, current_organiser(), s, InvalidationReason(reason)),
        _("The signature was invalidated and no longer counts."),
    )


@bp.post("/campaigns/<int:campaign_id>/signatures/<int:signature_id>/restore")
@login_required
def restore(campaign_id: int, signature_id: int):
    return _single_action(
        campaign_id, signature_id, RestoreForm,
        lambda s, reason: services.restore(db.session, current_organiser(), s, RestoreReason(reason)),
        _("The signature was restored."),
    )


@bp.route("/campaigns/<int:campaign_id>/signatures/bulk", methods=["GET", "POST"])
@login_required
def bulk(campaign_id: int):
    """Confirm, then invalidate every active signature from one hashed IP or domain."""
    campaign = _campaign(campaign_id)
    if request.method == "GET":
        form = BulkForm(formdata=None, by=request.args.get("by", ""), value=request.args.get("value", ""),
                        next=request.args.get("next", ""))
        if form.by.data not in {k.value for k in BulkKind} or not form.value.data or len(form.value.data) > 255:
            abort(404)
        form.expected.data = services.bulk_count(db.session, campaign, BulkKind(form.by.data), form.value.data)
        return _render_bulk(campaign, form)

    form = BulkForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors or form.by.errors or form.value.errors or form.expected.errors:
            abort(400)
        form.expected.data = services.bulk_count(db.session, campaign, BulkKind(form.by.data), form.value.data)
        return _render_bulk(campaign, form, status=422)
    back = safe_next(form.next.data, _list_url(campaign))
    try:
        count = services.bulk_invalidate(
            db.session, current_organiser(), campaign, BulkKind(form.by.data), form.value.data,
            InvalidationReason(form.reason.data), expected=form.expected.data,
        )
    except CountChanged as changed:
        db.session.rollback()
        form.expected.data = changed.actual
        return _render_bulk(campaign, form, changed=True, status=409)
    db.session.commit()
    flash(ngettext("%(num)d signature was invalidated.", "%(num)d signatures were invalidated.", count), "success")
    return redirect(back, code=303)


def _render_bulk(campaign: Campaign, form: BulkForm, *, changed: bool = False, status: int = 200):
    return render_template(
        "moderation/manage/bulk.html", campaign=campaign, form=form, changed=changed,
        back=safe_next(form.next.data, _list_url(campaign)),
    ), status


@bp.get("/campaigns/<int:campaign_id>/fraud")
@login_required
def fraud(campaign_id: int):
    campaign = _campaign(campaign_id)
    config = current_app.config
    bursts = services.find_bursts(
        db.session, campaign, threshold=config["MODERATION_BURST_SIZE"],
        window=dt.timedelta(minutes=config["MODERATION_BURST_MINUTES"]),
    )
    return render_template(
        "moderation/manage/fraud.html",
        campaign=campaign,
        bursts=bursts,
        held=services.held_sources(db.session, campaign),
        disposable=services.disposable_domains(db.session, campaign),
        threshold=config["MODERATION_BURST_SIZE"],
        minutes=config["MODERATION_BURST_MINUTES"],
        here=request.full_path.rstrip("?"),
    )


@bp.post("/campaigns/<int:campaign_id>/held/release")
@login_required
def release_held(campaign_id: int):
    """Release the held signatures of one connection (as many as the moderator saw)."""
    campaign = _campaign(campaign_id)
    form = ReleaseForm()
    if not form.validate_on_submit():
        abort(400)
    back = url_for(".fraud", campaign_id=campaign.id)
    try:
        count = services.release_held(db.session, current_organiser(), campaign, form.value.data,
                                      expected=form.expected.data)
    except CountChanged:
        db.session.rollback()
        flash(_("Signatures from that connection changed meanwhile; nothing was done. Check the numbers again."),
              "error")
        return redirect(back, code=303)
    db.session.commit()
    flash(ngettext("%(num)d signature was released.", "%(num)d signatures were released.", count), "success")
    return redirect(back, code=303)
