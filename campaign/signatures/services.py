"""Signing, verifying and withdrawing. Plain values in, objects out; callers commit.

The page a signer sees after signing is the same whether the address is new or has
signed before: the difference only ever reaches the mailbox's owner, by e-mail.
"""
from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign, CountChange
from campaign.mail.compose import compose
from campaign.outbox.models import OutboxMessage
from campaign.outbox.services import cancel_queued, enqueue_mail, pending_for_signature
from campaign.privacy.keys import email_key, new_token, token_hash, utcnow
from campaign.signatures.emails import canonical_email, email_domain
from campaign.signatures.models import Signature, SignatureState, Visibility
from campaign.text_normalise import normalise
from campaign.urls import external_url

REFERRAL_RE = re.compile(r"^[a-z0-9_-]{1,32}$")

# Which count (a CountChange column, and Campaign's folded column) follows which state.
_COUNTERS = {
    SignatureState.pending: "pending",
    SignatureState.verified: "verified",
}
_FOLDED = {"pending": Campaign.pending_folded, "verified": Campaign.verified_folded}


@dataclass(frozen=True)
class SignInput:
    name: str
    email: str
    country: str
    comment: str | None
    visibility: Visibility
    opt_in: bool
    referral: str | None = None


class SignOutcome(enum.Enum):
    new = "new"
    confirmation_resent = "confirmation_resent"
    already_signed = "already_signed"
    signed_again = "signed_again"


class TokenProblem(enum.Enum):
    invalid = "invalid"
    expired = "expired"
    closed = "closed"


class TokenError(Exception):
    def __init__(self, problem: TokenProblem, signature: Signature | None = None):
        super().__init__(problem.value)
        self.problem = problem
        self.signature = signature


