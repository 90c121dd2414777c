"""Statement operations: signatories, endorsement requests, versions, options.

Plain values in, objects out; callers commit. Organiser actions take the acting
organiser (for the audit log); permission checks are the views' job, as elsewhere.
"""
from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign, CampaignKind, CampaignState
from campaign.exports.services import safe_cell
from campaign.i18n import LANGUAGES
from campaign.mail.compose import compose
from campaign.organiser import audit
from campaign.organiser.models import Organiser
from campaign.outbox.services import cancel_queued, enqueue_mail
from campaign.privacy.keys import email_key, new_token, token_hash, utcnow
from campaign.signatures.emails import canonical_email
from campaign.statements import parsing
from campaign.statements.models import (
    ListOrder,
    Signatory,
    SignatoryKind,
    SignatoryState,
    SignatoryText,
    StatementOptions,
    StatementVersion,
)
from campaign.urls import external_url

PUBLIC_STATES = (SignatoryState.approved,)


@dataclass(frozen=True)
class SignatoryInput:
    kind: SignatoryKind
    names: dict[str, str]                       # {"ar": "…", "en": "…"}: at least one
    roles: dict[str, str] = field(default_factory=dict)
    country: str | None = None
    url: str | None = None
    private_note: str | None = None


class NotAStatement(ValueError):
    """Signatories belong to statements only."""


def _check_statement(campaign: Campaign) -> None:
    if campaign.kind != CampaignKind.statement:
        raise NotAStatement(campaign.slug)


def _clean_url(url: str | None) -> str | None:
    url = (url or "").strip()
    if not url:
        return None
    if not re.match(r"^https?://", url, re.I):
        url = "https://" + url
    # Only web addresses: a "javascript:" link must never reach a page.
    return url[:300] if re.match(r"^https?://[^\s/$.?#][^\s]*$", url, re.I) else None


def _set_texts(signatory: Signatory, data: SignatoryInput) -> None:
    for lang in LANGUAGES:
        name = (data.names.get(lang) or "").strip()[: parsing.MAX_NAME]
        role = (data.roles.get(lang) or "").strip()[: parsing.MAX_ROLE]
        text = signatory.text(lang)
        if not name and not role:
            if text is not None:
                signatory.texts.remove(text)
            continue
        if text is None:
            text = SignatoryText(locale=lang)
            signatory.texts.append(text)
        text.name, text.role = name, role


def _next_position(session: Session, campaign: Campaign) -> int:
    last = session.scalar(sa.select(sa.func.max(Signatory.position)).where(Signatory.campaign_id == campaign.id))
    return (last or 0) + 1


# --- the list ----------------------------------------------------------------------

def add_signatories(session: Session, actor: Organiser | None, campaign: Campaign,
                    entries: list[SignatoryInput]) -> list[Signatory]:
    """Append organiser-given signatories to the end of the list, approved, as
    having signed the current version."""
    _check_statement(campaign)
    position = _next_position(session, campaign)
    version = _version_to_sign(session, campaign)
    now = utcnow()
    added = []
    for offset, data in enumerate(entries):
        if not any((data.names.get(lang) or "").strip() for lang in LANGUAGES):
            raise ValueError("a signatory needs a name")
        signatory = Signatory(
            campaign_id=campaign.id, position=position + offset, kind=data.kind,
            state=SignatoryState.approved, country=data.country or None, url=_clean_url(data.url),
            private_note=(data.private_note or "").strip() or None,
            version_id=version.id if version else None, approved_at=now,
        )
        _set_texts(signatory, data)
        session.add(signatory)
        added.append(signatory)
    session.flush()
    if added:
        audit.record(session, actor, "statement.signatories_add", campaign=campaign, count=len(added))
    return added


