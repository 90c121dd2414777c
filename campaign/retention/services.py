"""Retention: keep signers' data no longer than the campaign needs it.

Anonymising (``flask retention run``): a campaign's signatures are anonymised
``retention_days`` (or the site's RETENTION_DAYS) after it closed; archived
campaigns too. The rows stay, so every count, the country breakdown and the share
channels stay as they were; what could lead back to a person goes:

* names: "counted only" signers keep none; everyone else keeps only initials. Full
  names are reduced to initials as well: the campaign is over, and a list of full
  names under a political cause is exactly the data that can hurt people later.
  Their visibility becomes "initials", so the public page says what it shows.
* comments: kept only for confirmed signers who chose to be shown by full name,
  who published their words knowingly (now next to their initials); every other
  comment was never public and goes.
* the address, its keyed hash, its domain, the hashed IP, every token (confirm,
  withdraw, unsubscribe) and the opt-in go. Mail still queued for them is dropped.
* country and share channel stay (they are what the public breakdown and the
  dashboard count, and identify no one on their own).

A statement's requests to sign that are not on its list (waiting for a decision,
declined, unconfirmed) are deleted at the same moment; its list stays, being what
the signatories chose to make public. (Unconfirmed requests go sooner, when their
link expires, and declined ones STATEMENT_DECLINED_DAYS after the decision: the
statements feature's own jobs.)

It is idempotent: an anonymised signature has no e-mail key, which is how the next
run knows to skip it. A closed campaign that is reopened is not due again until
it closes again.

Erasure (``/<lang>/erase``): anyone may ask; if the address has signed anything, or
asked to be named on a statement, a link is mailed to it, and following it deletes
those signatures everywhere and erases those requests (statements.erase_requests).

Plain values in; callers commit (``after_batch`` lets a job commit between batches).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign, CampaignState
from campaign.mail.compose import compose
from campaign.organiser import audit
from campaign.outbox.services import cancel_queued, enqueue_mail, enqueue_task
from campaign.privacy.keys import email_key, new_token, token_hash, utcnow
from campaign.retention.models import ErasureRequest
from campaign.signatures import services as signatures
from campaign.signatures.emails import canonical_email
from campaign.signatures.models import Signature, SignatureState, Visibility
from campaign.statements import services as statements
from campaign.statements.models import Signatory
from campaign.text_normalise import normalise
from campaign.updates.models import UnsubscribeToken
from campaign.urls import external_url

ENDED = (CampaignState.closed, CampaignState.archived)


# --- anonymising ---

def retention_days(campaign: Campaign) -> int:
    days = campaign.retention_days
    return days if days is not None else current_app.config["RETENTION_DAYS"]


def anonymise_at(campaign: Campaign) -> dt.datetime | None:
    """When the campaign's signatures are due to be anonymised (None while it is open)."""
    if campaign.state not in ENDED:
        return None
    # An archived draft never closed: count from its creation (it has no signers).
    ended = campaign.closed_at or campaign.created_at
    return ended + dt.timedelta(days=retention_days(campaign))


def due_campaigns(session: Session, now: dt.datetime | None = None) -> list[Campaign]:
    """Closed and archived campaigns whose retention period is over."""
    now = now or utcnow()
    ended = session.scalars(sa.select(Campaign).where(Campaign.state.in_(ENDED)).order_by(Campaign.id))
    return [c for c in ended if (at := anonymise_at(c)) is not None and at <= now]


def _anonymised_values(signature_id: int, name: str, visibility: Visibility, state: SignatureState,
                       comment: str | None) -> dict:
    if visibility == Visibility.counted:
        new_name, new_visibility = "", Visibility.counted
    else:
        new_name, new_visibility = signatures.initials(name or ""), Visibility.initials
    public_comment = state == SignatureState.verified and visibility == Visibility.full_name
    # Everything personal goes, but what the signer had made public (cut down to
    # initials); country stays for the public breakdown by country.
    return dict(
        Signature.personal_data_cleared(keep=frozenset({"country"})),
        id=signature_id,
        name=new_name,
        search_name=normalise(new_name)[:255],
        visibility=new_visibility,
        comment=comment if public_comment else None,
    )