def clean_referral(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if REFERRAL_RE.match(value) else None


def _count(session: Session, campaign_id: int, **changes: int) -> None:
    """Record a change of the campaign's counts: an INSERT, so signers of one
    campaign never wait on each other's row lock (see CountChange)."""
    session.execute(sa.insert(CountChange).values(campaign_id=campaign_id, **changes))


def fold_counts(session: Session, *, limit: int = 10_000) -> int:
    """Fold recorded count changes into the campaigns' stored counts (the worker
    does every second); returns how many were folded. Counts read the same before
    and after: only where they are kept moves. Each change is claimed by deleting
    it (DELETE … RETURNING), so two workers folding at once never add one twice."""
    batch = sa.select(CountChange.id).order_by(CountChange.id).limit(limit).scalar_subquery()
    rows = session.execute(
        sa.delete(CountChange).where(CountChange.id.in_(batch))
        .returning(CountChange.campaign_id, CountChange.verified, CountChange.pending)
    ).all()
    if not rows:
        return 0
    sums: dict[int, list[int]] = {}
    for campaign_id, verified, pending in rows:
        total = sums.setdefault(campaign_id, [0, 0])
        total[0] += verified
        total[1] += pending
    for campaign_id in sorted(sums):
        verified, pending = sums[campaign_id]
        session.execute(
            sa.update(Campaign).where(Campaign.id == campaign_id)
            .values(verified_folded=Campaign.verified_folded + verified,
                    pending_folded=Campaign.pending_folded + pending)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return len(rows)


def move(session: Session, signature: Signature, new: SignatureState, **values) -> bool:
    """Change a signature's state (and set ``values``) if it is still what we read,
    and adjust the campaign's counters in the same transaction; every state change
    goes through here. False if someone else got there first."""
    old = signature.state
    old.check(new)
    result = session.execute(
        sa.update(Signature)
        .where(Signature.id == signature.id, Signature.state == old)
        .values(state=new, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(signature)
        return False
    counters = {}
    if old in _COUNTERS:
        counters[_COUNTERS[old]] = -1
    if new in _COUNTERS:
        counters[_COUNTERS[new]] = +1
    if counters:
        _count(session, signature.campaign_id, **counters)
    session.flush()
    session.refresh(signature)
    session.expire(signature.campaign, ["verified_count", "pending_count"])
    return True


def _verify_window() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["VERIFY_TOKEN_HOURS"])


def _withdraw_window() -> dt.timedelta:
    return dt.timedelta(days=current_app.config["WITHDRAW_TOKEN_DAYS"])


def _queue_mail(
    session: Session,
    signature: Signature,
    template: str,
    *,
    to: str,
    locale: str,
    verify_token: str | None,
    withdraw_token: str,
) -> OutboxMessage:
    message = _compose_mail(signature.campaign, template, to=to, locale=locale,
                            verify_token=verify_token, withdraw_token=withdraw_token)
    return enqueue_mail(session, message, template=template, signature_id=signature.id)


def _compose_mail(
    campaign: Campaign,
    template: str,
    *,
    to: str,
    locale: str,
    verify_token: str | None,
    withdraw_token: str,
) -> dict:
    subjects = {
        "confirm": _l("Please confirm your signature"),
        "already_signed": _l("About your signature"),
        "signature_link": _l("About your signature"),
    }
    return compose(
        template,
        to=to,
        locale=locale,
        subject=subjects[template],
        campaign_title=campaign.title_in(locale),
        campaign_url=external_url("campaigns.show", lang_code=locale, slug=campaign.slug),
        confirm_url=(
            external_url("signatures.confirm", lang_code=locale, token=verify_token) if verify_token else None
        ),
        withdraw_url=external_url("signatures.withdraw", lang_code=locale, token=withdraw_token),
        verify_hours=current_app.config["VERIFY_TOKEN_HOURS"],
    )


def sign(
    session: Session,
    campaign: Campaign,
    data: SignInput,
    *,
    locale: str,
    ip_key: str | None,
) -> tuple[Signature, SignOutcome]:
    """Record a signature (pending) and queue the right e-mail.

    A new address gets a confirmation link. An address that already signed gets a
    "you have already signed" e-mail (or a fresh confirmation link if it never
    confirmed); a withdrawn signer may sign again. The unique constraint on
    (campaign, email_key) decides what is new, so concurrent duplicates are safe.
    """
    if not campaign.is_open:
        raise ValueError("campaign is not open for signatures")
    key = email_key(canonical_email(data.email))
    verify_token, verify_hash = new_token()
    withdraw_token, withdraw_hash = new_token()
    now = utcnow()
    fields = dict(
        name=data.name.strip(),
        search_name=normalise(data.name)[:255],
        country=data.country,
        comment=(data.comment or "").strip() or None,
        visibility=data.visibility,
        locale=locale,
        opt_in=data.opt_in,
        email=data.email,
        email_domain=email_domain(data.email),
        ip_key=ip_key,
        referral=clean_referral(data.referral),
        verify_token_hash=verify_hash,
        verify_expires_at=now + _verify_window(),
        withdraw_token_hash=withdraw_hash,
        withdraw_expires_at=now + _withdraw_window(),
    )
    signature = Signature(campaign_id=campaign.id, email_key=key, state=SignatureState.pending, **fields)
    try:
        with session.begin_nested():
            session.add(signature)
            session.flush()
    except IntegrityError:
        existing = session.scalar(
            sa.select(Signature).where(Signature.campaign_id == campaign.id, Signature.email_key == key)
        )
        if existing is None:  # the row vanished between our insert and read: rare, retry once
            return sign(session, campaign, data, locale=locale, ip_key=ip_key)
        return _sign_again(session, existing, data, fields, verify_token, withdraw_token)

    _count(session, campaign.id, pending=+1)
    session.expire(campaign, ["verified_count", "pending_count"])
    signature.campaign = campaign
    _queue_mail(
        session, signature, "confirm", to=data.email, locale=locale,
        verify_token=verify_token, withdraw_token=withdraw_token,
    )
    return signature, SignOutcome.new


def _sign_again(
    session: Session,
    existing: Signature,
    data: SignInput,
    fields: dict,
    verify_token: str,
    withdraw_token: str,
) -> tuple[Signature, SignOutcome]:
    locale = fields["locale"]
    if existing.state == SignatureState.withdrawn:
        move(session, existing, SignatureState.pending, verified_at=None, withdrawn_at=None, **fields)
        _queue_mail(session, existing, "confirm", to=data.email, locale=locale,
                    verify_token=verify_token, withdraw_token=withdraw_token)
        return existing, SignOutcome.signed_again
    if existing.state == SignatureState.pending:
        # They probably lost the first e-mail: the latest details and a fresh link.
        for name, value in fields.items():
            setattr(existing, name, value)
        session.flush()
        _queue_mail(session, existing, "confirm", to=data.email, locale=locale,
                    verify_token=verify_token, withdraw_token=withdraw_token)
        return existing, SignOutcome.confirmation_resent
    existing.withdraw_token_hash = fields["withdraw_token_hash"]
    existing.withdraw_expires_at = fields["withdraw_expires_at"]
    session.flush()
    _queue_mail(session, existing, "already_signed", to=data.email, locale=locale,
                verify_token=None, withdraw_token=withdraw_token)
    return existing, SignOutcome.already_signed


def _by_token(session: Session, column, token: str) -> Signature | None:
    if not token or len(token) > 100:
        return None
    return session.scalar(sa.select(Signature).where(column == token_hash(token)))


def find_for_confirmation(session: Session, token: str) -> Signature:
    """The signature a confirmation link points to, or TokenError."""
    signature = _by_token(session, Signature.verify_token_hash, token)
    if signature is None or signature.state in (SignatureState.withdrawn, SignatureState.invalidated):
        raise TokenError(TokenProblem.invalid)
    if signature.state == SignatureState.pending or _held_unconfirmed(signature):
        if signature.verify_expires_at and signature.verify_expires_at < utcnow():
            raise TokenError(TokenProblem.expired, signature)
        if not signature.campaign.is_open:
            raise TokenError(TokenProblem.closed, signature)
    return signature


def verify(session: Session, token: str) -> Signature:
    """Confirm a signature from its e-mail link: it is counted from now on.
    Confirming twice is harmless; the count moves once."""
    signature = find_for_confirmation(session, token)
    if signature.state == SignatureState.pending:
        move(session, signature, SignatureState.verified, verified_at=utcnow())
        release_email(session, signature)
    elif _held_unconfirmed(signature):
        confirm_held(session, signature)
    return signature


def _held_unconfirmed(signature: Signature) -> bool:
    return signature.state == SignatureState.held and signature.verified_at is None


def hold(session: Session, signature: Signature) -> bool:
    """Keep a signature just made (pending) out of the counts until a moderator
    releases it (moderation.services.release). Its confirmation e-mail still goes:
    the signer confirms as usual, and release then counts it at once."""
    if signature.state != SignatureState.pending:
        return False
    return move(session, signature, SignatureState.held)


def confirm_held(session: Session, signature: Signature) -> None:
    """The signer of a held signature confirmed their address: note when, so that a
    release makes it count; it stays held (and uncounted) until then."""
    session.execute(
        sa.update(Signature).where(Signature.id == signature.id, Signature.state == SignatureState.held)
        .values(verified_at=utcnow()).execution_options(synchronize_session=False)
    )
    session.flush()
    session.refresh(signature)
    release_email(session, signature)


def find_for_withdrawal(session: Session, token: str) -> Signature:
    signature = _by_token(session, Signature.withdraw_token_hash, token)
    if signature is None or signature.state == SignatureState.withdrawn:
        raise TokenError(TokenProblem.invalid)
    if signature.withdraw_expires_at and signature.withdraw_expires_at < utcnow():
        raise TokenError(TokenProblem.expired, signature)
    return signature


def withdraw(session: Session, token: str) -> Signature:
    """Withdraw a signature: the name, comment and address go, the count drops.
    Only the keyed hash stays, so the same person can sign again later."""
    signature = find_for_withdrawal(session, token)
    # Only the keyed hash of the address stays, so the same person can sign again.
    move(session, signature, SignatureState.withdrawn, withdrawn_at=utcnow(),
         **Signature.personal_data_cleared(keep=frozenset({"email_key"})))
    # An update still waiting in the outbox must not reach someone who just withdrew.
    cancel_queued(session, [signature.id], reason="withdrawn", templates=["update"])
    return signature


def erase(session: Session, signature: Signature) -> None:
    """Delete a signature for good (the signer asked for their data to be erased).
    It stops counting first, so the campaign's counters drop in the same transaction."""
    if signature.state != SignatureState.withdrawn:
        move(session, signature, SignatureState.withdrawn, withdrawn_at=utcnow())
    session.delete(signature)
    session.flush()


def resend_link(session: Session, campaign: Campaign, address: str, *, locale: str) -> None:
    """Send a fresh confirmation (or, if confirmed, withdrawal) link to an address
    that signed this campaign. Does nothing, silently, for any other address."""
    signature = session.scalar(
        sa.select(Signature).where(
            Signature.campaign_id == campaign.id, Signature.email_key == email_key(canonical_email(address))
        )
    )
    if signature is not None and signature.state == SignatureState.withdrawn:
        signature = None
    confirming = campaign.is_open and (signature is None or signature.state == SignatureState.pending)
    template = "confirm" if confirming else "signature_link"
    withdraw_token, withdraw_hash = new_token()
    verify_token, verify_hash = new_token() if confirming else (None, None)
    # Rendered whatever the address, as for erasure requests: rendering only for
    # addresses that signed made their answer measurably slower, which told anyone
    # who tried an address whether its owner signed this campaign.
    message = _compose_mail(campaign, template, to=address, locale=locale,
                            verify_token=verify_token, withdraw_token=withdraw_token)
    if signature is None:
        return
    signature.withdraw_token_hash = withdraw_hash
    signature.withdraw_expires_at = utcnow() + _withdraw_window()
    if verify_token:
        signature.verify_token_hash = verify_hash
        signature.verify_expires_at = utcnow() + _verify_window()
    session.flush()
    enqueue_mail(session, message, template=template, signature_id=signature.id)


def release_email(session: Session, signature: Signature) -> bool:
    """Erase the address once nothing needs it: confirmed, no opt-in for updates,
    and no e-mail of theirs still waiting to go. The keyed hash remains."""
    if signature.email is None or signature.opt_in or signature.state == SignatureState.pending:
        return False
    if pending_for_signature(session, signature.id):
        return False
    signature.email = None
    session.flush()
    return True


def release_after_delivery(message: OutboxMessage, session: Session) -> None:
    """The outbox calls this when a message is done: the address may go now."""
    if message.signature_id is not None:
        signature = session.get(Signature, message.signature_id)
        if signature is not None:
            release_email(session, signature)


def erase_expired_pending(session: Session) -> int:
    """Unconfirmed signatures whose link has expired keep no address (held ones
    too: a held signature nobody reviews must not keep it for ever)."""
    rows = session.scalars(
        sa.select(Signature).where(
            Signature.state.in_((SignatureState.pending, SignatureState.held)),
            Signature.verified_at.is_(None),
            Signature.email.is_not(None),
            Signature.verify_expires_at < utcnow(),
        )
    ).all()
    erased = 0
    for signature in rows:
        if not pending_for_signature(session, signature.id):
            signature.email = None
            erased += 1
    session.flush()
    return erased


@dataclass(frozen=True)
class PublicSigner:
    name: str
    country: str | None
    comment: str | None
    verified_at: dt.datetime | None


def initials(name: str) -> str:
    """'Layla Haddad' → 'L. H.'; 'ليلى حداد' → 'ل. ح.' (at most three)."""
    words = [w for w in re.split(r"\s+", name.strip()) if w]
    return " ".join(f"{w[0]}." for w in words[:3])


def public_name(signature: Signature) -> str | None:
    return shown_name(signature.visibility, signature.name)


def shown_name(visibility: Visibility | str, name: str) -> str | None:
    """A name as its signer chose to be shown: whole, as initials, or not at all."""
    if visibility == Visibility.full_name:
        return name
    if visibility == Visibility.initials:
        return initials(name)
    return None


def recent_public_signers(session: Session, campaign: Campaign, limit: int = 10) -> list[PublicSigner]:
    """Latest confirmed signers who chose to be shown, as they chose."""
    rows = session.scalars(
        sa.select(Signature)
        .where(
            Signature.campaign_id == campaign.id,
            Signature.state == SignatureState.verified,
            Signature.visibility != Visibility.counted,
        )
        .order_by(Signature.verified_at.desc(), Signature.id.desc())
        .limit(limit)
    ).all()
    return [PublicSigner(public_name(s) or "", s.country, s.comment, s.verified_at) for s in rows]


@dataclass(frozen=True)
class Breakdown:
    rows: list[tuple[str, int]]
    other: int


def country_breakdown(session: Session, campaign: Campaign, minimum: int) -> Breakdown:
    """Confirmed signatures by country. Countries under ``minimum`` are folded into
    'other', and 'other' itself is hidden (0) when it is under ``minimum`` too."""
    rows = session.execute(
        sa.select(Signature.country, sa.func.count())
        .where(Signature.campaign_id == campaign.id, Signature.state == SignatureState.verified)
        .group_by(Signature.country)
    ).all()
    shown = sorted(((c, n) for c, n in rows if c and n >= minimum), key=lambda r: -r[1])
    other = sum(n for c, n in rows if not c or n < minimum)
    return Breakdown(shown, other if other >= minimum else 0)


def reconcile_counts(session: Session) -> list[tuple[str, str, int, int]]:
    """Set every campaign's counts to the true COUNT(*); returns what was wrong as
    (slug, counter, shown, actual). Commits per campaign.

    The campaign row is locked first (PostgreSQL; a no-op on SQLite), as fold_counts
    does, and the stored count is set in one UPDATE so that, with the changes not yet
    folded, it adds up to COUNT(*) in that statement's snapshot."""
    fixes = []
    for campaign_id in session.scalars(sa.select(Campaign.id).order_by(Campaign.id)).all():
        session.execute(sa.select(Campaign.id).where(Campaign.id == campaign_id).with_for_update())
        shown = session.execute(
            sa.select(Campaign.slug, Campaign.pending_count, Campaign.verified_count)
            .where(Campaign.id == campaign_id).execution_options(populate_existing=True)
        ).one()
        values = {}
        for state, name in _COUNTERS.items():
            actual = (sa.select(sa.func.count()).select_from(Signature)
                      .where(Signature.campaign_id == campaign_id, Signature.state == state).scalar_subquery())
            unfolded = (sa.select(sa.func.coalesce(sa.func.sum(getattr(CountChange, name)), 0))
                        .where(CountChange.campaign_id == campaign_id).scalar_subquery())
            values[_FOLDED[name].key] = actual - unfolded
        session.execute(sa.update(Campaign).where(Campaign.id == campaign_id).values(**values)
                        .execution_options(synchronize_session=False))
        now = session.execute(
            sa.select(Campaign.pending_count, Campaign.verified_count).where(Campaign.id == campaign_id)
        ).one()
        session.commit()
        for i, name in enumerate(_COUNTERS.values()):
            if shown[i + 1] != now[i]:
                fixes.append((shown.slug, f"{name}_count", shown[i + 1], now[i]))
    return fixes