def edit_signatory(session: Session, actor: Organiser | None, signatory: Signatory, data: SignatoryInput) -> Signatory:
    """Change a signatory's names, role lines and details (the organiser's edit)."""
    if not any((data.names.get(lang) or "").strip() for lang in LANGUAGES):
        raise ValueError("a signatory needs a name")
    signatory.kind = data.kind
    signatory.country = data.country or None
    signatory.url = _clean_url(data.url)
    signatory.private_note = (data.private_note or "").strip() or None
    _set_texts(signatory, data)
    session.flush()
    audit.record(session, actor, "statement.signatory_edit", campaign=signatory.campaign, signatory=signatory.id)
    return signatory


def move(session: Session, actor: Organiser | None, signatory: Signatory, offset: int) -> None:
    """Swap a signatory with its neighbour on the list (offset −1: up, +1: down)."""
    listed = public_signatories(session, signatory.campaign)
    index = next(i for i, s in enumerate(listed) if s.id == signatory.id)
    other_index = index + offset
    if not 0 <= other_index < len(listed):
        return
    other = listed[other_index]
    signatory.position, other.position = other.position, signatory.position
    session.flush()


def remove(session: Session, actor: Organiser | None, signatory: Signatory) -> None:
    """Take a signatory off the list (the organiser's decision): as a withdrawal."""
    _withdraw(session, signatory)
    audit.record(session, actor, "statement.signatory_remove", campaign=signatory.campaign, signatory=signatory.id)


def _withdraw(session: Session, signatory: Signatory) -> None:
    signatory.state.check(SignatoryState.withdrawn)
    # No mail may reach someone who withdrew (a notice of approval still queued).
    cancel_queued(session, signatory_ids=[signatory.id], reason="withdrawn")
    signatory.state = SignatoryState.withdrawn
    signatory.withdrawn_at = utcnow()
    for name in Signatory.PERSONAL:
        setattr(signatory, name, None)
    signatory.texts.clear()
    session.flush()


def public_signatories(session: Session, campaign: Campaign) -> list[Signatory]:
    """The named list as the public sees it, in the organiser's order."""
    return list(session.scalars(
        sa.select(Signatory)
        .where(Signatory.campaign_id == campaign.id, Signatory.state.in_(PUBLIC_STATES))
        .order_by(Signatory.position, Signatory.id)
    ))


def requests_waiting(session: Session, campaign: Campaign) -> list[Signatory]:
    return list(session.scalars(
        sa.select(Signatory)
        .where(Signatory.campaign_id == campaign.id, Signatory.state == SignatoryState.pending)
        .order_by(Signatory.created_at, Signatory.id)
    ))


@dataclass(frozen=True)
class NumberedGroup:
    title: str | None                      # None for the single mixed list
    kind: str | None
    signatories: list[Signatory]


def numbered_groups(session: Session, campaign: Campaign, signatories: list[Signatory] | None = None) -> list[NumberedGroup]:
    """The list as shown: one group in the organiser's order, or organisations and
    then individuals when the statement is set to group them. Each group is
    numbered from one by whoever shows it."""
    if signatories is None:
        signatories = public_signatories(session, campaign)
    if options_for(session, campaign).list_order != ListOrder.grouped:
        return [NumberedGroup(None, None, signatories)] if signatories else []
    groups = []
    for kind, title in ((SignatoryKind.organisation, _l("Organisations")), (SignatoryKind.individual, _l("Individuals"))):
        members = [s for s in signatories if s.kind == kind]
        if members:
            groups.append(NumberedGroup(str(title), kind.value, members))
    return groups


def options_for(session: Session, campaign: Campaign) -> StatementOptions:
    options = session.get(StatementOptions, campaign.id)
    return options or StatementOptions(campaign_id=campaign.id, list_order=ListOrder.mixed)


def set_list_order(session: Session, actor: Organiser | None, campaign: Campaign, order: ListOrder) -> None:
    options = session.get(StatementOptions, campaign.id)
    if options is None:
        options = StatementOptions(campaign_id=campaign.id)
        session.add(options)
    options.list_order = order
    session.flush()
    audit.record(session, actor, "statement.list_order", campaign=campaign, order=order.value)


# --- importing and exporting ------------------------------------------------------

