"""Moderation: find signatures, invalidate and restore them, spot bursts.

Every state change goes through signatures.services.move, so the campaign's
counters move in the same transaction; every action is written to the audit log
with ids and counts, never a signer's name or address. Callers commit.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

import sqlalchemy as sa
from disposable_email_domains import blocklist as _DISPOSABLE
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign
from campaign.organiser import access, audit
from campaign.organiser.access import Permission
from campaign.organiser.models import Organiser
from campaign.outbox.services import cancel_queued
from campaign.privacy.keys import email_key
from campaign.signatures.emails import canonical_email, email_domain
from campaign.signatures.models import Signature, SignatureState
from campaign.signatures.services import move, release_email
from campaign.text_normalise import normalise

# Signatures that count, will once confirmed, or will once released: what
# moderation acts on (a burst's held signatures are invalidated with the rest).
ACTIVE = (SignatureState.pending, SignatureState.verified, SignatureState.held)

# Big webmail providers: many genuine people share them, so a rush of their
# addresses is a campaign going well, not a burst. Bursts by IP still show abuse there.
COMMON_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.fr", "yahoo.co.uk", "ymail.com", "hotmail.com",
    "hotmail.fr", "hotmail.co.uk", "outlook.com", "outlook.fr", "live.com", "live.fr", "msn.com", "icloud.com",
    "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "pm.me", "gmx.de", "gmx.net", "web.de",
    "mail.ru", "yandex.ru", "yandex.com", "orange.fr", "free.fr", "laposte.net", "zoho.com", "tutanota.com",
})

# Audit entries keep at most this many signature ids for one bulk action.
AUDIT_MAX_IDS = 1000


class InvalidationReason(str, enum.Enum):
    duplicate = "duplicate"
    fake = "fake"
    burst = "burst"
    disposable = "disposable"
    abusive = "abusive"
    signer_request = "signer_request"

    @property
    def title(self) -> str:
        return str({
            "duplicate": _l("Duplicate of another signature"),
            "fake": _l("Fake or made-up name"),
            "burst": _l("Part of an automated burst"),
            "disposable": _l("Disposable e-mail address"),
            "abusive": _l("Abusive content"),
            "signer_request": _l("The signer asked for it"),
        }[self.value])


class RestoreReason(str, enum.Enum):
    mistake = "mistake"
    genuine = "genuine"

    @property
    def title(self) -> str:
        return str({
            "mistake": _l("Invalidated by mistake"),
            "genuine": _l("Checked and genuine"),
        }[self.value])


class ModerationError(Exception):
    """The action does not apply (e.g. restoring a signature that is not invalidated)."""


class CountChanged(ModerationError):
    """A bulk action would now affect a different number of signatures than the
    moderator confirmed; ask again with the new number."""

    def __init__(self, actual: int):
        super().__init__(f"now {actual}")
        self.actual = actual


# --- Search -------------------------------------------------------------------

class QueryKind(str, enum.Enum):
    none = "none"
    name = "name"
    email = "email"
    domain = "domain"
    invalid = "invalid"


@dataclass(frozen=True)
class ParsedQuery:
    kind: QueryKind
    value: str = ""


def parse_query(text: str | None) -> ParsedQuery:
    """What a moderator typed: ``@example.org`` is a domain, anything else with an
    ``@`` an exact address (matched by its keyed hash, as the address itself is
    usually erased), everything else part of a name."""
    text = (text or "").strip()
    if not text:
        return ParsedQuery(QueryKind.none)
    if "@" in text:
        try:
            if text.startswith("@"):
                return ParsedQuery(QueryKind.domain, email_domain("x" + text))
            return ParsedQuery(QueryKind.email, canonical_email(text))
        except ValueError:
            return ParsedQuery(QueryKind.invalid)
    value = normalise(text)
    return ParsedQuery(QueryKind.name, value) if value else ParsedQuery(QueryKind.none)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(campaign: Campaign, query: ParsedQuery, state: SignatureState | None) -> sa.Select:
    select = sa.select(Signature).where(Signature.campaign_id == campaign.id)
    if query.kind == QueryKind.name:
        select = select.where(Signature.search_name.like(f"%{_like_escape(query.value)}%", escape="\\"))
    elif query.kind == QueryKind.email:
        select = select.where(Signature.email_key == email_key(query.value))
    elif query.kind == QueryKind.domain:
        select = select.where(Signature.email_domain == query.value)
    elif query.kind == QueryKind.invalid:
        select = select.where(sa.false())
    if state is not None:
        select = select.where(Signature.state == state)
    return select


@dataclass(frozen=True)
class SearchPage:
    signatures: list[Signature]
    total: int
    page: int
    per_page: int
    # normalised name → how many active signatures of the campaign share it (> 1 only)
    name_collisions: dict[str, int]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search(
    session: Session,
    campaign: Campaign,
    text: str | None = None,
    *,
    state: SignatureState | None = None,
    page: int = 1,
    per_page: int = 50,
) -> SearchPage:
    """One page of a campaign's signatures, newest first, matching ``text`` (see
    parse_query) and ``state``; with the duplicate hints for the names shown."""
    filtered = _filtered(campaign, parse_query(text), state)
    total = session.scalar(sa.select(sa.func.count()).select_from(filtered.subquery())) or 0
    page = max(1, page)
    signatures = list(session.scalars(
        filtered.order_by(Signature.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ))
    names = {s.search_name for s in signatures if s.search_name}
    return SearchPage(signatures, total, page, per_page, name_collisions(session, campaign, names))


def name_collisions(session: Session, campaign: Campaign, names: set[str]) -> dict[str, int]:
    """For each normalised name in ``names`` that more than one active signature of
    the campaign carries: how many do."""
    if not names:
        return {}
    rows = session.execute(
        sa.select(Signature.search_name, sa.func.count())
        .where(Signature.campaign_id == campaign.id, Signature.state.in_(ACTIVE),
               Signature.search_name.in_(names))
        .group_by(Signature.search_name)
        .having(sa.func.count() > 1)
    )
    return dict(rows.all())


@dataclass(frozen=True)
class DuplicateName:
    search_name: str
    count: int
    example_id: int


def duplicate_names(session: Session, campaign: Campaign, limit: int = 20) -> list[DuplicateName]:
    """Dedup hints: normalised names carried by more than one active signature, the
    most repeated first. ``example_id`` lets a page show one signer's own spelling."""
    rows = session.execute(
        sa.select(Signature.search_name, sa.func.count(), sa.func.min(Signature.id))
        .where(Signature.campaign_id == campaign.id, Signature.state.in_(ACTIVE), Signature.search_name != "")
        .group_by(Signature.search_name)
        .having(sa.func.count() > 1)
        .order_by(sa.func.count().desc(), Signature.search_name)
        .limit(limit)
    )
    return [DuplicateName(name, count, example) for name, count, example in rows]


