"""Organiser accounts: creating them, setting them up, logging in, two-factor, and
the team of an organisation. Plain values in, objects out; callers commit.

Every change is written to the audit log. Account-wide events (logins, password
and two-factor changes) carry no organisation: an owner reads them for the
members of their team, an administrator for everyone.
"""
from __future__ import annotations

import datetime as dt
import enum
import functools
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, lazyload

from campaign.i18n import LANGUAGES
from campaign.mail.compose import compose
from campaign.organiser import access, audit, totp
from campaign.organiser.access import Permission
from campaign.organiser.models import (AuditEntry, Membership, Organisation, OrganisationText, Organiser,
                                       RecoveryCode, Role)
from campaign.outbox.services import enqueue_mail
from campaign.privacy.keys import new_token, token_hash, utcnow
from campaign.signatures.emails import normalise_email
from campaign.urls import external_url

PASSWORD_MIN = 12
PASSWORD_MAX = 1024  # argon2 takes anything; this only stops megabyte "passwords"
TEAM_ROLES = (Role.owner, Role.editor)



class AccountError(Exception):
    """A refusal the person can act on. ``message`` is a lazy translated string."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# --- Passwords -------------------------------------------------------------------

def password_problems(password: str | None) -> list:
    """What is wrong with a new password (translated), or nothing."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        return [_l("Please use at least %(num)d characters.", num=PASSWORD_MIN)]
    if len(password) > PASSWORD_MAX:
        return [_l("Please use at most %(num)d characters.", num=PASSWORD_MAX)]
    if len(set(password)) == 1:
        return [_l("Please do not repeat a single character.")]
    return []


@functools.cache
def _hasher_with(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)


