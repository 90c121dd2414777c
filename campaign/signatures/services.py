"""Signing, verifying and withdrawing. Plain values in, objects out; callers commit.

The page a signer sees after signing is the same whether the address is new or has
signed before: the difference only ever reaches the mailbox's owner, by e-mail.
"""
from __future__ import annotations

import base64
import datetime as dt
import enum
import functools
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import asdict, dataclass, fields as dataclass_fields

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, defer, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from campaign.campaigns.models import Campaign, CampaignKind, CountChange
from campaign.mail.backends import PermanentFailure
from campaign.mail.compose import compose
from campaign.outbox.models import OutboxMessage
from campaign.outbox.models import MessageState
from campaign.outbox.services import cancel_queued, enqueue_mails, enqueue_task, mail_to_compose, pending_for_signature
from campaign.privacy.keys import email_key, new_token, token_hash, utcnow
from campaign.signatures.emails import canonical_email, email_identity
from campaign.signatures.models import Signature, SignatureState, Visibility
from campaign.text_normalise import normalise
from campaign.urls import external_url

REFERRAL_RE = re.compile(r"^[a-z0-9_-]{1,32}$")

# The mails about one signature that carry its links. The same one asked for again
# within SIGN_REPEAT_SECONDS (a double click, a second "resend") is not sent twice.
SIGNATURE_MAILS = ("confirm", "already_signed", "signature_link")
# They are rendered by the worker (outbox.register_composer), not in the request.
LINK_MAIL_COMPOSER = "signatures.link_mail"
# The task the sign form queues (take_signature), and the one an earlier version
# queued for an address that had signed (sign_again_task).
TAKE_SIGNATURE_TASK = "signatures.take"
SIGN_AGAIN_TASK = "signatures.sign_again"

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
    session.execute(sa.insert(CountChange.__table__), {"campaign_id": campaign_id, "verified": 0, "pending": 0,
                                                      **changes})


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
    session.flush()  # the signature's own pending changes go first
    table = Signature.__table__
    result = session.execute(
        table.update().where(table.c.id == signature.id, table.c.state == old).values(state=new, **values)
    )
    if result.rowcount != 1:
        session.refresh(signature)
        return False
    # The signature in memory takes the values the UPDATE set (one given as an SQL
    # expression is read again if it is used): no SELECT after it.
    set_committed_value(signature, "state", new)
    for name, value in values.items():
        if isinstance(value, sa.ClauseElement):
            session.expire(signature, [name])
        else:
            set_committed_value(signature, name, value)
    counters = {}
    if old in _COUNTERS:
        counters[_COUNTERS[old]] = -1
    if new in _COUNTERS:
        counters[_COUNTERS[new]] = +1
    if counters:
        _count(session, signature.campaign_id, **counters)
    campaign = session.identity_map.get(identity_key(Campaign, signature.campaign_id))
    if campaign is not None:
        session.expire(campaign, ["verified_count", "pending_count"])
    return True


def _verify_window() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["VERIFY_TOKEN_HOURS"])


def _withdraw_window() -> dt.timedelta:
    return dt.timedelta(days=current_app.config["WITHDRAW_TOKEN_DAYS"])


