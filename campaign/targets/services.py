"""The target directory, a campaign's targets and letter, and letters from signers.

Plain values in, objects out; callers commit. ``actor`` is the organiser acting in
the workspace, or None for the platform (commands, the demo, jobs).
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import logging
import io
import re
import string
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from campaign.campaigns.models import Campaign
from campaign.exports.services import safe_cell
from campaign.extensions import db
from campaign.i18n import LANGUAGES, countries, country_name, format_number
from campaign.mail.compose import compose
from campaign.organiser import audit
from campaign.organiser.access import Permission, require
from campaign.organiser.models import Organiser
from campaign.outbox.models import MessageState, OutboxMessage
from campaign.outbox.services import enqueue_mail
from campaign.privacy.keys import email_key, utcnow
from campaign.signatures.emails import canonical_email
from campaign.signatures.models import Signature, SignatureState, Visibility
from campaign.targets.models import (
    CampaignTarget,
    Delivery,
    DeliveryState,
    DemandOutcome,
    Letter,
    LetterState,
    LetterText,
    Outcome,
    Target,
    TargetKind,
    TargetResponse,
)
from campaign.urls import external_url

LETTER_TEMPLATE = "target_letter"
PLACEHOLDERS = ("name", "country", "target")

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
X_HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
BLUESKY_HANDLE_RE = re.compile(r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{4,40}$")

log = logging.getLogger(__name__)


class Refused(ValueError):
    """Input the directory does not accept; ``problems`` says why, for people."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _authorise(actor: Organiser | None, permission: Permission, organisation_id: int) -> None:
    if actor is not None:
        require(actor, permission, organisation_id)


def _audit(session: Session, actor: Organiser | None, action: str, **detail) -> None:
    if actor is not None:
        audit.record(session, actor, action, **detail)


# --- the directory ---

@dataclass
class TargetInput:
    code: str
    kind: str
    names: dict[str, str]
    country: str = ""
    language: str = ""
    email: str = ""
    x_handle: str = ""
    bluesky_handle: str = ""
    contact_url: str = ""
    phone: str = ""
    postal_address: str = ""
    never_send_names: bool = False


def clean_target(data: TargetInput) -> tuple[dict, list[str]]:
    """The column values for ``data``, and what is wrong with it (empty when fine).
    Handles lose their '@'; empty strings become None."""
    problems: list[str] = []

    def text(value: str | None) -> str:
        return (value or "").strip()

    code = text(data.code).lower()
    if not CODE_RE.match(code):
        problems.append(str(_l("The code must be lower-case letters, digits, - or _ (at most 64).")))
    try:
        kind = TargetKind(text(data.kind))
    except ValueError:
        kind = None
        problems.append(str(_l("Unknown kind of target.")))
    names = {lang: text(data.names.get(lang))[:300] for lang in LANGUAGES}
    for lang, name in names.items():
        if not name:
            problems.append(str(_l("A name is needed in every language (%(lang)s is missing).", lang=lang)))
    country = text(data.country).upper() or None
    if country and country not in dict(countries("en")):
        problems.append(str(_l("Unknown country code.")))
    language = text(data.language).lower() or None
    if language and language not in LANGUAGES:
        problems.append(str(_l("Unknown language.")))
    email = text(data.email) or None
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            problems.append(str(_l("This e-mail address is not valid.")))
    x_handle = text(data.x_handle).lstrip("@") or None
    if x_handle and not X_HANDLE_RE.match(x_handle):
        problems.append(str(_l("An X handle is up to 15 letters, digits or _.")))
    bluesky = text(data.bluesky_handle).lstrip("@").lower() or None
    if bluesky and not BLUESKY_HANDLE_RE.match(bluesky):
        problems.append(str(_l("A Bluesky handle looks like name.bsky.social.")))
    url = text(data.contact_url) or None
    if url and not re.match(r"^https?://[^\s/]+\.[^\s]+$", url):
        problems.append(str(_l("The contact form must be a web address starting with https://.")))
    phone = text(data.phone) or None
    if phone and not PHONE_RE.match(phone):
        problems.append(str(_l("This phone number is not valid.")))
    values = dict(
        code=code, kind=kind, names=names, country=country, language=language, email=email,
        x_handle=x_handle, bluesky_handle=bluesky, contact_url=url, phone=phone,
        postal_address=text(data.postal_address) or None, never_send_names=bool(data.never_send_names),
    )
    return values, problems