def _hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher_with(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("no account has this password")


def check_password(organiser: Organiser | None, password: str) -> bool:
    """True if ``password`` is the organiser's. Upgrades the stored hash when the
    argon2 parameters have changed. Without an account a dummy hash is checked, so
    the answer takes as long whether or not the address exists."""
    hasher = _hasher()
    stored = organiser.password_hash if organiser is not None else None
    try:
        hasher.verify(stored or _dummy_hash(hasher), password or "")
    except (VerificationError, InvalidHashError):
        return False
    if stored is None:
        return False
    if hasher.check_needs_rehash(stored):
        organiser.password_hash = hasher.hash(password)
    return True


# --- Finding people ----------------------------------------------------------------

def clean_email(address: str | None) -> str:
    """An organiser's address as we store it: validated, lower case."""
    try:
        return normalise_email(address or "").lower()
    except ValueError as exc:
        raise AccountError(_l("This e-mail address does not look right. Please check it.")) from exc


def find_by_email(session: Session, address: str | None, *, memberships: bool = True) -> Organiser | None:
    """The organiser with this address. ``memberships=False`` leaves them unloaded
    until used (the login step: loading them only for real accounts made a wrong
    password measurably slower to answer for them than for an unknown address)."""
    address = (address or "").strip().lower()
    if not address or "\x00" in address:  # no such address; PostgreSQL refuses NUL
        return None
    query = sa.select(Organiser).where(sa.func.lower(Organiser.email) == address)
    if not memberships:
        query = query.options(lazyload(Organiser.memberships))
    return session.scalar(query)


def find_organisation(session: Session, name: str) -> Organisation | None:
    return session.scalar(sa.select(Organisation).where(Organisation.name == name.strip()))


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise AccountError(_l("Please choose a role.")) from exc


def _locale(value: str | None) -> str:
    return value if value in LANGUAGES else LANGUAGES[0]


# --- Setup links -------------------------------------------------------------------

class SetupProblem(enum.Enum):
    invalid = "invalid"
    expired = "expired"


class SetupLinkError(Exception):
    def __init__(self, problem: SetupProblem):
        super().__init__(problem.value)
        self.problem = problem


def issue_setup_token(session: Session, organiser: Organiser) -> str:
    """A new one-time setup token (the old one stops working); only its hash is kept."""
    token, digest = new_token()
    organiser.setup_token_hash = digest
    organiser.setup_expires_at = utcnow() + dt.timedelta(hours=current_app.config["SETUP_LINK_HOURS"])
    session.flush()
    return token


def setup_url(token: str, lang: str) -> str:
    return external_url("manage_organiser.setup", lang_code=_locale(lang), token=token)


def organiser_for_setup(session: Session, token: str) -> Organiser:
    """The organiser a setup token belongs to; SetupLinkError if unknown or expired."""
    organiser = session.scalar(sa.select(Organiser).where(Organiser.setup_token_hash == token_hash(token or "")))
    if organiser is None or not organiser.active:
        raise SetupLinkError(SetupProblem.invalid)
    if organiser.setup_expires_at is None or organiser.setup_expires_at < utcnow():
        raise SetupLinkError(SetupProblem.expired)
    return organiser


def complete_setup(session: Session, token: str, *, name: str, password: str) -> Organiser:
    """Use a setup link: set the name and password. The link works once. On an
    account that already had a password it is a reset: two-factor and recovery
    codes are dropped (to be set up again) and every other session ends."""
    organiser = organiser_for_setup(session, token)
    problems = password_problems(password)
    if problems:
        raise AccountError(problems[0])
    # Claim the token with a conditional update: two tabs cannot both use it.
    claimed = session.execute(
        sa.update(Organiser)
        .where(Organiser.id == organiser.id, Organiser.setup_token_hash == token_hash(token))
        .values(setup_token_hash=None, setup_expires_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise SetupLinkError(SetupProblem.invalid)
    session.refresh(organiser)
    was_set_up = organiser.password_hash is not None
    had_two_factor = organiser.has_two_factor
    organiser.name = name.strip()
    organiser.password_hash = hash_password(password)
    organiser.session_generation += 1
    if had_two_factor:
        _drop_two_factor(session, organiser)
        audit.record(session, organiser, "two_factor.reset")
    audit.record(session, organiser, "account.reset" if was_set_up else "account.setup")
    session.flush()
    return organiser


# --- Creating accounts (command line) ---------------------------------------------------

def create_account(
    session: Session, email: str, *, role: Role | str, organisation_name: str | None = None, locale: str = "ar"
) -> tuple[Organiser, str]:
    """`flask users create`: the organisation (if new), the organiser (if new), the
    membership, and a fresh setup token. An existing organiser keeps their account;
    the new link, if used, resets their password and two-factor."""
    email = clean_email(email)
    role = _role(role)
    organisation = None
    if role != Role.admin:
        organisation_name = (organisation_name or "").strip()
        if not organisation_name:
            raise AccountError(_l("An owner or editor needs an organisation."))
        if len(organisation_name) > 200:
            raise AccountError(_l("Please use at most %(num)d characters.", num=200))
        organisation = find_organisation(session, organisation_name)
        if organisation is None:
            organisation = Organisation(name=organisation_name)
            session.add(organisation)
            session.flush()
    organiser = find_by_email(session, email)
    if organiser is None:
        organiser = Organiser(email=email, locale=_locale(locale))
        session.add(organiser)
        session.flush()
    if role == Role.admin:
        organiser.is_admin = True
        audit.record(session, None, "account.create", member=organiser.id, role=role.value)
    else:
        membership = _membership(organiser, organisation.id)
        if membership is None:
            organiser.memberships.append(Membership(organisation_id=organisation.id, role=role))
        elif membership.role != role:
            old = membership.role
            membership.role = role
            audit.record(session, None, "team.role_change", organisation_id=organisation.id,
                         member=organiser.id, **{"from": old.value, "to": role.value})
        audit.record(session, None, "account.create", organisation_id=organisation.id,
                     member=organiser.id, role=role.value)
    token = issue_setup_token(session, organiser)
    session.flush()
    return organiser, token


def _membership(organiser: Organiser, organisation_id: int) -> Membership | None:
    return next((m for m in organiser.memberships if m.organisation_id == organisation_id), None)


# --- Two-factor -------------------------------------------------------------------------

def enable_two_factor(session: Session, organiser: Organiser, secret: str, code: str) -> list[str]:
    """Turn on TOTP once the person proves their app holds ``secret``. Returns the
    recovery codes, to be shown once."""
    step = totp.matching_step(secret, code, last_step=None)
    if step is None:
        raise AccountError(_l("That code did not work. Check the time on your phone and enter the newest code."))
    organiser.totp_secret = secret
    organiser.totp_last_step = step
    codes = _replace_recovery_codes(session, organiser)
    audit.record(session, organiser, "two_factor.enable")
    return codes


def replace_recovery_codes(session: Session, organiser: Organiser) -> list[str]:
    """New recovery codes; the old ones stop working."""
    codes = _replace_recovery_codes(session, organiser)
    audit.record(session, organiser, "two_factor.recovery_codes_replaced")
    return codes


def _replace_recovery_codes(session: Session, organiser: Organiser) -> list[str]:
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.organiser_id == organiser.id))
    codes = totp.new_recovery_codes()
    session.add_all(RecoveryCode(organiser_id=organiser.id, code_hash=totp.recovery_code_hash(c)) for c in codes)
    session.flush()
    return codes


def _drop_two_factor(session: Session, organiser: Organiser) -> None:
    organiser.totp_secret = None
    organiser.totp_last_step = None
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.organiser_id == organiser.id))