def link_token(seed: str, purpose: str) -> str:
    """The token of a signature's ``purpose`` ("verify" or "withdraw") link.

    Derived (keyed with DATA_KEY) from the signature's random seed, so every mail
    about a signature carries the same links: a second mail (a double click, a
    resend) no longer kills the link in the first one. Only its hash is stored, as
    before; the seed alone, without the key, gives no link."""
    digest = hmac.new(current_app.config["DATA_KEY"].encode(), f"signature-link:{purpose}:{seed}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _new_links(now: dt.datetime) -> dict:
    """Fresh link fields: a new seed, so every earlier link stops working."""
    seed = secrets.token_hex(16)
    return dict(
        token_seed=seed,
        verify_token_hash=token_hash(link_token(seed, "verify")),
        verify_expires_at=now + _verify_window(),
        withdraw_token_hash=token_hash(link_token(seed, "withdraw")),
        withdraw_expires_at=now + _withdraw_window(),
    )


def _renew_links(signature: Signature, now: dt.datetime, *, confirming: bool) -> None:
    """Keep a signature's links (those already mailed go on working) and give them
    the full time again, as the new mail says; a signature without a seed gets one."""
    if signature.token_seed is None:
        for name, value in _new_links(now).items():
            setattr(signature, name, value)
        return
    seed = signature.token_seed
    signature.withdraw_token_hash = token_hash(link_token(seed, "withdraw"))
    signature.withdraw_expires_at = now + _withdraw_window()
    if confirming:
        signature.verify_token_hash = token_hash(link_token(seed, "verify"))
        signature.verify_expires_at = now + _verify_window()


def _queue_mail(
    session: Session,
    signature: Signature,
    template: str,
    *,
    to: str,
    locale: str,
    confirming: bool,
) -> None:
    _queue_link_mail(session, signature.id, signature.campaign_id, signature.token_seed, template, to=to,
                     locale=locale, confirming=confirming)


def _queue_link_mail(session: Session, signature_id: int, campaign_id: int, seed: str, template: str, *,
                     to: str, locale: str, confirming: bool) -> None:
    """Queue a mail carrying the signature's links, to be rendered by the worker
    (compose_link_mail): the request writes one outbox row and renders nothing.
    The row holds the links' seed, not the links: without DATA_KEY it opens nothing."""
    payload = mail_to_compose(LINK_MAIL_COMPOSER, {
        "campaign_id": campaign_id, "template": template, "seed": seed, "confirming": confirming,
    }, to=to, locale=locale)
    enqueue_mails(session, [(payload, signature_id, None)], template=template)


def compose_link_mail(session: Session, payload: dict) -> dict:
    """The worker renders a link mail queued by _queue_link_mail (a composer)."""
    args = payload["args"]
    campaign = session.get(Campaign, args["campaign_id"])
    if campaign is None:
        raise PermanentFailure("the campaign is gone")
    seed = args["seed"]
    return _compose_mail(campaign, args["template"], to=payload["to"], locale=payload["locale"],
                         verify_token=link_token(seed, "verify") if args["confirming"] else None,
                         withdraw_token=link_token(seed, "withdraw"))


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
        digits=campaign.digits.value,  # the campaign's digits, in an Arabic e-mail only
    )


def _signature_values(data: SignInput, *, locale: str, ip_key: str | None) -> tuple[str, dict]:
    """The e-mail key and the other fields of a signature made from ``data``."""
    canonical, domain = email_identity(data.email)
    fields = dict(
        name=data.name.strip(),
        search_name=normalise(data.name)[:255],
        country=data.country,
        comment=(data.comment or "").strip() or None,
        visibility=data.visibility,
        locale=locale,
        opt_in=data.opt_in,
        email=data.email,
        email_domain=domain,
        ip_key=ip_key,
        referral=clean_referral(data.referral),
    )
    return email_key(canonical), fields


def _insert_signature(session: Session, campaign: Campaign, key: str, fields: dict, now: dt.datetime,
                      state: SignatureState, statement_version: int | None = None) -> tuple[int, bool, str]:
    """One statement, new address or not: INSERT … ON CONFLICT (campaign_id,
    email_key) DO UPDATE, which for an address that has signed only gives its
    withdrawal link the full time again (as every mail about it says). The unique
    constraint decides what is new, so concurrent duplicates are safe, with no
    savepoint or error to recover from. Returns (id, whether it is new, its seed)."""
    links = _new_links(now)
    values = dict(campaign_id=campaign.id, email_key=key, state=state, created_at=now, **fields, **links)
    if campaign.kind == CampaignKind.statement:
        # The version of the text signed (a statement keeps versions of its text).
        values["statement_version"] = statement_version or _statement_version(session, campaign)
    signature_id, seed = session.execute(_insert_or_touch(session.get_bind().dialect.name), values).one()
    # The seed is random: ours came back only if our row went in.
    return signature_id, seed == links["token_seed"], seed


def _statement_version(session: Session, campaign: Campaign) -> int | None:
    from campaign.statements.services import signed_version

    return signed_version(session, campaign.id)