@dataclass
class ImportPreview:
    """What a paste or a file would add, and what could not be read."""

    entries: list[SignatoryInput]
    lines: list[int]
    problems: list[parsing.Unparsed]
    source: str                 # "text" or "csv"


def read_list(text: str, *, locale: str | None = None, kinds: dict[int, SignatoryKind] | None = None) -> ImportPreview:
    """Turn pasted text or CSV into signatories to add (nothing is saved).
    ``kinds`` overrides the guessed kind by line number (the preview's choices)."""
    kinds = kinds or {}
    if parsing.looks_like_csv(text, LANGUAGES):
        parsed_csv = parsing.parse_csv(text, LANGUAGES)
        entries = [
            SignatoryInput(kind=kinds.get(row.line, row.kind), names=row.names, roles=row.roles,
                           country=row.country, url=row.url, private_note=row.note)
            for row in parsed_csv.signatories
        ]
        return ImportPreview(entries, [row.line for row in parsed_csv.signatories], parsed_csv.problems, "csv")
    parsed = parsing.parse_list(text, locale=locale if locale in LANGUAGES else None)
    entries = [
        SignatoryInput(kind=kinds.get(row.line, row.kind), names={row.locale: row.name}, roles={row.locale: row.role})
        for row in parsed.signatories
    ]
    return ImportPreview(entries, [row.line for row in parsed.signatories], parsed.problems, "text")


def import_list(session: Session, actor: Organiser | None, campaign: Campaign, text: str, *,
                locale: str | None = None, kinds: dict[int, SignatoryKind] | None = None) -> tuple[list[Signatory], ImportPreview]:
    """Add every signatory read from ``text`` (a pasted list or CSV) to the end."""
    preview = read_list(text, locale=locale, kinds=kinds)
    added = add_signatories(session, actor, campaign, preview.entries)
    return added, preview


def export_rows(session: Session, campaign: Campaign) -> list[list[str]]:
    rows = [parsing.csv_columns(LANGUAGES)]
    for number, s in enumerate(public_signatories(session, campaign), start=1):
        row = [str(number), s.kind.value]
        for lang in LANGUAGES:
            text = s.text(lang)
            row += [text.name if text else "", text.role if text else ""]
        row += [s.country or "", s.url or "", s.private_note or ""]
        rows.append([safe_cell(cell) for cell in row])
    return rows


def export_csv(session: Session, actor: Organiser | None, campaign: Campaign) -> str:
    """The approved list as CSV for the organisers (it carries private notes),
    with cells a spreadsheet would run as formulas made inert. Encode as utf-8-sig."""
    out = io.StringIO()
    csv.writer(out).writerows(export_rows(session, campaign))
    audit.record(session, actor, "statement.export_csv", campaign=campaign)
    return out.getvalue()


# --- endorsement requests -----------------------------------------------------------

@dataclass(frozen=True)
class EndorsementInput:
    kind: SignatoryKind
    names: dict[str, str]
    roles: dict[str, str]
    country: str | None
    email: str
    url: str | None = None


class TokenError(Exception):
    """A link that points to nothing (used, withdrawn, mistyped) or has expired."""

    def __init__(self, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _verify_window() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["VERIFY_TOKEN_HOURS"])


def _title(campaign: Campaign, locale: str) -> str:
    text = campaign.text(locale)
    return text.title if text and text.title else campaign.slug


_SUBJECTS = {
    "endorse_confirm": _l("Please confirm your request to sign the statement"),
    "endorse_approved": _l("Your name is on the statement"),
    "endorse_declined": _l("About your request to sign the statement"),
}


def _mail(session: Session, signatory: Signatory, template: str, **links) -> None:
    locale = signatory.locale or LANGUAGES[0]
    campaign = signatory.campaign
    message = compose(
        template, to=signatory.email, locale=locale, subject=_SUBJECTS[template],
        campaign_title=_title(campaign, locale),
        campaign_url=external_url("campaigns.show", lang_code=locale, slug=campaign.slug),
        name=signatory.name(locale), role=signatory.role(locale), kind=signatory.kind.value,
        verify_hours=current_app.config["VERIFY_TOKEN_HOURS"], **links,
    )
    enqueue_mail(session, message, template=template, signatory_id=signatory.id)