def targets_of(session: Session, organisation_id: int) -> list[Target]:
    return list(session.scalars(
        sa.select(Target).where(Target.organisation_id == organisation_id).order_by(Target.kind, Target.code)
    ))


def target_by_code(session: Session, organisation_id: int, code: str) -> Target | None:
    return session.scalar(
        sa.select(Target).where(Target.organisation_id == organisation_id, Target.code == code.strip().lower())
    )


def save_target(session: Session, actor: Organiser | None, organisation_id: int, data: TargetInput,
                target: Target | None = None) -> Target:
    """Add a target to the organisation's directory, or change ``target``. Raises
    Refused with the problems when the input is not acceptable or the code is taken."""
    _authorise(actor, Permission.edit_campaigns, organisation_id)
    values, problems = clean_target(data)
    if problems:
        raise Refused(problems)
    other = target_by_code(session, organisation_id, values["code"])
    if other is not None and other is not target:
        raise Refused([str(_l("Another target already has this code."))])
    if target is None:
        target = Target(organisation_id=organisation_id, **values)
        session.add(target)
        action = "target.add"
    else:
        if target.organisation_id != organisation_id:
            raise ValueError("target belongs to another organisation")
        for name, value in values.items():
            setattr(target, name, value)
        action = "target.edit"
    session.flush()
    _audit(session, actor, action, organisation_id=organisation_id, target=target.code)
    return target


CSV_COLUMNS = (
    ["code", "kind"] + [f"name_{lang}" for lang in LANGUAGES]
    + ["country", "language", "email", "x_handle", "bluesky_handle", "contact_url", "phone", "postal_address",
       "never_send_names"]
)