@functools.cache
def _insert_or_touch(dialect: str):
    """The statement of _insert_signature, built once (its values are bound when it runs)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = Signature.__table__
    statement = insert(table)
    return (statement.on_conflict_do_update(index_elements=[table.c.campaign_id, table.c.email_key],
                                            set_={"withdraw_expires_at": statement.excluded.withdraw_expires_at})
            .returning(table.c.id, table.c.token_seed))


def sign(
    session: Session,
    campaign: Campaign,
    data: SignInput,
    *,
    locale: str,
    ip_key: str | None,
    held: bool = False,
    signed_at: dt.datetime | None = None,
    statement_version: int | None = None,
) -> tuple[Signature, SignOutcome]:
    """Record a signature (pending) and queue the right e-mail.

    A new address gets a confirmation link. An address that already signed gets a
    "you have already signed" e-mail (or a fresh confirmation link if it never
    confirmed); a withdrawn signer may sign again. The unique constraint on
    (campaign, email_key) decides what is new, so concurrent duplicates are safe.

    ``held``: kept out of the counts for a moderator (crowds); its confirmation
    mail still goes. ``signed_at`` and ``statement_version``: when the sign form
    was taken and the text it showed, for the worker carrying it out later (see
    take_signature); the campaign was open then, whatever it is now.
    """
    if signed_at is None and not campaign.is_open:
        raise ValueError("campaign is not open for signatures")
    now = utcnow()
    key, fields = _signature_values(data, locale=locale, ip_key=ip_key)
    state = SignatureState.held if held else SignatureState.pending
    signature_id, new, seed = _insert_signature(session, campaign, key, fields, signed_at or now, state,
                                                statement_version)
    if new:
        if not held:
            _count(session, campaign.id, pending=+1)
        _queue_link_mail(session, signature_id, campaign.id, seed, "confirm", to=data.email, locale=locale,
                         confirming=True)
        session.expire(campaign, ["verified_count", "pending_count"])
    signature = session.get(Signature, signature_id, populate_existing=True)
    signature.campaign = campaign
    if new:
        return signature, SignOutcome.new
    signature, outcome = _sign_again(session, signature, data, fields, now)
    if held:
        hold(session, signature)
    return signature, outcome


def take_signature(
    session: Session,
    campaign: Campaign,
    data: SignInput,
    *,
    locale: str,
    ip_key: str | None,
    held: bool = False,
) -> None:
    """What the sign form does: queue what was typed for the worker, which carries
    it out as sign() would (take_signature_task). One INSERT of one task, whatever
    the address: the request reads and writes nothing about the address, so
    neither its answer nor its timing tells whether the address has signed (a new
    signature's row, written here, cost its seven index entries more than an
    address's renewed link). The signature is as safe as the task, which commits
    with the request; the pending count and the mail follow at the worker's next
    round, as the mail did already.

    ``held``: the signature is kept out of the counts for a moderator (crowds)."""
    if not campaign.is_open:
        raise ValueError("campaign is not open for signatures")
    enqueue_task(session, TAKE_SIGNATURE_TASK, {
        **_as_typed(data), "campaign_id": campaign.id, "locale": locale, "ip_key": ip_key, "held": held,
        "signed_at": utcnow().isoformat(),
        "statement_version": (_statement_version(session, campaign)
                              if campaign.kind == CampaignKind.statement else None),
    })


def take_signature_task(session: Session, payload: dict) -> None:
    """The worker's part of take_signature: sign() with what was typed, as of when
    it was typed."""
    campaign = session.get(Campaign, payload["campaign_id"])
    if campaign is None:
        return  # deleted since, with every signature it had
    sign(session, campaign, _typed(payload), locale=payload["locale"], ip_key=payload["ip_key"],
         held=payload["held"], signed_at=dt.datetime.fromisoformat(payload["signed_at"]),
         statement_version=payload["statement_version"])


def _as_typed(data: SignInput) -> dict:
    """What was typed, as a task's JSON (read back by _typed)."""
    return {**asdict(data), "visibility": data.visibility.value}


def _typed(payload: dict) -> SignInput:
    typed = {field.name: payload[field.name] for field in dataclass_fields(SignInput)}
    return SignInput(**{**typed, "visibility": Visibility(typed["visibility"])})


def sign_again_task(session: Session, payload: dict) -> None:
    """Tasks queued by an earlier version of the sign form, for an address that had
    signed (take_signature then wrote the row itself): what sign() does for it."""
    signature = session.get(Signature, payload["signature_id"])
    if signature is None:
        return  # erased since (which cancels the task, unless it was already running)
    data = _typed(payload)
    _key, fields = _signature_values(data, locale=payload["locale"], ip_key=payload["ip_key"])
    signature, _ = _sign_again(session, signature, data, fields, utcnow())
    if payload["held"]:
        hold(session, signature)


def _sign_again(
    session: Session,
    existing: Signature,
    data: SignInput,
    fields: dict,
    now: dt.datetime,
) -> tuple[Signature, SignOutcome]:
    locale = fields["locale"]
    if existing.state == SignatureState.withdrawn:
        # Withdrawing killed the old links; this is a new signature with new ones.
        move(session, existing, SignatureState.pending, verified_at=None, withdrawn_at=None, **fields,
              **_new_links(now))
        _queue_mail(session, existing, "confirm", to=data.email, locale=locale, confirming=True)
        return existing, SignOutcome.signed_again
    if existing.state == SignatureState.pending:
        # They probably lost the first e-mail: the latest details, and the same link
        # again. The confirm page shows the details, so nobody confirms unseen what
        # someone else typed with their address; a repeat within SIGN_REPEAT_SECONDS
        # is not mailed again (see repeat_of_a_recent_mail).
        for name, value in fields.items():
            setattr(existing, name, value)
        _renew_links(existing, now, confirming=True)
        session.flush()
        _queue_mail(session, existing, "confirm", to=data.email, locale=locale, confirming=True)
        return existing, SignOutcome.confirmation_resent
    _renew_links(existing, now, confirming=False)
    session.flush()
    _queue_mail(session, existing, "already_signed", to=data.email, locale=locale, confirming=False)
    return existing, SignOutcome.already_signed


def _by_token(session: Session, column, token: str) -> Signature | None:
    """The signature a link's token names, with its campaign (without the
    campaign's texts, demands and counts, which a confirmation does not need)."""
    if not token or len(token) > 100:
        return None
    return session.scalar(_by_token_query(column.key), {"hash": token_hash(token)})


@functools.cache
def _by_token_query(column: str):
    # Built on first use: loader options need every model mapped.
    return sa.select(Signature).where(getattr(Signature, column) == sa.bindparam("hash")).options(
        joinedload(Signature.campaign).options(lazyload(Campaign.texts), lazyload(Campaign.demands),
                                               defer(Campaign.verified_count), defer(Campaign.pending_count)))


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
        released = {}
        if signature.email is not None and not signature.opt_in:
            # What release_email does, in the same UPDATE: the address goes now unless a
            # mail to it is still waiting (it goes then, release_after_delivery).
            waiting = sa.exists().where(OutboxMessage.signature_id == Signature.id,
                                        OutboxMessage.state == MessageState.queued)
            released = {"email": sa.case((waiting, Signature.email), else_=None)}
        move(session, signature, SignatureState.verified, verified_at=utcnow(), **released)
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
    # Nothing still waiting in the outbox (a confirmation, an update) may reach
    # someone who withdraws: it would carry their address and dead links. Cancelled
    # first: the worker locks a message, then its signature, and so do we.
    cancel_queued(session, [signature.id], reason="withdrawn")
    # Only the keyed hash of the address stays, so the same person can sign again.
    move(session, signature, SignatureState.withdrawn, withdrawn_at=utcnow(),
         **Signature.personal_data_cleared(keep=frozenset({"email_key"})))
    # Nor does the signature stay linked to what was mailed to it; if they sign
    # again, their new links are not taken for repeats of the old mails.
    session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.signature_id == signature.id).values(signature_id=None)
        .execution_options(synchronize_session=False)
    )
    return signature