def request_endorsement(session: Session, campaign: Campaign, data: EndorsementInput, *, locale: str) -> Signatory:
    """Someone asks to add their name (or their organisation's) to a public
    statement: stored unconfirmed, with a confirmation link sent to the address
    given (for an organisation, its contact address). Nothing is public yet."""
    _check_statement(campaign)
    if not campaign.is_open:
        raise ValueError("statement is not open")
    token, hashed = new_token()
    signatory = Signatory(
        campaign_id=campaign.id, kind=data.kind, state=SignatoryState.unconfirmed,
        country=data.country or None, url=_clean_url(data.url), locale=locale, email=data.email,
        email_key=email_key(canonical_email(data.email)),
        verify_token_hash=hashed, verify_expires_at=utcnow() + _verify_window(),
    )
    signatory.campaign = campaign
    _set_texts(signatory, SignatoryInput(kind=data.kind, names=data.names, roles=data.roles))
    session.add(signatory)
    session.flush()
    _mail(session, signatory, "endorse_confirm",
          confirm_url=external_url("statements.confirm", lang_code=locale, token=token))
    return signatory


def find_request(session: Session, token: str) -> Signatory:
    if not token or len(token) > 100:
        raise TokenError()
    signatory = session.scalar(sa.select(Signatory).where(Signatory.verify_token_hash == token_hash(token)))
    if signatory is None or signatory.state != SignatoryState.unconfirmed:
        raise TokenError()
    if signatory.verify_expires_at and signatory.verify_expires_at < utcnow():
        raise TokenError(expired=True)
    return signatory


def confirm_request(session: Session, token: str) -> Signatory:
    """The requester confirmed their address: the request waits for the organiser."""
    signatory = find_request(session, token)
    signatory.state.check(SignatoryState.pending)
    signatory.state = SignatoryState.pending
    signatory.verify_token_hash = None
    signatory.verify_expires_at = None
    session.flush()
    return signatory


def approve(session: Session, actor: Organiser | None, signatory: Signatory, *,
            roles: dict[str, str] | None = None) -> Signatory:
    """Put a confirmed request at the end of the list, as having signed the
    current version; optionally with the organiser's wording of the role line.
    The requester is told in their language, with a link to withdraw; then their
    address is no longer needed and is erased."""
    signatory.state.check(SignatoryState.approved)
    if roles is not None:
        names = {lang: signatory.text(lang).name if signatory.text(lang) else "" for lang in LANGUAGES}
        _set_texts(signatory, SignatoryInput(kind=signatory.kind, names=names, roles=roles))
    version = _version_to_sign(session, signatory.campaign)
    signatory.position = _next_position(session, signatory.campaign)
    signatory.state = SignatoryState.approved
    signatory.approved_at = utcnow()
    signatory.version_id = version.id if version else None
    withdraw_token, withdraw_hash = new_token()
    signatory.withdraw_token_hash = withdraw_hash
    session.flush()
    if signatory.email:
        _mail(session, signatory, "endorse_approved",
              withdraw_url=external_url("statements.withdraw", lang_code=signatory.locale or LANGUAGES[0],
                                        token=withdraw_token))
    signatory.email = None
    session.flush()
    audit.record(session, actor, "statement.request_approve", campaign=signatory.campaign, signatory=signatory.id)
    return signatory


def decline(session: Session, actor: Organiser | None, signatory: Signatory) -> Signatory:
    """Refuse a request; the requester is told, then their address is erased. The
    request itself is deleted STATEMENT_DECLINED_DAYS later (delete_declined_requests)."""
    signatory.state.check(SignatoryState.declined)
    signatory.state = SignatoryState.declined
    signatory.declined_at = utcnow()
    session.flush()
    if signatory.email:
        _mail(session, signatory, "endorse_declined")
    signatory.email = None
    session.flush()
    audit.record(session, actor, "statement.request_decline", campaign=signatory.campaign, signatory=signatory.id)
    return signatory


