"""Public pages of updates: /<lang>/unsubscribe/<token>, from the link in every update."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from campaign.extensions import db
from campaign.updates import services
from campaign.updates.forms import UnsubscribeForm

bp = Blueprint("updates", __name__, url_prefix="/<lang_code>")


def _one_click() -> bool:
    """RFC 8058: a mail client's unsubscribe button POSTs this body to the link."""
    return request.form.get("List-Unsubscribe") == "One-Click"


@bp.get("/unsubscribe/<token>")
def unsubscribe(token: str):
    """A page with a button: opening the link alone (a mail scanner) changes nothing."""
    signature = services.find_for_unsubscribe(db.session, token)
    if signature is None:
        return render_template("updates/unsubscribe_invalid.html"), 404
    return render_template("updates/unsubscribe.html", signature=signature, campaign=signature.campaign,
                           form=UnsubscribeForm(formdata=None), token=token)


@bp.post("/unsubscribe/<token>")
def unsubscribe_post(token: str):
    # The token in the link is the secret. A mail client's one-click POST (RFC 8058)
    # comes from no web page; the page's own button must come from ours.
    if not _one_click():
        UnsubscribeForm().require_button()
    signature = services.unsubscribe(db.session, token)
    if signature is None:
        db.session.rollback()
        return render_template("updates/unsubscribe_invalid.html"), 404
    campaign = signature.campaign
    db.session.commit()
    return render_template("updates/unsubscribed.html", campaign=campaign)
