"""Updates: write one in every language, send a test to yourself, then send it once
to every signer who asked for updates, each in their own language.

Sending is two steps. ``start_sending`` (the owner's click) freezes the update and
fixes who can receive it: signatures up to the highest id at that moment. The
worker then calls ``queue_due_updates`` in its loop; each call queues one batch
(``UPDATE_BATCH_SIZE`` signers, in id order) in the worker's own transaction, so a
campaign with 100,000 signers needs neither a long request, nor one huge
transaction, nor memory that grows with the list. Whether a signer still wants
updates is read when their batch is queued: someone who unsubscribes in between
gets nothing.

Plain values in, objects out; callers commit.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign, CampaignState
from campaign.i18n import DEFAULT_LANGUAGE, LANGUAGES
from campaign.mail.compose import compose
from campaign.organiser import audit
from campaign.organiser.access import Permission, require_campaign
from campaign.organiser.models import Organiser
from campaign.outbox.models import OutboxMessage
from campaign.outbox.services import cancel_queued, enqueue_mail, enqueue_mails
from campaign.privacy.keys import new_token, token_hash, utcnow
from campaign.sanitize import render_markdown
from campaign.signatures.models import Signature, SignatureState
from campaign.signatures.services import release_email
from campaign.updates.models import UnsubscribeToken, Update, UpdateState, UpdateText
from campaign.urls import external_url

TEMPLATE = "update"
TEST_TEMPLATE = "update_test"
# Stands in for each signer's own unsubscribe token while a batch's message is
# rendered once per language; URL-safe, so escaping leaves it untouched.
_TOKEN_SLOT = "UNSUBSCRIBE-TOKEN-SLOT"
MAX_SUBJECT = 200
MAX_BODY = 20_000


@dataclass(frozen=True)
class UpdateTextInput:
    """One language's update, as typed (Markdown body)."""

    subject: str = ""
    body_md: str = ""


@dataclass(frozen=True)
class MissingText:
    locale: str
    field: str  # "subject" | "body"

    def describe(self) -> str:
        from campaign.i18n import language_name

        label = _l("subject") if self.field == "subject" else _l("text")
        return f"{language_name(self.locale)}: {label}"


class UpdateLocked(ValueError):
    """The update has been sent (or is being sent): it can no longer change."""


class UpdateIncomplete(ValueError):
    """A test or a send needs every language: ``missing`` says what is not written."""

    def __init__(self, missing: list[MissingText]):
        super().__init__("update is incomplete")
        self.missing = missing


class UpdateChanged(ValueError):
    """The draft changed (a teammate saved it) after the sender read the version
    they are sending: nothing is sent unseen."""


def version_of(update: Update) -> str:
    """What the send page shows and sends back: the draft's last change."""
    return update.updated_at.isoformat()


class CampaignArchived(ValueError):
    """Archived campaigns are a closed record: no more updates to their signers."""


# --- drafts ---

def _set_texts(session: Session, update: Update, texts: dict[str, UpdateTextInput]) -> bool:
    changed = False
    for locale in LANGUAGES:
        value = texts.get(locale, UpdateTextInput())
        # One line (it becomes a mail header), and never a NUL (PostgreSQL refuses it).
        subject = " ".join(value.subject.replace("\x00", "").split())[:MAX_SUBJECT]
        body_md = value.body_md.replace("\x00", "")[:MAX_BODY]
        text = update.text(locale)
        if text is None:
            text = UpdateText(locale=locale)
            update.texts.append(text)
            changed = True
        if (text.subject, text.body_md) != (subject, body_md):
            text.subject, text.body_md = subject, body_md
            text.body_html = render_markdown(body_md)
            changed = True
    if changed:
        update.updated_at = utcnow()
    session.flush()
    return changed


def create_draft(session: Session, actor: Organiser, campaign: Campaign,
                 texts: dict[str, UpdateTextInput]) -> Update:
    """Start an update for a campaign's signers. Editors may write drafts."""
    require_campaign(actor, Permission.edit_campaigns, campaign)
    if campaign.state == CampaignState.archived:
        raise CampaignArchived(campaign.slug)
    update = Update(campaign_id=campaign.id, state=UpdateState.draft, created_by_id=actor.id)
    session.add(update)
    session.flush()
    _set_texts(session, update, texts)
    audit.record(session, actor, "update.create", campaign=campaign, update=update.id)
    return update


def save_draft(session: Session, actor: Organiser, update: Update, texts: dict[str, UpdateTextInput]) -> bool:
    """Change a draft's texts. Returns whether anything changed."""
    require_campaign(actor, Permission.edit_campaigns, update.campaign)
    if update.state != UpdateState.draft:
        raise UpdateLocked(update.id)
    changed = _set_texts(session, update, texts)
    if changed:
        audit.record(session, actor, "update.edit", campaign=update.campaign, update=update.id)
    return changed