def find_for_withdrawal(session: Session, token: str) -> Signatory:
    if not token or len(token) > 100:
        raise TokenError()
    signatory = session.scalar(sa.select(Signatory).where(Signatory.withdraw_token_hash == token_hash(token)))
    if signatory is None or signatory.state != SignatoryState.approved:
        raise TokenError()
    return signatory


def withdraw(session: Session, token: str) -> Signatory:
    """A signatory takes their name off the statement from the link in their
    e-mail: gone from the page, the PDF and exports."""
    signatory = find_for_withdrawal(session, token)
    _withdraw(session, signatory)
    return signatory


def requests_from(session: Session, key: str) -> int:
    """How many requests to be named on a statement were made with the address
    whose keyed hash is ``key`` (withdrawn ones keep no key)."""
    return session.scalar(
        sa.select(sa.func.count()).select_from(Signatory).where(Signatory.email_key == key)
    ) or 0


def erase_requests(session: Session, key: str) -> int:
    """The requester asked Sawt to erase their data: every request made with the
    address whose keyed hash is ``key`` goes, with any mail still queued about it.
    One not on a list (unconfirmed, pending, declined) is deleted; one on a list is
    withdrawn as the signatory's own link would do it: off the page, the PDF and the
    exports, its names, role and details cleared, only its place kept (withdrawn) for
    the organisers, as after any withdrawal. Returns how many."""
    rows = session.scalars(sa.select(Signatory).where(Signatory.email_key == key)).all()
    cancel_queued(session, signatory_ids=[s.id for s in rows], reason="erased")
    # The organisers see why a request or a name went; nothing says whose.
    _audit_per_statement(session, rows, "statement.requests_erase")
    for signatory in rows:
        if signatory.state == SignatoryState.approved:
            _withdraw(session, signatory)
        else:
            session.delete(signatory)
    session.flush()
    return len(rows)


def _audit_per_statement(session: Session, rows: list[Signatory], action: str) -> None:
    """One entry per statement, with how many requests: counts only."""
    per_campaign: dict[int, tuple[Campaign, int]] = {}
    for signatory in rows:
        campaign = signatory.campaign
        per_campaign[campaign.id] = (campaign, per_campaign.get(campaign.id, (campaign, 0))[1] + 1)
    for campaign, count in per_campaign.values():
        audit.record(session, None, action, campaign=campaign, signatories=count)


# --- requests that do not end on the list -----------------------------------------
#
# A request keeps what someone gave (names, role line, country, address's key) only
# while it may still end on the list: unconfirmed ones go when their link expires,
# declined ones STATEMENT_DECLINED_DAYS after the decision, and every one not on the
# list (pending ones included) when the statement's retention period is over, with
# its signatures' details (retention.services.anonymise_due). The list itself
# (approved, and withdrawn places that keep nothing personal) stays: it is public.

#: The states of a request that never reached the list.
NOT_LISTED = (SignatoryState.unconfirmed, SignatoryState.pending, SignatoryState.declined)


def _expired(now: dt.datetime) -> sa.Select:
    return sa.select(Signatory).where(Signatory.state == SignatoryState.unconfirmed,
                                      Signatory.verify_expires_at < now)


def _declined_long_ago(now: dt.datetime) -> sa.Select:
    days = current_app.config["STATEMENT_DECLINED_DAYS"]
    return sa.select(Signatory).where(Signatory.state == SignatoryState.declined,
                                      Signatory.declined_at <= now - dt.timedelta(days=days))


def _not_listed(campaign: Campaign) -> sa.Select:
    return sa.select(Signatory).where(Signatory.campaign_id == campaign.id, Signatory.state.in_(NOT_LISTED))