def anonymise_campaign(session: Session, campaign: Campaign, *, batch_size: int = 1000,
                       after_batch: Callable[[], None] = lambda: None) -> int:
    """Anonymise every signature of ``campaign`` not anonymised yet, a batch at a
    time. Returns how many were anonymised; 0 when there was nothing left to do."""
    total = last_id = 0
    while True:
        rows = session.execute(
            sa.select(Signature.id, Signature.name, Signature.visibility, Signature.state, Signature.comment)
            .where(Signature.campaign_id == campaign.id, Signature.id > last_id, Signature.email_key.is_not(None))
            .order_by(Signature.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        ids = [row[0] for row in rows]
        last_id = ids[-1]
        cancel_queued(session, ids, reason="anonymised")
        session.execute(sa.delete(UnsubscribeToken).where(UnsubscribeToken.signature_id.in_(ids)))
        session.execute(sa.update(Signature), [_anonymised_values(*row) for row in rows])
        session.flush()
        total += len(rows)
        after_batch()
    if total:
        audit.record(session, None, "retention.anonymise", campaign=campaign, signatures=total,
                     retention_days=retention_days(campaign))
        session.flush()
    return total


def remaining(session: Session, campaign: Campaign) -> int:
    """Signatures of ``campaign`` not anonymised yet."""
    return session.scalar(
        sa.select(sa.func.count()).select_from(Signature)
        .where(Signature.campaign_id == campaign.id, Signature.email_key.is_not(None))
    ) or 0


@dataclass(frozen=True)
class RetentionRun:
    campaigns: int
    signatures: int
    # Requests to sign a statement that never reached its list, deleted.
    requests: int = 0


def anonymise_due(session: Session, now: dt.datetime | None = None, *, batch_size: int = 1000,
                  after_batch: Callable[[], None] = lambda: None) -> RetentionRun:
    """Anonymise the signatures of every campaign whose retention period is over,
    and delete a statement's requests to sign that are not on its list (waiting for
    a decision, declined, unconfirmed: statements.delete_unlisted_requests). The
    list itself stays. Idempotent. Returns how many campaigns had something done,
    how many signatures were anonymised and how many requests deleted."""
    campaigns = signatures_total = requests_total = 0
    for campaign in due_campaigns(session, now):
        count = anonymise_campaign(session, campaign, batch_size=batch_size, after_batch=after_batch)
        requests = statements.delete_unlisted_requests(session, campaign)
        if count or requests:
            campaigns += 1
            signatures_total += count
            requests_total += requests
    return RetentionRun(campaigns, signatures_total, requests_total)


# --- erasure on request ---

def _erasure_window() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["ERASURE_LINK_HOURS"])


def request_erasure(session: Session, address: str, *, locale: str) -> None:
    """Mail an erasure link to ``address`` if it has signed anything or asked to be
    named on a statement; otherwise do nothing. The caller shows the same page either
    way, and the message is rendered either way, so neither the page nor its timing
    tells whether the address is known."""
    key = email_key(canonical_email(address))
    token, hashed = new_token()
    message = compose(
        "erase_confirm",
        to=address,
        locale=locale,
        subject=_l("Your request to erase your data"),
        erase_url=external_url("retention.erase_confirm", lang_code=locale, token=token),
        hours=current_app.config["ERASURE_LINK_HOURS"],
    )
    now = utcnow()
    session.execute(sa.delete(ErasureRequest).where(ErasureRequest.expires_at < now))
    # Requests are matched as signatures are, by the keyed hash of the canonical
    # address: the same mailbox written another way is found in both.
    known = session.scalar(sa.select(sa.or_(sa.exists().where(Signature.email_key == key),
                                            sa.exists().where(Signatory.email_key == key))))
    if not known:
        return
    session.add(ErasureRequest(email_key=key, token_hash=hashed, locale=locale, created_at=now,
                               expires_at=now + _erasure_window()))
    session.flush()
    enqueue_mail(session, message, template="erase_confirm")


def queue_erasure_request(session: Session, address: str, *, locale: str) -> None:
    """What the erase form does: hand the look-up to the worker (request_erasure).
    The request does the same single INSERT whatever the address, so its timing
    cannot tell whether the address signed anything, anywhere on the site."""
    enqueue_task(session, "retention.request_erasure", {"address": address, "locale": locale})


def request_erasure_task(session: Session, payload: dict) -> None:
    request_erasure(session, payload["address"], locale=payload["locale"])


def find_erasure(session: Session, token: str) -> ErasureRequest | None:
    """The erasure request behind a link, or None if unknown, used or expired."""
    if not token or len(token) > 100:
        return None
    request = session.scalar(sa.select(ErasureRequest).where(ErasureRequest.token_hash == token_hash(token)))
    if request is None or request.expires_at < utcnow():
        return None
    return request


def signatures_to_erase(session: Session, request: ErasureRequest) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(Signature).where(Signature.email_key == request.email_key)
    ) or 0


def requests_to_erase(session: Session, request: ErasureRequest) -> int:
    """Requests to be named on a statement made with the address behind the link."""
    return statements.requests_from(session, request.email_key)


def erase(session: Session, token: str) -> int | None:
    """Delete every signature made with the address behind this link, in every
    campaign (counts drop), with its unsubscribe links and any mail still queued to
    it, and erase its requests to be named on a statement (statements.erase_requests).
    Returns how many signatures were deleted, or None for an unknown or expired link."""
    request = find_erasure(session, token)
    if request is None:
        return None
    rows = session.scalars(sa.select(Signature).where(Signature.email_key == request.email_key)).all()
    ids = [s.id for s in rows]
    cancel_queued(session, ids, reason="erased")
    if ids:
        session.execute(sa.delete(UnsubscribeToken).where(UnsubscribeToken.signature_id.in_(ids)))
    per_campaign: dict[int, tuple[Campaign, int]] = {}
    for signature in rows:
        campaign = signature.campaign
        per_campaign[campaign.id] = (campaign, per_campaign.get(campaign.id, (campaign, 0))[1] + 1)
        signatures.erase(session, signature)
    for campaign, count in per_campaign.values():
        # The organisation sees why its count dropped; nothing says who.
        audit.record(session, None, "signature.erase", campaign=campaign, signatures=count)
    statements.erase_requests(session, request.email_key)
    session.execute(sa.delete(ErasureRequest).where(ErasureRequest.email_key == request.email_key))
    session.flush()
    return len(rows)