def erase(session: Session, signature: Signature) -> None:
    """Delete a signature for good (the signer asked for their data to be erased).
    It stops counting first, so the campaign's counters drop in the same transaction."""
    if signature.state != SignatureState.withdrawn:
        move(session, signature, SignatureState.withdrawn, withdrawn_at=utcnow())
    session.delete(signature)
    session.flush()


def resend_link(session: Session, campaign: Campaign, address: str, *, locale: str) -> None:
    """Mail the confirmation (or, if confirmed, withdrawal) link again to an address
    that signed this campaign, with its time renewed. Does nothing, silently, for
    any other address. Run by the worker (request_link queues it)."""
    signature = session.scalar(
        sa.select(Signature).where(
            Signature.campaign_id == campaign.id, Signature.email_key == email_key(canonical_email(address))
        )
    )
    if signature is not None and signature.state == SignatureState.withdrawn:
        signature = None
    confirming = campaign.is_open and (signature is None or signature.state == SignatureState.pending)
    template = "confirm" if confirming else "signature_link"
    if signature is None:
        # Rendered whatever the address, as for erasure requests: rendering only for
        # addresses that signed made their answer measurably slower.
        _compose_mail(campaign, template, to=address, locale=locale,
                      verify_token=new_token()[0] if confirming else None, withdraw_token=new_token()[0])
        return
    # The same links as every earlier mail about this signature: they keep working.
    _renew_links(signature, utcnow(), confirming=confirming)
    session.flush()
    signature.campaign = campaign
    _queue_mail(session, signature, template, to=address, locale=locale, confirming=confirming)