def email_shown(signature: Signature, *, whole: bool = True) -> str:
    """What a moderator may see of an address: the whole address only for a signer
    who opted in to updates (and whose address we still keep), and only to someone
    who may export signers (``whole``); otherwise just the domain. Editors moderate
    without 2FA, so they must not be able to read a list of addresses page by page."""
    if whole and signature.opt_in and signature.email:
        return signature.email
    return f"…@{signature.email_domain}" if signature.email_domain else ""


def reindex_names(session: Session, batch: int = 2000) -> int:
    """Recompute every signature's normalised name; returns how many changed. For
    rows written before the column existed, and after the normalisation rules change."""
    table = Signature.__table__
    changed, last_id = 0, 0
    while True:
        rows = session.execute(
            sa.select(table.c.id, table.c.name, table.c.search_name)
            .where(table.c.id > last_id).order_by(table.c.id).limit(batch)
        ).all()
        if not rows:
            break
        updates = [{"row_id": row_id, "value": normalise(name)[:255]}
                   for row_id, name, old in rows if normalise(name)[:255] != (old or "")]
        if updates:
            session.execute(
                table.update().where(table.c.id == sa.bindparam("row_id")).values(search_name=sa.bindparam("value")),
                updates,
            )
        changed += len(updates)
        last_id = rows[-1][0]
    session.flush()
    return changed


# --- Single signatures ---------------------------------------------------------

def invalidate(session: Session, actor: Organiser, signature: Signature, reason: InvalidationReason) -> None:
    """Take a pending or confirmed signature out of the count, for ``reason``."""
    access.require_campaign(actor, Permission.moderate, signature.campaign)
    previous = signature.state
    if previous not in ACTIVE:
        raise ModerationError(f"cannot invalidate a {previous.value} signature")
    if not move(session, signature, SignatureState.invalidated, moderation_reason=reason.value):
        raise ModerationError("the signature changed meanwhile")
    # A signature judged fraudulent sends no letter to a target.
    cancel_queued(session, [signature.id], reason="invalidated", templates=["target_letter"])
    # An uncounted signature has no more need of an address than a confirmed one.
    release_email(session, signature)
    audit.record(session, actor, "signature.invalidate", campaign=signature.campaign,
                 signature_id=signature.id, previous_state=previous.value, reason=reason.value)