def delete_draft(session: Session, actor: Organiser, update: Update) -> None:
    require_campaign(actor, Permission.edit_campaigns, update.campaign)
    if update.state != UpdateState.draft:
        raise UpdateLocked(update.id)
    audit.record(session, actor, "update.delete", campaign=update.campaign, update=update.id)
    session.delete(update)
    session.flush()


def missing_texts_of(texts: dict[str, UpdateTextInput]) -> list[MissingText]:
    """What must still be written, in every language, before a test or a send."""
    missing = []
    for locale in LANGUAGES:
        text = texts.get(locale, UpdateTextInput())
        if not text.subject.strip():
            missing.append(MissingText(locale, "subject"))
        if not text.body_md.strip():
            missing.append(MissingText(locale, "body"))
    return missing


def missing_texts(update: Update) -> list[MissingText]:
    return missing_texts_of({t.locale: UpdateTextInput(t.subject, t.body_md) for t in update.texts})


def updates_of(session: Session, campaign: Campaign) -> list[Update]:
    return list(session.scalars(
        sa.select(Update).where(Update.campaign_id == campaign.id).order_by(Update.created_at.desc(), Update.id.desc())
    ))


# --- who receives it ---

def _recipient_conditions(campaign_id: int):
    """Confirmed signers who opted in (unsubscribing clears the opt-in) and whose
    address we still hold."""
    return (
        Signature.campaign_id == campaign_id,
        Signature.state == SignatureState.verified,
        Signature.opt_in.is_(True),
        Signature.email.is_not(None),
    )


def _language_of(signature_locale: str | None) -> str:
    return signature_locale if signature_locale in LANGUAGES else DEFAULT_LANGUAGE


def recipient_counts(session: Session, campaign: Campaign) -> dict[str, int]:
    """How many signers would receive an update now, per language (every language
    present, zero included)."""
    counts = {locale: 0 for locale in LANGUAGES}
    rows = session.execute(
        sa.select(Signature.locale, sa.func.count()).where(*_recipient_conditions(campaign.id))
        .group_by(Signature.locale)
    ).all()
    for locale, count in rows:
        counts[_language_of(locale)] += count
    return counts


# --- rendering ---

def _subject(update: Update, locale: str, *, test: bool = False):
    subject = update.text(locale).subject
    if test:
        return _l("[Test] %(subject)s", subject=subject)
    return subject


def _render(update: Update, locale: str, *, to: str, unsubscribe_url: str | None, test: bool = False) -> dict:
    campaign = update.campaign
    text = update.text(locale)
    headers = None
    if unsubscribe_url:
        # RFC 2369 and RFC 8058: mail clients offer their own unsubscribe button, and
        # a one-click POST to this address unsubscribes without opening a page.
        headers = {"List-Unsubscribe": f"<{unsubscribe_url}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return compose(
        TEMPLATE,
        to=to,
        locale=locale,
        subject=_subject(update, locale, test=test),
        headers=headers,
        test=test,
        campaign_title=campaign.title_in(locale),
        campaign_url=external_url("campaigns.show", lang_code=locale, slug=campaign.slug),
        body_md=text.body_md,
        body_html=text.body_html,
        unsubscribe_url=unsubscribe_url,
        erase_url=external_url("retention.erase", lang_code=locale),
    )


def send_test(session: Session, actor: Organiser, update: Update) -> list[OutboxMessage]:
    """Mail the update to the organiser themself, once per language, marked as a
    test. Signers receive nothing."""
    require_campaign(actor, Permission.edit_campaigns, update.campaign)
    missing = missing_texts(update)
    if missing:
        raise UpdateIncomplete(missing)
    messages = [
        enqueue_mail(session, _render(update, locale, to=actor.email, unsubscribe_url=None, test=True),
                     template=TEST_TEMPLATE)
        for locale in LANGUAGES
    ]
    update.test_sent_at = utcnow()
    session.flush()
    audit.record(session, actor, "update.test_send", campaign=update.campaign, update=update.id,
                 languages=list(LANGUAGES))
    return messages


# --- sending ---

