"""Public views of targets: whom a campaign is addressed to (a section of the
campaign page) and the page where signers write to them."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from flask import Blueprint, abort, redirect, render_template, request, url_for

from campaign.amplify.share import target_post_links
from campaign.campaigns.models import Campaign
from campaign.campaigns.page import public_campaign_or_404
from campaign.extensions import db, limiter
from campaign.i18n import current_language
from campaign.targets import services
from campaign.targets.forms import LetterForm
from campaign.targets.models import CampaignTarget

bp = Blueprint("targets", __name__, url_prefix="/<lang_code>")


def addressed_to_section(campaign: Campaign, lang: str, preview: bool) -> dict:
    """'Addressed to': the campaign's targets with their letter counters."""
    chosen = services.campaign_targets(db.session, campaign)
    if not chosen:
        return {"targets": []}
    return {
        "targets": [ct.target for ct in chosen],
        "counts": services.letter_counts(db.session, campaign),
        "can_write": not preview,
    }


def delivered_to_section(campaign: Campaign, lang: str, preview: bool) -> dict:
    """The public delivery log: 'Delivered to … on …', newest first."""
    return {"deliveries": services.deliveries_of(db.session, campaign, sent_only=True)}


def responses_section(campaign: Campaign, lang: str, preview: bool) -> dict:
    """Targets' answers and what became of each demand."""
    outcomes = services.outcomes_of(db.session, campaign)
    return {
        "responses": services.responses_of(db.session, campaign),
        "outcomes": [(d, outcomes[d.position]) for d in campaign.demands if d.position in outcomes],
    }


@dataclass(frozen=True)
class MailboxLinks:
    mailto: str
    gmail: str
    outlook: str


def mailbox_links(addresses: list[str], subject: str, body: str) -> MailboxLinks:
    """Compose links for the signer's own mailbox. They are plain links: Gmail or
    Outlook hear of nothing until the signer clicks."""
    to = ",".join(addresses)
    return MailboxLinks(
        mailto=f"mailto:{quote(to, safe='@,')}?subject={quote(subject)}&body={quote(body)}",
        gmail="https://mail.google.com/mail/?" + urlencode({"view": "cm", "fs": "1", "to": to, "su": subject,
                                                           "body": body}),
        outlook="https://outlook.live.com/mail/0/deeplink/compose?" + urlencode(
            {"to": to, "subject": subject, "body": body}),
    )


def _write_page(campaign: Campaign, form: LetterForm | None, signature, token: str | None, status: int = 200):
    lang = current_language()
    chosen: list[CampaignTarget] = services.campaign_targets(db.session, campaign)
    if not chosen:
        abort(404)
    targets = [ct.target for ct in chosen]
    text = services.letter_text(db.session, campaign, lang)
    mailbox = {}
    all_links = None
    if text is not None and text.subject:
        # Targets that may endanger signers get no mailbox link: a letter from the
        # signer's own mailbox shows them the signer's address.
        writable = [t for t in targets if t.email and not t.never_send_names]
        for target in writable:
            letter = services.mailbox_letter(text, target=target, lang=lang)
            mailbox[target.id] = mailbox_links([target.email], letter.subject, letter.body)
        if len(writable) > 1:
            letter = services.mailbox_letter(text, target=_AllTargets(writable), lang=lang)
            all_links = mailbox_links([t.email for t in writable], letter.subject, letter.body)
    written = services.letters_sent_by(db.session, signature) if signature is not None else set()
    if signature is not None and text is not None and text.subject and form is None:
        form = LetterForm(formdata=None, p=token)
    if form is not None:
        form.targets.choices = [(t.id, t.name_in(lang)) for t in targets if t.email and t.id not in written]
    posts = target_post_links(
        campaign, lang,
        x_handles=[t.x_handle for t in targets if t.x_handle],
        bluesky_handles=[t.bluesky_handle for t in targets if t.bluesky_handle],
    )
    return render_template(
        "targets/write.html", campaign=campaign, targets=targets, letter=text, mailbox=mailbox,
        all_links=all_links, posts=posts, form=form if signature is not None else None, signature=signature,
        written=written, counts=services.letter_counts(db.session, campaign),
        sent=request.args.get("sent", type=int), already=request.args.get("already", type=int),
    ), status


class _AllTargets:
    """Stands in for one target when a letter goes to all of them at once."""

    def __init__(self, targets):
        self.targets = targets

    def name_in(self, lang: str) -> str:
        return "، ".join(t.name_in(lang) for t in self.targets) if lang == "ar" else ", ".join(
            t.name_in(lang) for t in self.targets)


@bp.get("/c/<slug>/write")
def write(slug: str):
    campaign = public_campaign_or_404(slug)
    token = request.args.get("p")
    signature = services.signature_from_pass(db.session, token, campaign)
    return _write_page(campaign, None, signature, token if signature else None)


@bp.post("/c/<slug>/write")
@limiter.limit("20/hour")
def write_post(slug: str):
    campaign = public_campaign_or_404(slug)
    form = LetterForm()
    token = form.p.data
    signature = services.signature_from_pass(db.session, token, campaign)
    if signature is None:
        # An expired pass: the page says how to get a fresh one (the e-mail link).
        return _write_page(campaign, None, None, None, status=410)
    form.targets.choices = [(ct.target_id, "") for ct in services.campaign_targets(db.session, campaign)]
    if not form.validate_on_submit():
        return _write_page(campaign, form, signature, token, status=form.error_status)
    try:
        results = services.send_letters(
            db.session, signature, form.targets.data, locale=current_language(),
            with_name=bool(form.with_name.data),
            reply_to=form.email.data if form.with_reply_to.data else None,
        )
    except services.Refused as exc:
        db.session.rollback()
        form.email.errors = list(exc.problems)
        return _write_page(campaign, form, signature, token, status=422)
    db.session.commit()
    queued = sum(r.outcome == services.LetterOutcome.queued for r in results)
    already = sum(r.outcome == services.LetterOutcome.already for r in results)
    return redirect(url_for(".write", slug=slug, p=token, sent=queued, already=already or None) + "#letters",
                    code=303)