def export_csv(session: Session, actor: Organiser | None, organisation_id: int) -> bytes:
    """The directory as CSV (utf-8-sig, for spreadsheets that read Arabic), every
    cell guarded against formula injection."""
    _authorise(actor, Permission.view_campaigns, organisation_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for target in targets_of(session, organisation_id):
        row = [target.code, target.kind.value] + [target.names.get(lang, "") for lang in LANGUAGES] + [
            target.country, target.language, target.email, target.x_handle, target.bluesky_handle,
            target.contact_url, target.phone, target.postal_address, "yes" if target.never_send_names else "no",
        ]
        writer.writerow([safe_cell(value or "") for value in row])
    return out.getvalue().encode("utf-8-sig")


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


_YES = {"yes", "y", "true", "1", "نعم"}


def _unguard(value: str) -> str:
    """Undo safe_cell's apostrophe, so an exported file imports unchanged."""
    if value.startswith("'") and safe_cell(value[1:]) != value[1:]:
        return value[1:]
    return value


def import_csv(session: Session, actor: Organiser | None, organisation_id: int, data: bytes | str) -> ImportReport:
    """Add or update targets from CSV (the columns of export_csv; a row whose code
    the directory holds updates that target). Rows with problems are refused and
    reported with their line number; the others are saved."""
    _authorise(actor, Permission.edit_campaigns, organisation_id)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return ImportReport(refused=[(0, str(_l("The file is not UTF-8 text.")))])
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff")))
    missing = [c for c in ("code", "kind") if c not in (reader.fieldnames or [])]
    if missing:
        report.refused.append((1, str(_l("Missing columns: %(columns)s", columns=", ".join(missing)))))
        return report
    for row in reader:
        line = reader.line_num
        cell = {k: _unguard((v or "").strip()) for k, v in row.items() if k}
        data_in = TargetInput(
            code=cell.get("code", ""), kind=cell.get("kind", ""),
            names={lang: cell.get(f"name_{lang}", "") for lang in LANGUAGES},
            country=cell.get("country", ""), language=cell.get("language", ""), email=cell.get("email", ""),
            x_handle=cell.get("x_handle", ""), bluesky_handle=cell.get("bluesky_handle", ""),
            contact_url=cell.get("contact_url", ""), phone=cell.get("phone", ""),
            postal_address=cell.get("postal_address", ""),
            never_send_names=cell.get("never_send_names", "").lower() in _YES,
        )
        existing = target_by_code(session, organisation_id, data_in.code) if data_in.code else None
        try:
            with session.begin_nested():
                save_target(session, None, organisation_id, data_in, existing)
        except Refused as exc:
            report.refused.append((line, "; ".join(exc.problems)))
            continue
        if existing is None:
            report.added += 1
        else:
            report.updated += 1
    _audit(session, actor, "target.import", organisation_id=organisation_id, added=report.added,
           updated=report.updated, refused=len(report.refused))
    return report


# --- a campaign's targets and letter ---

def campaign_targets(session: Session, campaign: Campaign) -> list[CampaignTarget]:
    return list(session.scalars(
        sa.select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
        .order_by(CampaignTarget.position, CampaignTarget.id)
    ))


def set_campaign_targets(session: Session, actor: Organiser | None, campaign: Campaign,
                         chosen: dict[int, int]) -> list[CampaignTarget]:
    """Name the campaign's targets: ``chosen`` maps target id → letters per hour.
    Targets of other organisations are refused; dropped targets keep their letters."""
    _authorise(actor, Permission.edit_campaigns, campaign.organisation_id)
    allowed_ids = set(session.scalars(
        sa.select(Target.id).where(Target.organisation_id == campaign.organisation_id)
    ))
    if set(chosen) - allowed_ids:
        raise ValueError("a target of another organisation")
    current = {ct.target_id: ct for ct in campaign_targets(session, campaign)}
    for target_id, ct in current.items():
        if target_id not in chosen:
            session.delete(ct)
    for position, (target_id, rate) in enumerate(chosen.items()):
        ct = current.get(target_id) or CampaignTarget(campaign_id=campaign.id, target_id=target_id)
        ct.position = position
        ct.letters_per_hour = max(1, min(int(rate), 3600))
        session.add(ct)
    session.flush()
    current_app.extensions.get(_HAS_TARGETS, {}).pop(campaign.id, None)
    _audit(session, actor, "campaign.targets", campaign=campaign, targets=len(chosen))
    return campaign_targets(session, campaign)


def placeholder_problems(template: str) -> list[str]:
    """What is wrong with the placeholders of a letter's subject or body: only
    {name}, {country} and {target}; a literal brace is written twice."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return [str(_l("A brace is not closed: write {{ or }} for a brace itself."))]
    problems = []
    for _literal, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if field_name not in PLACEHOLDERS or spec or conversion:
            problems.append(str(_l("Unknown placeholder {%(field)s}: use {name}, {country} or {target}.",
                                   field=field_name)))
    return problems


def letter_text(session: Session, campaign: Campaign, lang: str) -> LetterText | None:
    return session.scalar(sa.select(LetterText).where(LetterText.campaign_id == campaign.id,
                                                      LetterText.locale == lang))


def set_letter(session: Session, actor: Organiser | None, campaign: Campaign,
               texts: dict[str, tuple[str, str]]) -> None:
    """Write the campaign's letter: ``texts`` maps locale → (subject, body). Raises
    Refused when a placeholder is unknown or a language is half-written."""
    _authorise(actor, Permission.edit_campaigns, campaign.organisation_id)
    problems = []
    for lang, (subject, body) in texts.items():
        if lang not in LANGUAGES:
            raise ValueError(lang)
        if bool(subject.strip()) != bool(body.strip()):
            problems.append(str(_l("The letter needs both a subject and a text (%(lang)s).", lang=lang)))
        problems += placeholder_problems(subject) + placeholder_problems(body)
    if problems:
        raise Refused(problems)
    for lang, (subject, body) in texts.items():
        row = letter_text(session, campaign, lang) or LetterText(campaign_id=campaign.id, locale=lang)
        row.subject, row.body = subject.strip(), body.strip().replace("\r\n", "\n")
        session.add(row)
    session.flush()
    _audit(session, actor, "campaign.letter", campaign=campaign)


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    body: str


def render_letter(text: LetterText, *, target: Target, lang: str, name: str | None,
                  country: str | None) -> RenderedLetter:
    """The letter in ``lang`` for one target. Without a name (no consent, or a target
    that never receives names) the letter is signed as from 'a signatory' and says
    no country either: the two together can point to one person."""
    with force_locale(lang):
        values = {
            "name": name or str(_l("a signatory of this campaign")),
            "country": country_name(country, lang) if (name and country) else str(_l("(not shared)")),
            "target": target.name_in(lang),
        }
    return RenderedLetter(text.subject.format_map(values), text.body.format_map(values))


def mailbox_letter(text: LetterText, *, target: Target, lang: str) -> RenderedLetter:
    """The letter for a signer's own mailbox: the placeholders for the signer stay as
    blanks they fill in themselves, so no name travels in a link."""
    with force_locale(lang):
        values = {"name": str(_l("[your name]")), "country": str(_l("[your country]")),
                  "target": target.name_in(lang)}
    return RenderedLetter(text.subject.format_map(values), text.body.format_map(values))


# --- the signer's pass from the confirmation to the letters ---

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="sawt.letters.pass")


def signer_pass(signature: Signature) -> str:
    """A short-lived signed token naming a confirmed signature: carried in the link
    from the confirmation to the letters page, so no cookie is needed."""
    return _serializer().dumps(signature.id)


def letters_pass(signature: Signature) -> str | None:
    """A pass for the confirmed signer, only when the campaign has targets to write
    to: no token travels in a link that has no use for it."""
    if signature.state != SignatureState.verified or not has_letter_targets(signature.campaign):
        return None
    return signer_pass(signature)


def signature_from_pass(session: Session, token: str | None, campaign: Campaign) -> Signature | None:
    """The confirmed signature of this campaign a pass names, or None (expired,
    forged, withdrawn, another campaign)."""
    if not token or len(token) > 200:
        return None
    try:
        signature_id = _serializer().loads(token, max_age=current_app.config["LETTER_PASS_MINUTES"] * 60)
    except (BadSignature, SignatureExpired):
        return None
    signature = session.get(Signature, signature_id) if isinstance(signature_id, int) else None
    if signature is None or signature.campaign_id != campaign.id or signature.state != SignatureState.verified:
        return None
    return signature


# --- letters sent by the platform ---

class LetterOutcome:
    queued = "queued"
    already = "already"
    no_address = "no_address"


@dataclass(frozen=True)
class LetterResult:
    target: Target
    outcome: str
    letter: Letter | None = None


def _next_slot(session: Session, campaign_target: CampaignTarget, now: dt.datetime) -> dt.datetime:
    """Take the next free slot in this target's schedule: letters leave no faster than
    ``letters_per_hour``. The row lock makes concurrent letters take distinct slots."""
    row = session.scalar(
        sa.select(CampaignTarget).where(CampaignTarget.id == campaign_target.id)
        # Not the joined target: PostgreSQL cannot lock the nullable side of an outer join.
        .options(lazyload(CampaignTarget.target))
        .with_for_update().execution_options(populate_existing=True)
    )
    slot = max(now, row.next_slot_at or now)
    row.next_slot_at = slot + dt.timedelta(seconds=3600 / max(row.letters_per_hour, 1))
    return slot


def send_letters(session: Session, signature: Signature, target_ids: list[int], *, locale: str,
                 with_name: bool, reply_to: str | None) -> list[LetterResult]:
    """Queue the campaign's letter from a confirmed signer to each target named.

    ``with_name`` and ``reply_to`` are the signer's consent for these letters: the
    name (and country) and their address as Reply-To reach a target only when given,
    and never a target marked 'never send names' — it gets the letter unsigned.
    ``reply_to`` must be the address this signature was made with. One letter per
    signer per target (the unique constraint decides); each is scheduled in the
    target's own drip so no target gets a flood at once."""
    if signature.state != SignatureState.verified:
        raise ValueError("only confirmed signatures may send letters")
    campaign = signature.campaign
    text = letter_text(session, campaign, locale)
    if text is None or not text.subject:
        raise ValueError("this campaign has no letter in that language")
    if reply_to is not None and email_key(canonical_email(reply_to)) != signature.email_key:
        raise Refused([str(_l("This is not the address you signed with."))])
    results = []
    now = utcnow()
    chosen = {ct.target_id: ct for ct in campaign_targets(session, campaign) if ct.target_id in set(target_ids)}
    for target_id in target_ids:
        ct = chosen.get(target_id)
        if ct is None:
            continue
        target = ct.target
        if not target.email:
            results.append(LetterResult(target, LetterOutcome.no_address))
            continue
        named = with_name and not target.never_send_names
        letter = Letter(campaign_id=campaign.id, target_id=target.id, signature_id=signature.id, locale=locale,
                        with_name=named, with_reply_to=bool(reply_to) and not target.never_send_names)
        try:
            with session.begin_nested():
                session.add(letter)
                session.flush()
        except IntegrityError:
            results.append(LetterResult(target, LetterOutcome.already))
            continue
        rendered = render_letter(text, target=target, lang=locale, name=signature.name if named else None,
                                 country=signature.country if named else None)
        message = compose(
            LETTER_TEMPLATE, to=target.email, locale=locale, subject=rendered.subject,
            body=rendered.body, campaign_title=campaign.title_in(locale),
            campaign_url=external_url("campaigns.show", lang_code=locale, slug=campaign.slug),
        )
        if letter.with_reply_to:
            message["reply_to"] = reply_to
        letter.scheduled_for = _next_slot(session, ct, now)
        outbox = enqueue_mail(session, message, template=LETTER_TEMPLATE, signature_id=signature.id,
                              idempotency_key=f"letter:{letter.id}", not_before=letter.scheduled_for)
        letter.outbox_message_id = outbox.id
        session.flush()
        results.append(LetterResult(target, LetterOutcome.queued, letter))
    return results


def letters_sent_by(session: Session, signature: Signature) -> set[int]:
    """Targets this signer has already written to through the platform."""
    return set(session.scalars(
        sa.select(Letter.target_id).where(Letter.signature_id == signature.id,
                                          Letter.state != LetterState.cancelled)
    ))


def letter_counts(session: Session, campaign: Campaign) -> dict[int, int]:
    """Letters per target for the public counters: queued or sent, not cancelled."""
    rows = session.execute(
        sa.select(Letter.target_id, sa.func.count())
        .where(Letter.campaign_id == campaign.id, Letter.state.in_([LetterState.queued, LetterState.sent]))
        .group_by(Letter.target_id)
    ).all()
    return dict(rows)


def letter_finished(message: OutboxMessage, session: Session) -> None:
    """The outbox calls this when a message is done: a letter follows its fate
    (sent, failed, or cancelled when its signer withdrew)."""
    if message.template != LETTER_TEMPLATE:
        return
    letter = session.scalar(sa.select(Letter).where(Letter.outbox_message_id == message.id))
    if letter is None or letter.state != LetterState.queued:
        return
    if message.state == MessageState.sent:
        letter.state, letter.sent_at = LetterState.sent, message.sent_at
    elif message.last_error in ("withdrawn", "erased", "anonymised", "invalidated"):
        letter.state = LetterState.cancelled
    else:
        letter.state = LetterState.failed
    session.flush()


_HAS_TARGETS = "sawt.campaigns_with_letter_targets"
HAS_TARGETS_SECONDS = 1.0


def has_letter_targets(campaign: Campaign) -> bool:
    """Whether signers of this campaign have anyone to write to (every confirmation
    and the thank-you page ask). Read at most once a second per campaign and
    process; naming the targets (set_campaign_targets) is seen at once here."""
    known = current_app.extensions.setdefault(_HAS_TARGETS, {})
    now = time.monotonic()
    entry = known.get(campaign.id)
    if entry is None or entry[0] <= now:
        if len(known) > 10_000:
            known.clear()
        entry = known[campaign.id] = (now + HAS_TARGETS_SECONDS, db.session.scalar(
            sa.select(sa.exists().where(CampaignTarget.campaign_id == campaign.id))))
    return entry[1]


# --- delivery by organisers ---

DELIVERY_TEMPLATE = "target_delivery"


def delivery_names(session: Session, campaign: Campaign) -> list[Signature]:
    """Confirmed signers who chose to be shown by their full name: they made their
    name public on the campaign page, so delivering it adds no one new who knows.
    Everyone else is in the count only."""
    return list(session.scalars(
        sa.select(Signature).where(Signature.campaign_id == campaign.id, Signature.state == SignatureState.verified,
                                   Signature.visibility == Visibility.full_name)
        .order_by(Signature.verified_at, Signature.id)
    ))


def signatories_csv(signatures: list[Signature], lang: str) -> str:
    """The named signatories as CSV text (name, country), formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    with force_locale(lang):
        writer.writerow([str(_l("Name")), str(_l("Country"))])
    for signature in signatures:
        writer.writerow([safe_cell(signature.name), safe_cell(country_name(signature.country, lang))])
    return out.getvalue()


def _delivery_version(campaign: Campaign, lang: str, verified_n: int, named_n: int, with_names: bool) -> dict:
    text = campaign.text(lang)
    verified = format_number(verified_n, campaign.digits.value, lang)
    named = format_number(named_n, campaign.digits.value, lang)
    with force_locale(lang):
        if with_names:
            count_line = str(_l("%(verified)s people have signed and confirmed their signature; %(named)s of them "
                                "chose to be named, listed in the attached file.", verified=verified, named=named))
        else:
            count_line = str(_l("%(verified)s people have signed and confirmed their signature.", verified=verified))
        return {
            "lang": lang,
            "title": campaign.title_in(lang),
            "summary": text.summary if text else "",
            "body": text.body_md if text else "",
            "demands_heading": str(_l("Our demands")),
            "demands": [(d.text(lang).title, d.text(lang).body) for d in campaign.demands if d.text(lang)],
            "count_line": count_line,
            "url": external_url("campaigns.show", lang_code=lang, slug=campaign.slug),
        }


def _campaign_pdf(session: Session, campaign: Campaign, langs: list[str]) -> bytes | None:
    """The campaign as a PDF in the target's language(s): its text and, for a
    statement, the numbered signatories (statements.pdf). None where this server
    cannot make PDFs (the delivery then goes without)."""
    from campaign.statements import pdf

    try:
        return pdf.render(session, campaign, langs)
    except pdf.PdfUnavailable:
        log.warning("campaign %s delivered without its PDF: PDFs cannot be made here", campaign.slug)
        return None


def deliver_campaign(session: Session, actor: Organiser | None, campaign: Campaign, target_ids: list[int], *,
                     spacing_minutes: int = 10, with_names: bool = True) -> list:
    """Deliver the campaign to the chosen targets through the outbox: an e-mail in
    each target's language (every language when it has none) with the text, the
    demands and the confirmed count, and — unless ``with_names`` is off or the
    target never receives names — a CSV of the signatories who chose to be named.
    Deliveries leave ``spacing_minutes`` apart. Names leaving the site need the
    export permission."""
    _authorise(actor, Permission.edit_campaigns, campaign.organisation_id)
    if with_names:
        _authorise(actor, Permission.export_signers, campaign.organisation_id)

    chosen = {ct.target_id: ct.target for ct in campaign_targets(session, campaign)}
    named = delivery_names(session, campaign) if with_names else []
    verified = campaign.verified_count
    slot = utcnow()
    deliveries = []
    for target_id in target_ids:
        target = chosen.get(target_id)
        if target is None or not target.email:
            continue
        langs = [target.language] if target.language else list(LANGUAGES)
        names_for_target = [] if target.never_send_names else named
        include = with_names and not target.never_send_names
        versions = [_delivery_version(campaign, lang, verified, len(names_for_target), include) for lang in langs]
        with force_locale(langs[0]):
            subject = " / ".join(v["title"] for v in versions)
        message = compose(DELIVERY_TEMPLATE, to=target.email, locale=langs[0], subject=subject, versions=versions,
                          campaign_title=versions[0]["title"])
        attachments = []
        pdf = _campaign_pdf(session, campaign, langs)
        if pdf is not None:
            attachments.append({"filename": f"{campaign.slug}.pdf", "type": "application/pdf",
                                "content_base64": base64.b64encode(pdf).decode("ascii")})
        if include and names_for_target:
            attachments.append({"filename": f"{campaign.slug}-signatories.csv",
                                "content": signatories_csv(names_for_target, langs[0])})
        if attachments:
            message["attachments"] = attachments
        delivery = Delivery(campaign_id=campaign.id, target_id=target.id, languages=",".join(langs),
                            verified_count=verified, named_count=len(names_for_target) if include else 0,
                            created_by_id=actor.id if actor else None, scheduled_for=slot)
        session.add(delivery)
        session.flush()
        outbox = enqueue_mail(session, message, template=DELIVERY_TEMPLATE,
                              idempotency_key=f"delivery:{delivery.id}", not_before=slot)
        delivery.outbox_message_id = outbox.id
        deliveries.append(delivery)
        slot += dt.timedelta(minutes=max(spacing_minutes, 0))
    session.flush()
    _audit(session, actor, "campaign.deliver", campaign=campaign, targets=len(deliveries), with_names=with_names)
    return deliveries


def deliveries_of(session: Session, campaign: Campaign, *, sent_only: bool = False) -> list:

    query = sa.select(Delivery).where(Delivery.campaign_id == campaign.id)
    if sent_only:
        query = query.where(Delivery.state == DeliveryState.sent)
    return list(session.scalars(query.order_by(Delivery.scheduled_for.desc(), Delivery.id.desc())))


def mark_bounced(session: Session, actor: Organiser | None, delivery) -> None:
    """An organiser saw the delivery bounce back (the bounce reached their mailbox)."""

    campaign = session.get(Campaign, delivery.campaign_id)
    _authorise(actor, Permission.edit_campaigns, campaign.organisation_id)
    if delivery.state == DeliveryState.bounced:
        return  # a second click
    delivery.state.check(DeliveryState.bounced)
    delivery.state = DeliveryState.bounced
    session.flush()
    _audit(session, actor, "campaign.delivery_bounced", campaign=campaign, target=delivery.target.code)


def delivery_finished(message: OutboxMessage, session: Session) -> None:
    """A delivery follows its outbox message. A recipient refused for good is a
    bounce; any other give-up a failure."""
    if message.template != DELIVERY_TEMPLATE:
        return

    delivery = session.scalar(sa.select(Delivery).where(Delivery.outbox_message_id == message.id))
    if delivery is None or delivery.state != DeliveryState.queued:
        return
    if message.state == MessageState.sent:
        delivery.state, delivery.sent_at = DeliveryState.sent, message.sent_at
    else:
        refused = (message.last_error or "").startswith("recipient refused")
        delivery.state = DeliveryState.bounced if refused else DeliveryState.failed
        delivery.last_error = message.last_error
    session.flush()


# --- responses and outcomes ---

def record_response(session: Session, actor: Organiser | None, campaign: Campaign, *, target_id: int,
                    received_on: dt.date, texts: dict[str, str], url: str | None, demands: list[int]):
    """Record a target's answer: its text in each language and/or a link to it, and
    the demands it addresses. Raises Refused when something is missing or foreign."""

    _authorise(actor, Permission.edit_campaigns, campaign.organisation_id)
    problems = []
    if target_id not in {ct.target_id for ct in campaign_targets(session, campaign)}:
        problems.append(str(_l("Choose one of the campaign's targets.")))
    texts = {lang: (texts.get(lang) or "").strip() for lang in LANGUAGES}
    url = (url or "").strip() or None
    if url and not re.match(r"^https?://[^\s/]+\.[^\s]+$", url):
        problems.append(str(_l("The link must be a web address starting with https://.")))
    if not url and not all(texts.values()):
        problems.append(str(_l("Give the answer in every language, or a link to it.")))
    own = {d.position for d in campaign.demands}
    if set(demands) - own:
        problems.append(str(_l("Only this campaign's demands can be addressed.")))
    if received_on > utcnow().date():
        problems.append(str(_l("The date cannot be in the future.")))
    if problems:
        raise Refused(problems)
    response = TargetResponse(campaign_id=campaign.id, target_id=target_id, received_on=received_on, texts=texts,
                              url=url, demand_positions=sorted(set(demands)))
    session.add(response)
    session.flush()
    _audit(session, actor, "campaign.response", campaign=campaign, target_id=target_id)
    return response


def responses_of(session: Session, campaign: Campaign) -> list:

    return list(session.scalars(
        sa.select(TargetResponse).where(TargetResponse.campaign_id == campaign.id)
        .order_by(TargetResponse.received_on.desc(), TargetResponse.id.desc())
    ))


def set_outcome(session: Session, actor: Organiser | None, campaign: Campaign, position: int,
                outcome: str | None, decided_on: dt.date | None) -> None:
    """Mark demand number ``position`` met, partly met or not met (with the date),
    or clear it."""

    _authorise(actor, Permission.edit_campaigns, campaign.organisation_id)
    if position not in {d.position for d in campaign.demands}:
        raise ValueError("not a demand of this campaign")
    row = session.get(DemandOutcome, (campaign.id, position))
    if not outcome:
        if row is not None:
            session.delete(row)
    else:
        row = row or DemandOutcome(campaign_id=campaign.id, position=position)
        row.outcome = Outcome(outcome)
        row.decided_on = decided_on or utcnow().date()
        session.add(row)
    session.flush()
    _audit(session, actor, "campaign.outcome", campaign=campaign, demand=position, outcome=outcome or "")


def outcomes_of(session: Session, campaign: Campaign) -> dict[int, object]:
    """Outcomes by demand number."""

    return {row.position: row for row in session.scalars(sa.select(DemandOutcome).where(
        DemandOutcome.campaign_id == campaign.id))}