def start_sending(session: Session, actor: Organiser, update: Update, *,
                  seen_version: str | None = None) -> dict[str, int]:
    """Send the update to the campaign's opted-in signers: from now on it cannot
    change, and it can never be sent again. The worker queues the e-mails. Returns
    the number of recipients per language at this moment.

    ``seen_version`` (version_of() when the sender read it) refuses with
    UpdateChanged if the draft has changed since, even in the same instant."""
    campaign = update.campaign
    require_campaign(actor, Permission.send_updates, campaign)
    if campaign.state == CampaignState.archived:
        raise CampaignArchived(campaign.slug)
    update.state.check(UpdateState.sending)
    missing = missing_texts(update)
    if missing:
        raise UpdateIncomplete(missing)
    if seen_version is not None and seen_version != version_of(update):
        raise UpdateChanged(update.id)
    unchanged = [Update.updated_at == update.updated_at] if seen_version is not None else []
    last_id = session.scalar(
        sa.select(sa.func.max(Signature.id)).where(Signature.campaign_id == campaign.id)
    ) or 0
    now = utcnow()
    # Only one click wins, even if two arrive together.
    result = session.execute(
        sa.update(Update)
        .where(Update.id == update.id, Update.state == UpdateState.draft, *unchanged)
        .values(state=UpdateState.sending, sent_by_id=actor.id, sending_started_at=now,
                last_signature_id=last_id, queued_through_id=0, recipient_counts={})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(update)
        update.state.check(UpdateState.sending)  # raises: someone else sent it
        raise UpdateChanged(update.id)  # still a draft: saved again meanwhile
    session.flush()
    session.refresh(update)
    counts = recipient_counts(session, campaign)
    audit.record(session, actor, "update.send", campaign=campaign, update=update.id, recipients=counts)
    return counts


def queue_batch(session: Session, update: Update, batch_size: int | None = None) -> int:
    """Queue the next batch of a sending update: one e-mail per signer, in their
    language, each with its own unsubscribe link. When nothing is left the update
    becomes sent. Returns how many e-mails were queued."""
    if update.state != UpdateState.sending:
        return 0
    batch_size = batch_size or current_app.config["UPDATE_BATCH_SIZE"]
    rows = session.execute(
        sa.select(Signature.id, Signature.email, Signature.locale)
        .where(*_recipient_conditions(update.campaign_id),
               Signature.id > update.queued_through_id, Signature.id <= update.last_signature_id)
        .order_by(Signature.id)
        .limit(batch_size)
    ).all()
    templates: dict[str, dict] = {}
    messages, tokens = [], []
    counts = dict(update.recipient_counts or {})
    for signature_id, address, signature_locale in rows:
        locale = _language_of(signature_locale)
        if locale not in templates:
            url = external_url("updates.unsubscribe", lang_code=locale, token=_TOKEN_SLOT)
            templates[locale] = _render(update, locale, to="", unsubscribe_url=url)
        token, hashed = new_token()
        tokens.append({"signature_id": signature_id, "token_hash": hashed, "created_at": utcnow()})
        messages.append((_personalise(templates[locale], address, token), signature_id,
                         f"update:{update.id}:{signature_id}"))
        counts[locale] = counts.get(locale, 0) + 1
    if tokens:
        session.execute(sa.insert(UnsubscribeToken), tokens)
    enqueue_mails(session, messages, template=TEMPLATE)
    if rows:
        update.queued_through_id = rows[-1][0]
        update.recipient_counts = counts
    if len(rows) < batch_size:
        _finish_sending(session, update)
    session.flush()
    return len(rows)


def _personalise(message: dict, address: str, token: str) -> dict:
    out = dict(message, to=address)
    out["text"] = message["text"].replace(_TOKEN_SLOT, token)
    out["html"] = message["html"].replace(_TOKEN_SLOT, token)
    out["headers"] = {k: v.replace(_TOKEN_SLOT, token) for k, v in message.get("headers", {}).items()}
    return out


def _finish_sending(session: Session, update: Update) -> None:
    update.state.check(UpdateState.sent)
    update.state = UpdateState.sent
    update.sent_at = utcnow()
    session.flush()
    counts = {locale: (update.recipient_counts or {}).get(locale, 0) for locale in LANGUAGES}
    audit.record(session, None, "update.sent", campaign=update.campaign, update=update.id, recipients=counts)


def queue_due_updates(session: Session, batch_size: int | None = None) -> int:
    """One batch of the oldest update being sent (the worker calls this in its loop).
    Returns how many e-mails were queued; 0 when no update is being sent."""
    update = session.scalar(
        sa.select(Update).where(Update.state == UpdateState.sending).order_by(Update.id).limit(1)
        .with_for_update(skip_locked=True)
    )
    if update is None:
        return 0
    return queue_batch(session, update, batch_size)


# --- unsubscribing ---

def find_for_unsubscribe(session: Session, token: str) -> Signature | None:
    """The signature an unsubscribe link belongs to, or None."""
    if not token or len(token) > 100:
        return None
    return session.scalar(
        sa.select(Signature).join(UnsubscribeToken, UnsubscribeToken.signature_id == Signature.id)
        .where(UnsubscribeToken.token_hash == token_hash(token))
    )


def unsubscribe(session: Session, token: str) -> Signature | None:
    """Stop updates for the signature behind this link: the opt-in goes, update
    e-mails still queued for it are dropped, and the address is erased unless
    something else still needs it. Harmless to repeat. None for an unknown link."""
    signature = find_for_unsubscribe(session, token)
    if signature is None:
        return None
    signature.opt_in = False
    session.flush()
    cancel_queued(session, [signature.id], reason="unsubscribed", templates=[TEMPLATE])
    release_email(session, signature)
    return signature