def request_link(session: Session, campaign: Campaign, address: str, *, locale: str) -> None:
    """What the resend form does: hand the look-up to the worker, which mails a link
    if the address signed (resend_link). The request does the same work whatever the
    address, so its timing cannot tell who signed."""
    enqueue_task(session, "signatures.resend_link", {"campaign_id": campaign.id, "address": address, "locale": locale})


def resend_link_task(session: Session, payload: dict) -> None:
    campaign = session.get(Campaign, payload["campaign_id"])
    if campaign is not None:
        resend_link(session, campaign, payload["address"], locale=payload["locale"])


def repeat_of_a_recent_mail(message: OutboxMessage, session: Session) -> str | None:
    """A link mail about a signature is not sent when another one of the same kind,
    carrying the same links, has gone or is going: one asked for within
    SIGN_REPEAT_SECONDS before it that has not failed (a double click, a second
    "resend"), one being sent right now (its attempt under way), or one delivered
    since it was asked for (it failed, and a later one went first: after a mail
    outage, the signer would otherwise get both)."""
    if message.signature_id is None or message.template not in SIGNATURE_MAILS:
        return None
    # One worker at a time decides about a signature's mails: two workers each
    # taking one of two copies would otherwise both find the other not yet sent.
    # (The worker has locked the message, then the signature: the order withdraw keeps.)
    session.execute(sa.select(Signature.id).where(Signature.id == message.signature_id).with_for_update())
    since = message.created_at - dt.timedelta(seconds=current_app.config["SIGN_REPEAT_SECONDS"])
    earlier_or_later = sa.or_(
        sa.and_(OutboxMessage.id < message.id, OutboxMessage.created_at >= since),
        OutboxMessage.id > message.id,
    )
    carried = sa.or_(
        # Delivered: just before this one was asked for, or since.
        sa.and_(OutboxMessage.state == MessageState.sent, earlier_or_later),
        # Being sent: an attempt under way has no error (deliver_due clears it).
        sa.and_(OutboxMessage.state == MessageState.queued, OutboxMessage.attempts > 0,
                OutboxMessage.last_error.is_(None), earlier_or_later),
        # Asked for just before, and not failing: it goes first.
        sa.and_(OutboxMessage.state == MessageState.queued, OutboxMessage.last_error.is_(None),
                OutboxMessage.id < message.id, OutboxMessage.created_at >= since),
    )
    earlier = session.scalar(sa.select(sa.exists().where(
        OutboxMessage.signature_id == message.signature_id,
        OutboxMessage.template == message.template,
        OutboxMessage.id != message.id,
        carried,
    )))
    return "repeat" if earlier else None


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


def country_breakdown(session: Session, campaign_id: int, minimum: int) -> Breakdown:
    """Confirmed signatures by country. Countries under ``minimum`` are folded into
    'other', and 'other' itself is hidden (0) when it is under ``minimum`` too."""
    rows = session.execute(
        sa.select(Signature.country, sa.func.count())
        .where(Signature.campaign_id == campaign_id, Signature.state == SignatureState.verified)
        .group_by(Signature.country)
    ).all()
    shown = sorted(((c, n) for c, n in rows if c and n >= minimum), key=lambda r: -r[1])
    other = sum(n for c, n in rows if not c or n < minimum)
    return Breakdown(shown, other if other >= minimum else 0)


_BREAKDOWNS = "sawt.country_breakdowns"


def recent_country_breakdown(session: Session, campaign_id: int, minimum: int) -> Breakdown:
    """country_breakdown, counted at most once per PUBLIC_BREAKDOWN_SECONDS per
    campaign in this process, for everything public that shows it (the campaign
    page's table, the map there and in other sites' pages): it groups every
    confirmed signature, and a crowd of readers would count them for each one."""
    seconds = current_app.config["PUBLIC_BREAKDOWN_SECONDS"]
    if seconds <= 0:
        return country_breakdown(session, campaign_id, minimum)
    kept = current_app.extensions.setdefault(_BREAKDOWNS, {})
    now = time.monotonic()
    entry = kept.get((campaign_id, minimum))
    if entry is None or entry[0] <= now:
        if len(kept) > 1000:
            kept.clear()
        entry = kept[(campaign_id, minimum)] = (now + seconds, country_breakdown(session, campaign_id, minimum))
    return entry[1]


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