def recovery_codes_left(session: Session, organiser: Organiser) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.organiser_id == organiser.id, RecoveryCode.used_at.is_(None))
    ) or 0


def use_totp(session: Session, organiser: Organiser, code: str, *, now: float | None = None) -> bool:
    """Accept a TOTP code once: its time step is stored, and a code from that step
    or an earlier one is refused from then on (also by a concurrent request)."""
    if not organiser.totp_secret:
        return False
    step = totp.matching_step(organiser.totp_secret, code, last_step=organiser.totp_last_step, now=now)
    if step is None:
        return False
    moved = session.execute(
        sa.update(Organiser)
        .where(Organiser.id == organiser.id)
        .where(sa.or_(Organiser.totp_last_step.is_(None), Organiser.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(organiser, ["totp_last_step"])
    return moved == 1


def use_recovery_code(session: Session, organiser: Organiser, code: str) -> bool:
    """Accept an unused recovery code once, and note it in the audit log."""
    if not totp.looks_like_recovery_code(code):
        return False
    used = session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.organiser_id == organiser.id,
            RecoveryCode.code_hash == totp.recovery_code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        return False
    audit.record(session, organiser, "two_factor.recovery_code_used",
                 remaining=recovery_codes_left(session, organiser))
    return True


def check_second_factor(session: Session, organiser: Organiser, code: str, *, recovery: bool = True) -> bool:
    """A TOTP code, or (if ``recovery``) one of the organiser's recovery codes."""
    if use_totp(session, organiser, code):
        return True
    return recovery and use_recovery_code(session, organiser, code)


# --- Logging in ---------------------------------------------------------------------------

def authenticate(session: Session, email: str, password: str) -> Organiser | None:
    """The organiser whose address and password these are, or None (for any reason:
    the caller shows one message whatever went wrong).

    Until the password is right, a real address and an unknown one take the same
    steps: one SELECT that always returns one row of plain columns (building the
    account's ORM object only for real addresses cost them ~0.06 ms, and fetching a
    row only for them ~0.01 ms, measurable over a few hundred tries), one argon2
    check (against a dummy hash when there is no account), one audit entry."""
    address = (email or "").strip().lower()
    if "\x00" in address:  # PostgreSQL refuses NUL; no address has one
        address = ""
    account = session.execute(_account_or_nothing(), {"address": address}).one()
    if account.id is None or not account.active:
        account = None
    hasher = _hasher()
    try:
        hasher.verify((account.password_hash if account else None) or _dummy_hash(hasher), password or "")
        right = account is not None and account.password_hash is not None
    except (VerificationError, InvalidHashError):
        right = False
    if right:
        organiser = session.get(Organiser, account.id)
        if hasher.check_needs_rehash(organiser.password_hash):
            organiser.password_hash = hasher.hash(password)
        return organiser
    # Recorded for an unknown address too (with no one named): writing the entry only
    # for real accounts made the answer measurably slower for them, which told anyone
    # whether an address has an organiser account. For the same reason the account is
    # named by a plain id, not a foreign key that PostgreSQL would check for real
    # accounts only (AuditEntry.organiser_id): both entries cost the same to write.
    audit.record(session, None, "account.login_failed", organiser_id=account.id if account else None,
                 step="password")
    return None


@functools.cache
def _account_or_nothing():
    """The account with the address (bound as ``address``), or one row of NULLs."""
    one = sa.select(sa.literal(1).label("one")).subquery()
    return (sa.select(Organiser.id, Organiser.password_hash, Organiser.active).select_from(one)
            .outerjoin(Organiser, sa.func.lower(Organiser.email) == sa.bindparam("address")))


def record_failed_login(session: Session, organiser: Organiser | None, *, step: str) -> None:
    audit.record(session, organiser, "account.login_failed", step=step)


def record_login(session: Session, organiser: Organiser, *, two_factor: bool) -> None:
    organiser.last_login_at = utcnow()
    audit.record(session, organiser, "account.login", two_factor=two_factor)


def log_out_everywhere(session: Session, organiser: Organiser) -> None:
    """Every session of this organiser, on every device, ends."""
    organiser.session_generation += 1
    audit.record(session, organiser, "account.logout_everywhere")
    session.flush()


def change_password(session: Session, organiser: Organiser, *, current: str, new: str) -> None:
    """Change the password (knowing the current one); other sessions end, and so
    does any reset link still in a mailbox (it would undo this change)."""
    if not check_password(organiser, current):
        raise AccountError(_l("Your current password is not right."))
    problems = password_problems(new)
    if problems:
        raise AccountError(problems[0])
    organiser.password_hash = hash_password(new)
    organiser.setup_token_hash = organiser.setup_expires_at = None
    organiser.session_generation += 1
    audit.record(session, organiser, "account.password_change")
    session.flush()


# --- The team of an organisation ---------------------------------------------------------

def manageable_organisations(session: Session, organiser: Organiser) -> list[Organisation]:
    return [o for o in access.organisations_of(session, organiser)
            if access.allowed(organiser, Permission.manage_team, o.id)]


def members_of(session: Session, organisation_id: int) -> list[Membership]:
    """Everyone in the organisation, owners first, then by name or address."""
    rows = session.scalars(
        sa.select(Membership).join(Membership.organiser).where(Membership.organisation_id == organisation_id)
    )
    return sorted(rows, key=lambda m: (m.role != Role.owner, (m.organiser.name or m.organiser.email).casefold()))


def is_pending(organiser: Organiser) -> bool:
    """Invited, and the setup link not used yet."""
    return organiser.password_hash is None


def _send(session: Session, template: str, organiser: Organiser, *, locale: str, subject, **context) -> None:
    message = compose(template, to=organiser.email, locale=locale, subject=subject, **context)
    enqueue_mail(session, message, template=template)


def invite(
    session: Session, actor: Organiser, organisation: Organisation, email: str, role: Role | str, *, locale: str
) -> Membership:
    """Add someone to the team and e-mail them in ``locale``: a setup link if they
    have no account yet, a note and the login address if they have one."""
    access.require(actor, Permission.manage_team, organisation.id)
    email = clean_email(email)
    role = _role(role)
    if role not in TEAM_ROLES:
        raise AccountError(_l("Please choose a role."))
    locale = _locale(locale)
    organiser = find_by_email(session, email)
    if organiser is not None and _membership(organiser, organisation.id) is not None:
        raise AccountError(_l("This person is already in the team."))
    if organiser is None:
        organiser = Organiser(email=email, locale=locale)
        session.add(organiser)
        session.flush()
    membership = Membership(organisation_id=organisation.id, role=role)
    organiser.memberships.append(membership)
    session.flush()
    _announce(session, actor, organisation, membership, locale=locale)
    audit.record(session, actor, "team.invite", organisation_id=organisation.id,
                 member=organiser.id, role=role.value)
    return membership


def _announce(session: Session, actor: Organiser, organisation: Organisation, membership: Membership, *,
              locale: str) -> None:
    organiser = membership.organiser
    common = dict(organisation_name=organisation.name, inviter_name=actor.name or actor.email, role=membership.role)
    if is_pending(organiser):
        token = issue_setup_token(session, organiser)
        _send(session, "team_invite", organiser, locale=locale,
              subject=_l("You are invited to %(organisation)s on Sawt", organisation=organisation.name),
              setup_url=setup_url(token, locale), hours=current_app.config["SETUP_LINK_HOURS"], **common)
    else:
        _send(session, "team_added", organiser, locale=locale,
              subject=_l("You were added to %(organisation)s on Sawt", organisation=organisation.name),
              login_url=external_url("manage_organiser.login", lang_code=locale), **common)


def resend_invitation(session: Session, actor: Organiser, membership: Membership, *, locale: str) -> None:
    """A new setup link for someone who has not used theirs (the old one stops working)."""
    access.require(actor, Permission.manage_team, membership.organisation_id)
    if not is_pending(membership.organiser):
        raise AccountError(_l("This person has already set up their account."))
    _announce(session, actor, membership.organisation, membership, locale=_locale(locale))
    audit.record(session, actor, "team.invite_resend", organisation_id=membership.organisation_id,
                 member=membership.organiser_id)


def send_reset_link(session: Session, actor: Organiser, membership: Membership, *, locale: str) -> None:
    """For a member who lost their password or phone: e-mail them a setup link that
    sets a new password and two-factor. Nothing changes until they use it."""
    access.require(actor, Permission.manage_team, membership.organisation_id)
    organiser = membership.organiser
    if is_pending(organiser):
        raise AccountError(_l("This person has not set up their account yet: send the invitation again."))
    token = issue_setup_token(session, organiser)
    locale = _locale(locale)
    _send(session, "account_reset", organiser, locale=locale,
          subject=_l("Reset your Sawt account"),
          organisation_name=membership.organisation.name, inviter_name=actor.name or actor.email,
          setup_url=setup_url(token, locale), hours=current_app.config["SETUP_LINK_HOURS"])
    audit.record(session, actor, "team.reset_link", organisation_id=membership.organisation_id,
                 member=organiser.id)


def _active_owner_ids(session: Session, organisation_id: int) -> list[int]:
    """Owners who can log in. Locks their memberships (on PostgreSQL) so two owners
    demoting each other at once cannot leave the organisation without one."""
    return list(session.scalars(
        sa.select(Membership.organiser_id)
        .join(Organiser, Organiser.id == Membership.organiser_id)
        .where(
            Membership.organisation_id == organisation_id,
            Membership.role == Role.owner,
            Organiser.active.is_(True),
            Organiser.password_hash.is_not(None),
        )
        .with_for_update(of=Membership)
    ))


def _would_leave_no_owner(session: Session, membership: Membership) -> bool:
    if membership.role != Role.owner:
        return False
    return _active_owner_ids(session, membership.organisation_id) == [membership.organiser_id]


def change_role(session: Session, actor: Organiser, membership: Membership, role: Role | str) -> None:
    access.require(actor, Permission.manage_team, membership.organisation_id)
    role = _role(role)
    if role not in TEAM_ROLES:
        raise AccountError(_l("Please choose a role."))
    if role == membership.role:
        return
    if _would_leave_no_owner(session, membership):
        raise AccountError(_l("An organisation needs at least one owner. Make someone else an owner first."))
    old = membership.role
    membership.role = role
    audit.record(session, actor, "team.role_change", organisation_id=membership.organisation_id,
                 member=membership.organiser_id, **{"from": old.value, "to": role.value})
    session.flush()


def remove_member(session: Session, actor: Organiser, membership: Membership) -> None:
    """Take someone off the team. An invitation never used goes with its account."""
    access.require(actor, Permission.manage_team, membership.organisation_id)
    if _would_leave_no_owner(session, membership):
        raise AccountError(_l("An organisation needs at least one owner. Make someone else an owner first."))
    organiser = membership.organiser
    audit.record(session, actor, "team.remove", organisation_id=membership.organisation_id,
                 member=organiser.id, role=membership.role.value)
    organiser.memberships.remove(membership)
    session.flush()
    if is_pending(organiser) and not organiser.memberships and not organiser.is_admin:
        # The audit log names accounts by a plain id (see AuditEntry.organiser_id):
        # forget this one there, so that no later account can inherit its entries.
        session.execute(sa.update(AuditEntry).where(AuditEntry.organiser_id == organiser.id)
                        .values(organiser_id=None))
        session.delete(organiser)
        session.flush()


# --- The audit log, for reading ------------------------------------------------------------

# Labels for the actions the workspace writes; anything else is shown as written.
AUDIT_ACTIONS = {
    "account.create": _l("Account created"),
    "account.setup": _l("Account set up"),
    "account.reset": _l("Password and two-factor reset with a setup link"),
    "account.login": _l("Logged in"),
    "account.login_failed": _l("Failed login attempt"),
    "account.logout_everywhere": _l("Logged out everywhere"),
    "account.password_change": _l("Password changed"),
    "two_factor.enable": _l("Two-factor turned on"),
    "two_factor.reset": _l("Two-factor reset"),
    "two_factor.recovery_code_used": _l("Recovery code used"),
    "two_factor.recovery_codes_replaced": _l("New recovery codes made"),
    "team.invite": _l("Invited to the team"),
    "organisation.profile": _l("Public organisation page changed"),
    "team.invite_resend": _l("Invitation sent again"),
    "team.reset_link": _l("Reset link sent"),
    "team.role_change": _l("Role changed"),
    "team.remove": _l("Removed from the team"),
    "campaign.create": _l("Campaign created"),
    "campaign.edit": _l("Campaign edited"),
    "campaign.publish": _l("Campaign published"),
    "campaign.close": _l("Campaign closed"),
    "campaign.reopen": _l("Campaign reopened"),
    "campaign.archive": _l("Campaign archived"),
    "signature.invalidate": _l("Signature invalidated"),
    "signature.restore": _l("Signature restored"),
    "signature.bulk_invalidate": _l("Signatures invalidated in bulk"),
    "signature.release_held": _l("Held signatures released"),
    "export.csv": _l("Signers exported (CSV)"),
    "export.xlsx": _l("Signers exported (XLSX)"),
    "update.create": _l("Update drafted"),
    "update.edit": _l("Update edited"),
    "update.delete": _l("Update deleted"),
    "update.test_send": _l("Test update sent"),
    "update.send": _l("Update sent"),
    "update.sent": _l("Update delivered to the outbox"),
    "retention.anonymise": _l("Signatures anonymised"),
    "signature.erase": _l("Signer's data erased on request"),
}

AUDIT_DETAIL_KEYS = {
    "member": _l("Member"),
    "role": _l("Role"),
    "from": _l("From"),
    "to": _l("To"),
    "count": _l("Count"),
    "remaining": _l("Recovery codes left"),
    "step": _l("Step"),
    "two_factor": _l("Two-factor"),
    "reason": _l("Reason"),
    "signatures": _l("Signatures"),
    "signatories": _l("Signatories"),
    "rows": _l("Rows"),
    "recipients": _l("Recipients"),
    "fields": _l("Fields"),
}


def audit_entries(
    session: Session, viewer: Organiser, organisation_id: int | None, *, before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """What ``viewer`` may read: an organisation's entries plus the account events of
    its members; ``organisation_id=None`` (administrators only) is the whole site."""
    if organisation_id is None:
        if not viewer.is_admin:
            raise access.PermissionDenied(Permission.read_audit.value)
        return audit.entries_for(session, None, before_id=before_id, limit=limit)
    access.require(viewer, Permission.read_audit, organisation_id)
    member_ids = list(session.scalars(
        sa.select(Membership.organiser_id).where(Membership.organisation_id == organisation_id)
    ))
    return audit.entries_for(session, organisation_id, before_id=before_id, limit=limit,
                             account_events_of=member_ids)


# --- The public profile of an organisation ------------------------------------------------------

@dataclass(frozen=True)
class ProfileText:
    name: str = ""
    description: str = ""
    privacy: str = ""


def public_organisation(session: Session, key: str) -> Organisation | None:
    """The organisation at /<lang>/org/<key>: its slug, or its id while it has none."""
    organisation = session.scalar(sa.select(Organisation).where(Organisation.slug == key))
    if organisation is None and key.isdigit() and len(key) < 10:
        organisation = session.get(Organisation, int(key))
        if organisation is not None and organisation.slug:
            return None  # one address per organisation once it has chosen one
    return organisation


def update_profile(session: Session, actor: Organiser, organisation: Organisation, *, slug: str | None,
                   contact_email: str, website: str, texts: dict[str, ProfileText]) -> None:
    """Change what /<lang>/org/<slug> shows. Only owners (and admins) may."""
    access.require(actor, Permission.edit_organisation, organisation.id)
    slug = (slug or "").strip() or None
    if slug is not None:
        taken = session.scalar(sa.select(Organisation.id).where(Organisation.slug == slug, Organisation.id != organisation.id))
        if taken is not None:
            raise AccountError(_l("Another organisation already uses this address."))
    organisation.slug = slug
    organisation.contact_email = contact_email.strip()
    organisation.website = website.strip()
    for lang, values in texts.items():
        text = organisation.text(lang)
        if text is None:
            text = OrganisationText(locale=lang)
            organisation.texts.append(text)
        text.name, text.description, text.privacy = values.name.strip(), values.description.strip(), values.privacy.strip()
    audit.record(session, actor, "organisation.profile", organisation_id=organisation.id)
    session.flush()
