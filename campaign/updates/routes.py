"""Public pages of updates: /<lang>/unsubscribe/<token>, from the link in every update."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from campaign.extensions import csrf, db
from campaign.updates import services
from campaign.updates.forms import ButtonForm

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
                           form=ButtonForm(), token=token)


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # the one-click POST comes from a mail client, without our form token
def unsubscribe_post(token: str):
    # The token in the link is the secret; the page's own button still carries a
    # CSRF token, checked here, and only a mail client's one-click POST goes without.
    if not _one_click() and not ButtonForm().validate_on_submit():
        abort(400)
    signature = services.unsubscribe(db.session, token)
    if signature is None:
        db.session.rollback()
        return render_template("updates/unsubscribe_invalid.html"), 404
    campaign = signature.campaign
    db.session.commit()
    return render_template("updates/unsubscribed.html", campaign=campaign)