def _count(session: Session, query: sa.Select) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def _delete(session: Session, query: sa.Select, action: str) -> int:
    """Delete the requests ``query`` finds, names and role lines with them, and give
    up on (and scrub) any mail still queued about them. Returns how many."""
    rows = session.scalars(query.order_by(Signatory.id)).all()
    if not rows:
        return 0
    cancel_queued(session, signatory_ids=[s.id for s in rows], reason="deleted")
    _audit_per_statement(session, rows, action)
    for signatory in rows:
        session.delete(signatory)
    session.flush()
    return len(rows)


def delete_expired_requests(session: Session, now: dt.datetime | None = None) -> int:
    """Delete the requests nobody confirmed before their link expired: all of them,
    not only the address. Returns how many."""
    return _delete(session, _expired(now or utcnow()), "statement.requests_expire")


def delete_declined_requests(session: Session, now: dt.datetime | None = None) -> int:
    """Delete the requests declined more than STATEMENT_DECLINED_DAYS ago. Returns how many."""
    return _delete(session, _declined_long_ago(now or utcnow()), "statement.requests_declined_delete")


def delete_unlisted_requests(session: Session, campaign: Campaign) -> int:
    """The statement's retention period is over: delete every request not on its
    list (unconfirmed, waiting for a decision, declined). Returns how many."""
    if campaign.kind != CampaignKind.statement:
        return 0
    return _delete(session, _not_listed(campaign), "statement.requests_retention")


@dataclass(frozen=True)
class RequestsDue:
    """How many requests the next run would delete, for `retention run --dry-run`."""

    expired: int
    declined: int


def requests_due(session: Session, now: dt.datetime | None = None) -> RequestsDue:
    now = now or utcnow()
    return RequestsDue(_count(session, _expired(now)), _count(session, _declined_long_ago(now)))


def unlisted_requests(session: Session, campaign: Campaign) -> int:
    """Requests of ``campaign`` not on its list (what delete_unlisted_requests deletes)."""
    return _count(session, _not_listed(campaign)) if campaign.kind == CampaignKind.statement else 0


# --- versions ----------------------------------------------------------------------

_VERSIONED_FIELDS = ("title", "summary", "body_md")


def snapshot(campaign: Campaign) -> dict:
    texts = {}
    for lang in LANGUAGES:
        text = campaign.text(lang)
        texts[lang] = {f: (getattr(text, f) or "") if text else "" for f in _VERSIONED_FIELDS}
    return texts


def versions(session: Session, campaign: Campaign) -> list[StatementVersion]:
    """Oldest first."""
    return list(session.scalars(
        sa.select(StatementVersion).where(StatementVersion.campaign_id == campaign.id).order_by(StatementVersion.number)
    ))


def current_version(session: Session, campaign: Campaign) -> StatementVersion | None:
    return session.scalar(
        sa.select(StatementVersion).where(StatementVersion.campaign_id == campaign.id)
        .order_by(StatementVersion.number.desc()).limit(1)
    )


def record_version(session: Session, campaign: Campaign) -> StatementVersion | None:
    """A public statement whose text differs from its latest version gets a new
    version (the first one when it is published). Drafts have no versions: what
    is signed is only ever what the public could read."""
    if campaign.kind != CampaignKind.statement or campaign.state == CampaignState.draft:
        return None
    texts = snapshot(campaign)
    latest = current_version(session, campaign)
    if latest is not None and latest.texts == texts:
        return None
    version = StatementVersion(campaign_id=campaign.id, number=(latest.number if latest else 0) + 1, texts=texts)
    session.add(version)
    session.flush()
    current_app.extensions.get(_SIGNED_VERSIONS, {}).pop(campaign.id, None)
    return version


# The latest version of each statement, as signed_version last read it: (until, number).
_SIGNED_VERSIONS = "sawt.statement_signed_versions"
SIGNED_VERSION_SECONDS = 1.0


