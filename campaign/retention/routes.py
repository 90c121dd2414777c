"""Erasure requests: /<lang>/erase (ask), /<lang>/erase/<token> (confirm).

Whatever address is typed, the answer is the same page: only the mailbox's owner
learns, by e-mail, whether it has signed anything.
"""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for

from campaign.extensions import db, limiter
from campaign.i18n import current_language
from campaign.retention import services
from campaign.retention.forms import ConfirmErasureForm, ErasureRequestForm

bp = Blueprint("retention", __name__, url_prefix="/<lang_code>")


@bp.app_context_processor
def retention_helpers():
    """For the campaign workspace page: how long signers' data is kept."""
    return {"anonymise_at": services.anonymise_at, "retention_days": services.retention_days}


def _erase_limit() -> str:
    return current_app.config["RATELIMIT_ERASE"]


@bp.get("/erase")
def erase():
    return render_template("retention/erase.html", form=ErasureRequestForm(formdata=None))


@bp.post("/erase")
@limiter.limit(_erase_limit)
def erase_post():
    form = ErasureRequestForm()
    if not form.validate_on_submit():
        return render_template("retention/erase.html", form=form), form.error_status
    services.queue_erasure_request(db.session, form.email.data, locale=current_language())
    db.session.commit()
    return redirect(url_for(".erase_sent"), code=303)


@bp.get("/erase/sent")
def erase_sent():
    return render_template("retention/erase_sent.html")


@bp.get("/erase/<token>")
def erase_confirm(token: str):
    erasure = services.find_erasure(db.session, token)
    if erasure is None:
        return render_template("retention/erase_invalid.html"), 404
    return render_template(
        "retention/erase_confirm.html", form=ConfirmErasureForm(), token=token,
        count=services.signatures_to_erase(db.session, erasure),
        requests=services.requests_to_erase(db.session, erasure),
    )


@bp.post("/erase/<token>")
def erase_confirm_post(token: str):
    ConfirmErasureForm().require_button()
    erased = services.erase(db.session, token)
    if erased is None:
        db.session.rollback()
        return render_template("retention/erase_invalid.html"), 404
    db.session.commit()
    return redirect(url_for(".erase_done"), code=303)


@bp.get("/erase/done")
def erase_done():
    return render_template("retention/erase_done.html")