def restore(session: Session, actor: Organiser, signature: Signature, reason: RestoreReason) -> None:
    """Undo an invalidation: back to confirmed (and counted) if it had been
    confirmed, else back to awaiting confirmation."""
    access.require_campaign(actor, Permission.moderate, signature.campaign)
    if signature.state != SignatureState.invalidated:
        raise ModerationError(f"cannot restore a {signature.state.value} signature")
    new = SignatureState.verified if signature.verified_at else SignatureState.pending
    if not move(session, signature, new, moderation_reason=None):
        raise ModerationError("the signature changed meanwhile")
    audit.record(session, actor, "signature.restore", campaign=signature.campaign,
                 signature_id=signature.id, new_state=new.value, reason=reason.value)


# --- Bulk ----------------------------------------------------------------------

class BulkKind(str, enum.Enum):
    ip = "ip"          # one hashed client address (the hash changes daily)
    domain = "domain"  # one e-mail domain


def _bulk_where(campaign: Campaign, kind: BulkKind, value: str):
    column = Signature.ip_key if kind == BulkKind.ip else Signature.email_domain
    return sa.and_(Signature.campaign_id == campaign.id, Signature.state.in_(ACTIVE), column == value)


def bulk_count(session: Session, campaign: Campaign, kind: BulkKind, value: str) -> int:
    """How many active signatures a bulk invalidation by ``kind``=``value`` would hit."""
    if not value or "\x00" in value:  # no such source; PostgreSQL refuses NUL
        return 0
    return session.scalar(
        sa.select(sa.func.count()).select_from(Signature).where(_bulk_where(campaign, kind, value))
    ) or 0


def bulk_invalidate(
    session: Session,
    actor: Organiser,
    campaign: Campaign,
    kind: BulkKind,
    value: str,
    reason: InvalidationReason,
    *,
    expected: int | None = None,
) -> int:
    """Invalidate every active signature of the campaign from one hashed IP or one
    e-mail domain. With ``expected`` (the number the moderator confirmed), raise
    CountChanged instead of acting when the number is now different. Returns how
    many were invalidated."""
    access.require_campaign(actor, Permission.moderate, campaign)
    ids = list(session.scalars(
        sa.select(Signature.id).where(_bulk_where(campaign, kind, value)).order_by(Signature.id)
    )) if value and "\x00" not in value else []
    if expected is not None and len(ids) != expected:
        raise CountChanged(len(ids))
    moved = []
    for start in range(0, len(ids), 500):
        chunk = session.scalars(sa.select(Signature).where(Signature.id.in_(ids[start:start + 500])))
        for signature in chunk:
            if signature.state in ACTIVE and move(
                session, signature, SignatureState.invalidated, moderation_reason=reason.value
            ):
                cancel_queued(session, [signature.id], reason="invalidated", templates=["target_letter"])
                release_email(session, signature)
                moved.append(signature.id)
    audit.record(
        session, actor, "signature.bulk_invalidate", campaign=campaign,
        by=kind.value, value=value, reason=reason.value, count=len(moved),
        signature_ids=moved[:AUDIT_MAX_IDS], ids_truncated=len(moved) > AUDIT_MAX_IDS,
    )
    return len(moved)


# --- Fraud panel ---------------------------------------------------------------

@dataclass(frozen=True)
class Burst:
    kind: BulkKind
    value: str
    in_window: int           # the most signatures inside any one window
    window_start: dt.datetime
    window_end: dt.datetime  # the last signature inside that window
    active: int              # active signatures from this source in all (what bulk would hit)


def _densest_window(times: list[dt.datetime], window: dt.timedelta) -> tuple[int, int]:
    """(count, start index) of the window of length ``window`` holding most times."""
    best, best_start, start = 0, 0, 0
    for end, at in enumerate(times):
        while at - times[start] > window:
            start += 1
        if end - start + 1 > best:
            best, best_start = end - start + 1, start
    return best, best_start