def signed_version(session: Session, campaign_id: int) -> int | None:
    """The number of the version a signature made now signs: the statement's
    latest. Read at most once a second per process (every signer of a statement
    would otherwise ask); a version recorded in this process is seen at once, one
    recorded in another within a second — less than the page a signer read may
    have been cached."""
    versions = current_app.extensions.setdefault(_SIGNED_VERSIONS, {})
    now = time.monotonic()
    known = versions.get(campaign_id)
    if known is not None and known[0] > now:
        return known[1]
    number = session.scalar(sa.select(sa.func.max(StatementVersion.number))
                            .where(StatementVersion.campaign_id == campaign_id))
    versions[campaign_id] = (now + SIGNED_VERSION_SECONDS, number)
    return number


def _version_to_sign(session: Session, campaign: Campaign) -> StatementVersion | None:
    """The version a signatory added now signs: the text as it stands, recorded
    now if this transaction changed (or published) it."""
    return record_version(session, campaign) or current_version(session, campaign)


def word_diff(old: str, new: str) -> Markup:
    """Word-level differences, escaped: removed words in <del>, added in <ins>."""
    a, b = re.split(r"(\s+)", old), re.split(r"(\s+)", new)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(Markup("<del>%s</del>") % "".join(a[i1:i2]))
        if j2 > j1:
            out.append(Markup("<ins>%s</ins>") % "".join(b[j1:j2]))
    return Markup("").join(out)


@dataclass(frozen=True)
class VersionChange:
    version: StatementVersion
    previous: StatementVersion | None
    diffs: dict[str, Markup]        # field → marked-up differences, changed fields only


def history(session: Session, campaign: Campaign, lang: str) -> list[VersionChange]:
    """Every version, newest first, with what changed from the one before in ``lang``."""
    all_versions = versions(session, campaign)
    changes = []
    for index, version in enumerate(all_versions):
        previous = all_versions[index - 1] if index else None
        diffs = {}
        if previous is not None:
            for name in _VERSIONED_FIELDS:
                old, new = previous.text(lang).get(name, ""), version.text(lang).get(name, "")
                if old != new:
                    diffs[name] = word_diff(old, new)
        changes.append(VersionChange(version, previous, diffs))
    return list(reversed(changes))


def _text_changed(mapper, connection, target) -> None:
    """A campaign or one of its texts is being written: note which campaign, so
    that _version_before_commit records one version of a statement for the whole
    edit (the editor saves each language with its own flush). A mapper event: it
    runs only when those rows are written, not on every flush (signing writes none).
    Only ids are noted here: the campaigns are looked at when the transaction ends."""
    from campaign.campaigns.models import CampaignText

    if isinstance(target, Campaign) and target.kind != CampaignKind.statement:
        return
    session = sa.orm.object_session(target)
    campaign_id = target.campaign_id if isinstance(target, CampaignText) else target.id
    if session is None or campaign_id is None:
        return
    touched = session.info.setdefault("statement_texts_changed", [])
    if campaign_id not in touched:
        touched.append(campaign_id)


def _version_before_commit(session: Session) -> None:
    touched = session.info.pop("statement_texts_changed", None)
    for campaign_id in touched or ():
        campaign = session.get(Campaign, campaign_id)
        if campaign is not None and campaign.kind == CampaignKind.statement and not sa.inspect(campaign).deleted:
            record_version(session, campaign)


def _forget_on_rollback(session: Session, previous_transaction=None) -> None:
    session.info.pop("statement_texts_changed", None)


def listen(session_class) -> None:
    """Version statements whatever changes their text (the editor, the CLI, the
    demo): the campaigns feature need not know that statements keep versions. (The
    version a signature signs is stamped by the sign service: signed_version.)"""
    from campaign.campaigns.models import CampaignText

    for name, handler in (("before_commit", _version_before_commit), ("after_soft_rollback", _forget_on_rollback)):
        if not sa.event.contains(session_class, name, handler):
            sa.event.listen(session_class, name, handler)
    for model in (Campaign, CampaignText):
        for name in ("before_insert", "before_update"):
            if not sa.event.contains(model, name, _text_changed):
                sa.event.listen(model, name, _text_changed)