def find_bursts(
    session: Session,
    campaign: Campaign,
    *,
    threshold: int = 5,
    window: dt.timedelta = dt.timedelta(minutes=10),
    limit: int = 50,
) -> list[Burst]:
    """Sources (one hashed IP, or one e-mail domain other than the big webmail
    providers) with at least ``threshold`` active signatures inside some ``window``,
    the densest first."""
    bursts = []
    for kind, column in ((BulkKind.ip, Signature.ip_key), (BulkKind.domain, Signature.email_domain)):
        where = [Signature.campaign_id == campaign.id, Signature.state.in_(ACTIVE), column.is_not(None)]
        if kind == BulkKind.domain:
            where.append(column.not_in(COMMON_MAIL_DOMAINS))
        candidates = session.execute(
            sa.select(column, sa.func.count()).where(*where).group_by(column)
            .having(sa.func.count() >= threshold).order_by(sa.func.count().desc()).limit(limit * 4)
        ).all()
        for value, active in candidates:
            times = list(session.scalars(
                sa.select(Signature.created_at).where(*where, column == value).order_by(Signature.created_at)
            ))
            count, start = _densest_window(times, window)
            if count >= threshold:
                bursts.append(Burst(kind, value, count, times[start], times[start + count - 1], active))
    bursts.sort(key=lambda b: (-b.in_window, -b.active))
    return bursts[:limit]


def is_disposable(domain: str | None) -> bool:
    """A throwaway-mail domain (or a subdomain of one)?"""
    if not domain:
        return False
    parts = domain.lower().split(".")
    return any(".".join(parts[i:]) in _DISPOSABLE for i in range(len(parts) - 1))


@dataclass(frozen=True)
class DomainCount:
    domain: str
    active: int


def disposable_domains(session: Session, campaign: Campaign) -> list[DomainCount]:
    """Disposable-looking e-mail domains among the campaign's active signatures."""
    rows = session.execute(
        sa.select(Signature.email_domain, sa.func.count())
        .where(Signature.campaign_id == campaign.id, Signature.state.in_(ACTIVE), Signature.email_domain.is_not(None))
        .group_by(Signature.email_domain)
    )
    found = [DomainCount(domain, n) for domain, n in rows if is_disposable(domain)]
    return sorted(found, key=lambda d: (-d.active, d.domain))


# --- Held for review -------------------------------------------------------------

@dataclass(frozen=True)
class HeldSource:
    ip_key: str | None       # the hashed connection they came from (changes daily)
    held: int
    confirmed: int           # of those, how many signers have confirmed their address
    first: dt.datetime
    last: dt.datetime


def held_sources(session: Session, campaign: Campaign, limit: int = 50) -> list[HeldSource]:
    """Held signatures (signatures.crowds) grouped by hashed connection, most first."""
    rows = session.execute(
        sa.select(Signature.ip_key, sa.func.count(), sa.func.count(Signature.verified_at),
                  sa.func.min(Signature.created_at), sa.func.max(Signature.created_at))
        .where(Signature.campaign_id == campaign.id, Signature.state == SignatureState.held)
        .group_by(Signature.ip_key).order_by(sa.func.count().desc()).limit(limit)
    ).all()
    return [HeldSource(*row) for row in rows]


def release_held(
    session: Session, actor: Organiser, campaign: Campaign, ip_key: str, *, expected: int | None = None,
) -> int:
    """Release the campaign's held signatures from one hashed connection: confirmed
    ones count at once, the others once their signers confirm. With ``expected``
    (the number the moderator saw), raise CountChanged if it is now different."""
    access.require_campaign(actor, Permission.moderate, campaign)
    where = [Signature.campaign_id == campaign.id, Signature.state == SignatureState.held,
             Signature.ip_key == ip_key]
    signatures = list(session.scalars(sa.select(Signature).where(*where).order_by(Signature.id))
                      ) if ip_key and "\x00" not in ip_key else []  # no such source; PostgreSQL refuses NUL
    if expected is not None and len(signatures) != expected:
        raise CountChanged(len(signatures))
    released = []
    for signature in signatures:
        new = SignatureState.verified if signature.verified_at else SignatureState.pending
        if move(session, signature, new):
            released.append(signature.id)
    audit.record(
        session, actor, "signature.release_held", campaign=campaign, count=len(released),
        signature_ids=released[:AUDIT_MAX_IDS], ids_truncated=len(released) > AUDIT_MAX_IDS,
    )
    return len(released)
