"""Organiser accounts: passwords, TOTP and recovery codes, setup links, invitations,
roles, the audit log; then the same through the web (login in both languages, rate
limits, sessions) and the `flask users create` command."""
from __future__ import annotations

import datetime as dt
import re
import time
from urllib.parse import urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from campaign.organiser import services, totp
from campaign.organiser.access import PermissionDenied
from campaign.extensions import db
from campaign.organiser.models import AuditEntry, Membership, Organisation, Organiser, RecoveryCode, Role
from campaign.outbox.models import OutboxMessage
from campaign.privacy.keys import utcnow
from tests.fixtures.mail import body_text, link_in
from tests.fixtures.organisers import PASSWORD, code_at, web_login
from tests.fixtures.web import csrf_token, new_client, post_form


@pytest.fixture
def client(app):
    return new_client(app)


def reread(session, model, ident):
    """The row as the requests left it: end the test's transaction, read again."""
    session.rollback()
    return session.get(model, ident)


def reread_all(session):
    session.rollback()
    return session


def actions(session) -> list[str]:
    return [e.action for e in session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


def org_id(organiser: Organiser) -> int:
    return organiser.memberships[0].organisation_id


ARABIC = re.compile(r"[\u0600-\u06FF]")


def t(lang: str, msgid: str, **values) -> str:
    """``msgid`` as the app shows it in ``lang`` (the Arabic must exist)."""
    from flask_babel import force_locale, gettext

    # Within the test's app context only: a request context would end db.session.
    with force_locale(lang):
        text = gettext(msgid, **values)
    assert lang != "ar" or ARABIC.search(text), f"no Arabic for {msgid!r}"
    return text


# --- Passwords ------------------------------------------------------------------------------

def test_password_is_hashed_with_argon2_and_verified(session, make_organiser):
    organiser = make_organiser("editor", two_factor=False)
    hashed = services.hash_password("a long enough passphrase")
    assert hashed.startswith("$argon2id$") and "passphrase" not in hashed
    organiser.password_hash = hashed
    assert services.check_password(organiser, "a long enough passphrase")
    assert not services.check_password(organiser, "a long enough passphrasE")
    assert not services.check_password(None, "anything")
    organiser.password_hash = "not a hash"
    assert not services.check_password(organiser, "anything")


def test_production_argon2_cost_is_argon2_cffis_default(tmp_path, monkeypatch):
    from campaign.config import from_environment

    monkeypatch.delenv("ARGON2_TIME_COST", raising=False)
    monkeypatch.delenv("ARGON2_MEMORY_COST", raising=False)
    config = from_environment(str(tmp_path))
    default = PasswordHasher()
    assert (config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"]) == (default.time_cost, default.memory_cost)


def test_weak_argon2_hash_is_upgraded_on_login(session, make_organiser):
    organiser = make_organiser("editor", two_factor=False)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    organiser.password_hash = weak
    session.commit()
    assert services.authenticate(session, organiser.email, PASSWORD) is not None
    session.commit()
    stored = session.get(Organiser, organiser.id).password_hash
    assert stored != weak
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,"), "the hash has the configured cost"
    assert services.check_password(session.get(Organiser, organiser.id), PASSWORD)


@pytest.mark.parametrize("password, ok", [
    ("short", False),
    ("elevenchars", False),
    ("aaaaaaaaaaaaaaaa", False),
    ("twelve chars", True),
    ("كلمة سر طويلة جدا", True),
])
def test_password_rules(app, password, ok):
    assert (services.password_problems(password) == []) is ok


def test_authenticate_is_case_blind_on_the_address_and_audits_failures(session, make_organiser):
    organiser = make_organiser("editor", email="layla@example.org", two_factor=False)
    assert services.authenticate(session, "  Layla@Example.ORG ", PASSWORD).id == organiser.id
    assert services.authenticate(session, "layla@example.org", "wrong password!") is None
    assert services.authenticate(session, "nobody@example.org", PASSWORD) is None
    failures = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "account.login_failed")).all()
    # One entry on the account that exists, and one naming no one for the unknown
    # address (written either way, so the answer's timing does not tell them apart).
    assert [(e.organiser_id, e.detail) for e in failures] == [(organiser.id, {"step": "password"}),
                                                              (None, {"step": "password"})]


def test_a_failed_login_costs_the_database_the_same_for_a_real_and_an_unknown_address(session, make_organiser):
    """The same statements, and nothing more for the database to check: the audit
    entry's foreign key to a real account made PostgreSQL check it, which timed a
    wrong password on a real address apart from an unknown one
    (tests/test_signer_privacy_timing.py measures it)."""
    make_organiser("editor", email="layla@example.org", two_factor=False)
    sent: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        services.authenticate(session, "layla@example.org", "wrong password!")
        session.flush()
        known = sent[:]
        sent.clear()
        services.authenticate(session, "nobody@example.org", "wrong password!")
        session.flush()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    assert known == sent and any("audit_entries" in statement for statement in sent)
    keys = sa.inspect(session.connection()).get_foreign_keys("audit_entries")
    assert not [key for key in keys if "organiser_id" in key["constrained_columns"]]


# --- TOTP --------------------------------------------------------------------------------------

def test_totp_code_is_accepted_once(session, make_organiser):
    organiser = make_organiser("owner")
    code = pyotp.TOTP(organiser.totp_secret).now()
    assert services.use_totp(session, organiser, code)
    assert not services.use_totp(session, organiser, code), "a replayed code must be refused"
    # The next step's code is still good (one step of clock drift allowed).
    assert services.use_totp(session, organiser, code_at(organiser.totp_secret, 1))
    # ...and now the current one is older than the last accepted step.
    assert not services.use_totp(session, organiser, pyotp.TOTP(organiser.totp_secret).now())


def test_totp_window_is_one_step_either_side(session, make_organiser):
    organiser = make_organiser("owner")
    secret = organiser.totp_secret
    now = 1_900_000_000.0
    at = lambda steps: pyotp.TOTP(secret).at(now + steps * 30)  # noqa: E731
    assert not services.use_totp(session, organiser, at(-2), now=now)
    assert not services.use_totp(session, organiser, at(2), now=now)
    assert services.use_totp(session, organiser, at(-1), now=now)
    assert services.use_totp(session, organiser, at(1), now=now)
    assert not services.use_totp(session, organiser, at(0), now=now), "older than the last step used"


def test_totp_code_forgives_spaces_and_arabic_digits(session, make_organiser):
    organiser = make_organiser("owner")
    code = pyotp.TOTP(organiser.totp_secret).now()
    arabic = code[:3].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) + " " + code[3:]
    assert services.use_totp(session, organiser, arabic)


def test_wrong_and_malformed_codes_are_refused(session, make_organiser):
    organiser = make_organiser("owner")
    for code in ("", "12345", "1234567", "abcdef", "٠٠٠٠٠٠" if pyotp.TOTP(organiser.totp_secret).now() != "000000"
                 else "111111"):
        assert not services.use_totp(session, organiser, code)
    editor = make_organiser("editor", two_factor=False)
    assert not services.use_totp(session, editor, "123456")


def test_a_code_in_other_digits_is_refused_not_a_500(client, make_organiser, login):
    """str.isdigit() is true of "⁴" and "४" too, which compare_digest cannot compare
    with the code: a 500 on the two-factor page. Found by tests/test_hostile_input.py."""
    organiser = make_organiser("owner")
    login(client, organiser)
    for code in ("⁰⁴⁵₀₁₂", "४४४४४४"):
        assert not totp.matching_step(organiser.totp_secret, code, last_step=None)
        assert post_form(client, "/en/manage/two-factor", {"code": code}).status_code == 422


def test_enabling_two_factor_needs_a_code_and_gives_ten_recovery_codes(session, make_organiser):
    organiser = make_organiser("editor", two_factor=False)
    secret = totp.new_secret()
    with pytest.raises(services.AccountError):
        services.enable_two_factor(session, organiser, secret, "000000" if pyotp.TOTP(secret).now() != "000000"
                                   else "111111")
    assert organiser.totp_secret is None
    code = pyotp.TOTP(secret).now()
    codes = services.enable_two_factor(session, organiser, secret, code)
    assert organiser.totp_secret == secret
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.organiser_id == organiser.id)).all()
    assert len(stored) == 10
    assert not set(codes) & set(stored), "recovery codes are stored only as hashes"
    # The code that turned it on cannot be used again to log in.
    # (the same code, not .now() again: a new 30 s step would give a fresh, valid code)
    assert not services.use_totp(session, organiser, code)
    assert "two_factor.enable" in actions(session)


def test_recovery_code_works_once_and_is_audited(session, make_organiser):
    organiser = make_organiser("editor", two_factor=False)
    secret = totp.new_secret()
    code = pyotp.TOTP(secret).now()
    codes = services.enable_two_factor(session, organiser, secret, code)
    typed = "  " + codes[0].upper().replace("-", " ") + " "
    assert services.check_second_factor(session, organiser, typed)
    assert not services.check_second_factor(session, organiser, codes[0]), "each recovery code works once"
    assert not services.check_second_factor(session, organiser, codes[1], recovery=False)
    assert services.recovery_codes_left(session, organiser) == 9
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "two_factor.recovery_code_used")).one()
    assert entry.detail == {"remaining": 9}
    # New codes replace the old ones.
    fresh = services.replace_recovery_codes(session, organiser)
    assert not services.check_second_factor(session, organiser, codes[2])
    assert services.check_second_factor(session, organiser, fresh[0])


def test_qr_code_is_inline_svg_of_the_provisioning_uri(app):
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "layla@example.org")
    assert uri.startswith("otpauth://totp/Sawt:layla%40example.org?secret=" + secret)
    svg = totp.qr_svg(uri, "QR")
    assert svg.startswith("<svg") and "<script" not in svg and "http" not in svg.replace("http://www.w3.org", "")
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"


# --- Setup links ---------------------------------------------------------------------------------

def test_create_account_stores_only_a_hash_of_the_setup_token(session):
    organiser, token = services.create_account(session, "New@Example.org", role="owner",
                                               organisation_name="Beirut Watch")
    session.commit()
    assert organiser.email == "new@example.org"
    assert organiser.password_hash is None
    assert organiser.setup_token_hash and token not in organiser.setup_token_hash
    assert organiser.memberships[0].role == Role.owner
    assert session.scalar(sa.select(Organisation.name)) == "Beirut Watch"
    assert services.organiser_for_setup(session, token).id == organiser.id
    assert organiser.setup_expires_at - utcnow() > dt.timedelta(hours=47)


def test_setup_token_expires(app, session):
    organiser, token = services.create_account(session, "new@example.org", role="editor",
                                               organisation_name="Beirut Watch")
    organiser.setup_expires_at = utcnow() - dt.timedelta(seconds=1)
    with pytest.raises(services.SetupLinkError) as exc:
        services.organiser_for_setup(session, token)
    assert exc.value.problem == services.SetupProblem.expired
    with pytest.raises(services.SetupLinkError) as exc:
        services.organiser_for_setup(session, "not-a-token")
    assert exc.value.problem == services.SetupProblem.invalid


def test_setup_token_is_single_use_and_a_new_one_replaces_the_old(session):
    organiser, first = services.create_account(session, "new@example.org", role="editor",
                                               organisation_name="Beirut Watch")
    second = services.issue_setup_token(session, organiser)
    with pytest.raises(services.SetupLinkError):
        services.organiser_for_setup(session, first)
    with pytest.raises(services.AccountError):
        services.complete_setup(session, second, name="Layla", password="too short")
    services.complete_setup(session, second, name=" Layla ", password="a good long passphrase")
    session.commit()
    organiser = session.get(Organiser, organiser.id)
    assert organiser.name == "Layla" and services.check_password(organiser, "a good long passphrase")
    with pytest.raises(services.SetupLinkError):
        services.complete_setup(session, second, name="Mallory", password="another long passphrase")
    assert actions(session)[-1] == "account.setup"


def test_setup_link_on_an_existing_account_resets_password_and_two_factor(session, make_organiser):
    organiser = make_organiser("owner")
    services.replace_recovery_codes(session, organiser)
    generation = organiser.session_generation
    _, token = services.create_account(session, organiser.email, role="owner", organisation_name="Cairo Rights Group")
    services.complete_setup(session, token, name="Layla", password="a brand new passphrase")
    session.commit()
    organiser = session.get(Organiser, organiser.id)
    assert organiser.totp_secret is None and organiser.totp_last_step is None
    assert services.recovery_codes_left(session, organiser) == 0
    assert organiser.session_generation == generation + 1
    assert {"two_factor.reset", "account.reset"} <= set(actions(session))


def test_create_account_refuses_bad_input(session):
    with pytest.raises(services.AccountError):
        services.create_account(session, "not an address", role="owner", organisation_name="X")
    with pytest.raises(services.AccountError):
        services.create_account(session, "a@example.org", role="boss", organisation_name="X")
    with pytest.raises(services.AccountError):
        services.create_account(session, "a@example.org", role="editor", organisation_name="  ")
    admin, _ = services.create_account(session, "admin@example.org", role="admin")
    assert admin.is_admin and admin.memberships == []


# --- The team --------------------------------------------------------------------------------------

def test_invitation_creates_a_pending_member_and_mails_a_setup_link_in_the_chosen_language(
    session, make_organiser, deliver
):
    owner = make_organiser("owner", name="Nour")
    membership = services.invite(session, owner, owner.memberships[0].organisation, "Sami@Example.org", "editor",
                                 locale="ar")
    session.commit()
    invited = membership.organiser
    assert invited.email == "sami@example.org" and services.is_pending(invited) and invited.locale == "ar"
    assert membership.role == Role.editor
    invited_id, organisation_id = invited.id, org_id(owner)
    [message] = deliver()  # the worker ends db.session: read again by id below
    assert message["To"] == "sami@example.org"
    text = body_text(message)
    assert "Nour" in text and "Cairo Rights Group" in text and t("ar", "Editor") in text
    link = link_in(message, "/ar/manage/setup/")
    assert services.organiser_for_setup(session, link.rsplit("/", 1)[1]).id == invited_id
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "team.invite")).one()
    assert entry.organisation_id == organisation_id and entry.detail == {"member": invited_id, "role": "editor"}
    assert "sami" not in str(entry.detail)


def test_inviting_someone_with_an_account_adds_them_and_sends_a_note(session, make_organiser, deliver):
    owner = make_organiser("owner", "Group A")
    other = make_organiser("owner", "Group B", email="other@example.org")
    secret_before = other.totp_secret
    services.invite(session, owner, owner.memberships[0].organisation, "OTHER@example.org", "owner", locale="en")
    session.commit()
    other = session.get(Organiser, other.id)
    assert {m.organisation.name for m in other.memberships} == {"Group A", "Group B"}
    assert other.setup_token_hash is None and other.totp_secret == secret_before
    owner_id = owner.id
    [message] = deliver()
    assert "/en/manage/login" in body_text(message) and "setup" not in body_text(message)
    owner = session.get(Organiser, owner_id)
    with pytest.raises(services.AccountError):
        services.invite(session, owner, owner.memberships[0].organisation, "other@example.org", "editor", locale="en")


def test_only_owners_invite_and_only_owner_or_editor_roles(session, make_organiser):
    owner = make_organiser("owner", "Group A")
    editor = make_organiser("editor", "Group A")
    organisation = owner.memberships[0].organisation
    with pytest.raises(PermissionDenied):
        services.invite(session, editor, organisation, "x@example.org", "editor", locale="en")
    with pytest.raises(services.AccountError):
        services.invite(session, owner, organisation, "x@example.org", "admin", locale="en")
    outsider = make_organiser("owner", "Group B")
    with pytest.raises(PermissionDenied):
        services.invite(session, outsider, organisation, "x@example.org", "editor", locale="en")


def test_last_owner_cannot_be_demoted_or_removed(session, make_organiser):
    owner = make_organiser("owner", "Group A")
    mine = owner.memberships[0]
    with pytest.raises(services.AccountError):
        services.change_role(session, owner, mine, "editor")
    with pytest.raises(services.AccountError):
        services.remove_member(session, owner, mine)
    # A pending invitation as owner does not count: it cannot log in yet.
    services.invite(session, owner, mine.organisation, "pending@example.org", "owner", locale="en")
    with pytest.raises(services.AccountError):
        services.change_role(session, owner, mine, "editor")
    second = make_organiser("owner", "Group A")
    services.change_role(session, owner, mine, "editor")
    session.commit()
    assert session.get(Membership, mine.id).role == Role.editor
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "team.role_change")).one()
    assert entry.detail == {"member": owner.id, "from": "owner", "to": "editor"}
    # Now the second owner is the last one.
    with pytest.raises(services.AccountError):
        services.remove_member(session, second, second.memberships[0])


def test_removing_members(session, make_organiser):
    owner = make_organiser("owner", "Group A")
    editor = make_organiser("editor", "Group A")
    organisation = owner.memberships[0].organisation
    pending = services.invite(session, owner, organisation, "pending@example.org", "editor", locale="en")
    pending_id = pending.organiser_id
    assert services.authenticate(session, "pending@example.org", "a guess at a password") is None
    services.remove_member(session, owner, pending)
    services.remove_member(session, owner, editor.memberships[0])
    session.commit()
    assert session.get(Organiser, pending_id) is None, "an unused invitation goes with its account"
    # The audit log names accounts by a plain id: the one gone is named no more, so
    # that no later account (SQLite may give it the same id) inherits its entries.
    assert session.scalars(sa.select(AuditEntry).where(AuditEntry.organiser_id == pending_id)).all() == []
    assert session.get(Organiser, editor.id).memberships == []
    assert actions(session).count("team.remove") == 2


def test_reset_link_is_mailed_and_resend_gives_a_new_invitation(session, make_organiser, deliver):
    owner = make_organiser("owner", "Group A")
    editor = make_organiser("editor", "Group A")
    organisation = owner.memberships[0].organisation
    services.send_reset_link(session, owner, editor.memberships[0], locale="en")
    pending = services.invite(session, owner, organisation, "p@example.org", "editor", locale="en")
    session.commit()
    owner_id, pending_id, editor_membership_id = owner.id, pending.id, editor.memberships[0].id
    first_link = link_in(deliver()[-1], "/manage/setup/")
    owner = session.get(Organiser, owner_id)
    services.resend_invitation(session, owner, session.get(Membership, pending_id), locale="ar")
    with pytest.raises(services.AccountError):
        services.resend_invitation(session, owner, session.get(Membership, editor_membership_id), locale="en")
    session.commit()
    second_link = link_in(deliver()[-1], "/ar/manage/setup/")
    with pytest.raises(services.SetupLinkError):
        services.organiser_for_setup(session, first_link.rsplit("/", 1)[1])
    assert services.organiser_for_setup(session, second_link.rsplit("/", 1)[1]).email == "p@example.org"
    assert {"team.reset_link", "team.invite_resend"} <= set(actions(session))


def test_owner_reads_their_organisation_and_their_members_account_events(session, make_organiser):
    owner_a = make_organiser("owner", "Group A")
    owner_b = make_organiser("owner", "Group B")
    admin = make_organiser("admin")
    services.record_login(session, owner_a, two_factor=True)
    services.record_login(session, owner_b, two_factor=True)
    services.invite(session, owner_b, owner_b.memberships[0].organisation, "x@example.org", "editor", locale="en")
    session.commit()
    seen_by_a = services.audit_entries(session, owner_a, org_id(owner_a))
    assert [(e.action, e.organiser_id) for e in seen_by_a] == [("account.login", owner_a.id)]
    with pytest.raises(PermissionDenied):
        services.audit_entries(session, owner_a, org_id(owner_b))
    with pytest.raises(PermissionDenied):
        services.audit_entries(session, owner_a, None)
    assert len(services.audit_entries(session, admin, None)) == 3
    editor = make_organiser("editor", "Group A")
    with pytest.raises(PermissionDenied):
        services.audit_entries(session, editor, org_id(editor))


def test_password_change_and_logout_everywhere_are_audited(session, make_organiser):
    organiser = make_organiser("editor")
    generation = organiser.session_generation
    with pytest.raises(services.AccountError):
        services.change_password(session, organiser, current="wrong", new="a new long passphrase")
    with pytest.raises(services.AccountError):
        services.change_password(session, organiser, current=PASSWORD, new="short")
    reset_link = services.issue_setup_token(session, organiser)
    services.change_password(session, organiser, current=PASSWORD, new="a new long passphrase")
    with pytest.raises(services.SetupLinkError):
        services.organiser_for_setup(session, reset_link)
    services.log_out_everywhere(session, organiser)
    assert organiser.session_generation == generation + 2
    assert actions(session) == ["account.password_change", "account.logout_everywhere"]


# --- Through the web ---------------------------------------------------------------------------------

def test_workspace_requires_login(client):
    response = client.get("/en/manage/")
    assert response.status_code == 302
    assert response.location == "/en/manage/login?next=/en/manage/"
    page = client.get(response.location)
    assert page.status_code == 200
    assert 'name="next" type="hidden" value="/en/manage/"' in page.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_login_with_two_factor_in_both_languages(client, session, make_organiser, lang):
    title = t(lang, "Log in to the workspace")
    error = t(lang, "The e-mail address or the password is not right.")
    owner = make_organiser("owner")
    page = client.get(f"/{lang}/manage/login")
    assert title in page.get_data(as_text=True)

    wrong = web_login(client, owner, lang=lang, password="not the password")
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert error in html
    assert f'value="{owner.email}"' in html, "the address typed is kept"
    assert "not the password" not in html, "a password is never echoed back"
    unknown = post_form(client, f"/{lang}/manage/login", {"email": "nobody@example.org", "password": PASSWORD})
    assert unknown.status_code == 422 and error in unknown.get_data(as_text=True)

    step = post_form(client, f"/{lang}/manage/login", {"email": owner.email, "password": PASSWORD})
    assert step.status_code == 303 and step.location == f"/{lang}/manage/login/code"
    assert client.get(f"/{lang}/manage/").status_code == 302, "the password alone does not log in"
    bad = post_form(client, f"/{lang}/manage/login/code", {"code": "12345x"})
    assert bad.status_code == 422
    done = post_form(client, f"/{lang}/manage/login/code", {"code": pyotp.TOTP(owner.totp_secret).now()})
    assert done.status_code == 303 and done.location == f"/{lang}/manage/"
    assert client.get(f"/{lang}/manage/").status_code == 200
    owner = reread(session, Organiser, owner.id)
    assert owner.last_login_at is not None
    assert actions(reread_all(session))[-1] == "account.login"


def test_expired_login_form_is_shown_again_with_the_address(client, make_organiser):
    editor = make_organiser("editor", two_factor=False)
    response = client.post("/en/manage/login", data={"email": editor.email, "password": PASSWORD,
                                                     "csrf_token": "stale"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Your form expired" in html and f'value="{editor.email}"' in html and PASSWORD not in html
    assert web_login(client, editor).status_code == 303


def test_replayed_code_is_refused_at_login(client, make_organiser):
    owner = make_organiser("owner")
    code = pyotp.TOTP(owner.totp_secret).now()
    assert web_login(client, owner, code=code).status_code == 303
    post_form(client, "/en/manage/logout", {}, form_url="/en/manage/")
    again = web_login(client, owner, code=code)
    assert again.status_code == 422
    assert "That code did not work" in again.get_data(as_text=True)


def test_recovery_code_logs_in_once(client, session, make_organiser):
    owner = make_organiser("owner")
    codes = services.replace_recovery_codes(session, owner)
    session.commit()
    response = web_login(client, owner, code=codes[3])
    assert response.status_code == 303
    home = client.get("/en/manage/").get_data(as_text=True)
    assert "Recovery codes left: 9" in home
    client.post("/en/manage/logout", data={"csrf_token": csrf_token(client, "/en/manage/")})
    assert web_login(client, owner, code=codes[3]).status_code == 422


def test_editor_without_two_factor_logs_in_with_the_password(client, make_organiser):
    editor = make_organiser("editor", two_factor=False)
    response = web_login(client, editor, lang="ar")
    assert response.status_code == 303 and response.location == "/ar/manage/"
    assert client.get("/ar/manage/").status_code == 200


def test_owner_without_two_factor_must_set_it_up_first(client, session, make_organiser):
    owner = make_organiser("owner", two_factor=False)
    response = web_login(client, owner)
    assert response.status_code == 303
    for path in ("/en/manage/", "/en/manage/team", "/en/manage/audit", "/en/manage/account"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked.location.startswith("/en/manage/two-factor?next="), path
    page = client.get("/en/manage/two-factor").get_data(as_text=True)
    assert "<svg" in page and "Owners must use two-factor" in page and "Not now" not in page
    secret = re.search(r'id="totp-secret" dir="ltr">([^<]+)<', page).group(1).replace(" ", "")
    done = post_form(client, "/en/manage/two-factor", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    assert len(re.findall(r"<li><code>[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}</code></li>", done.get_data(as_text=True))) == 10
    assert client.get("/en/manage/").status_code == 200
    assert reread(session, Organiser, owner.id).totp_secret == secret


@pytest.mark.parametrize("next_url, lands", [
    ("/en/manage/account", "/en/manage/account"),
    ("//evil.example/x", "/en/manage/"),
    ("https://evil.example/", "/en/manage/"),
    ("/\\evil.example", "/en/manage/"),
    ("javascript:alert(1)", "/en/manage/"),
])
def test_next_is_honoured_only_for_same_site_paths(client, make_organiser, next_url, lands):
    editor = make_organiser("editor", two_factor=False)
    response = web_login(client, editor, next_url=next_url)
    assert response.status_code == 303
    assert response.location == lands


def test_next_survives_the_code_step(client, make_organiser):
    owner = make_organiser("owner")
    response = web_login(client, owner, next_url="/en/manage/audit")
    assert response.location == "/en/manage/audit"


def test_login_is_rate_limited_per_address_with_a_clear_message(make_app, make_organiser):
    from campaign.extensions import limiter

    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute", RATELIMIT_LOGIN_ACCOUNT="50 per hour")
    with app.app_context():
        limiter.reset()
        editor = make_organiser("editor", two_factor=False)
        client = new_client(app)
        for _ in range(3):
            assert web_login(client, editor, password="wrong password").status_code == 422
        refused = web_login(client, editor)
        assert refused.status_code == 429
        html = refused.get_data(as_text=True)
        assert "Too many login attempts" in html and f'value="{editor.email}"' in html
        arabic = post_form(client, "/ar/manage/login", {"email": editor.email, "password": PASSWORD})
        assert arabic.status_code == 429
        assert t("ar", "Too many login attempts") in arabic.get_data(as_text=True)
        # Another connection is not affected.
        other = new_client(app)
        other.environ_base["REMOTE_ADDR"] = "192.0.2.9"
        assert web_login(other, editor).status_code == 303


def test_failed_logins_lock_the_account_from_any_address(make_app, make_organiser):
    from campaign.extensions import limiter

    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="100 per minute", RATELIMIT_LOGIN_ACCOUNT="3 per hour")
    with app.app_context():
        limiter.reset()
        owner = make_organiser("owner")
        other = make_organiser("owner", email="other@example.org")
        for i in range(3):
            client = new_client(app)
            client.environ_base["REMOTE_ADDR"] = f"192.0.2.{i + 1}"
            assert web_login(client, owner, password="wrong password").status_code == 422
        client = new_client(app)
        client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
        assert web_login(client, owner).status_code == 429
        # Successful logins do not use up the allowance; other accounts are untouched.
        assert web_login(client, other).status_code == 303
        assert web_login(new_client(app), other, code=code_at(other.totp_secret, 1)).status_code == 303


def test_wrong_codes_count_towards_the_account_limit(make_app, make_organiser):
    from campaign.extensions import limiter

    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="100 per minute", RATELIMIT_LOGIN_ACCOUNT="2 per hour")
    with app.app_context():
        limiter.reset()
        owner = make_organiser("owner")
        client = new_client(app)
        assert web_login(client, owner, code="000000" if code_at(owner.totp_secret) != "000000" else "111111"
                         ).status_code == 422
        assert post_form(client, "/en/manage/login/code", {"code": "999999"}, form_url="/en/manage/login/code"
                         ).status_code in (422, 429)
        refused = post_form(client, "/en/manage/login/code", {"code": code_at(owner.totp_secret)},
                            form_url="/en/manage/login/code")
        assert refused.status_code == 429
        assert "Too many login attempts" in refused.get_data(as_text=True)


@pytest.fixture
def limited_owner(make_app, make_organiser, login):
    """(owner, client): an owner logged in on an app that allows two failed attempts
    per account and hour."""
    from campaign.extensions import limiter

    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN_ACCOUNT="2 per hour")
    with app.app_context():
        limiter.reset()
        owner = make_organiser("owner")
        client = new_client(app)
        login(client, owner)
        yield owner, client


def test_wrong_codes_on_the_two_factor_page_count_too(limited_owner):
    owner, client = limited_owner
    for _ in range(2):
        assert post_form(client, "/en/manage/two-factor", {"code": "abcdef"}).status_code == 422
    failed = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "account.login_failed")).all()
    assert [e.detail for e in failed] == [{"step": "recovery_codes"}] * 2
    refused = post_form(client, "/en/manage/two-factor", {"code": code_at(owner.totp_secret)})
    assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)
    assert client.get("/en/manage/two-factor").status_code == 200, "the page itself still opens"


def _age_session(client, **seconds_ago):
    with client.session_transaction() as s:
        for key, ago in seconds_ago.items():
            s[key] = int(time.time()) - ago


def test_session_expires_when_idle(client, make_organiser, login):
    editor = make_organiser("editor")
    login(client, editor)
    _age_session(client, seen_at=29 * 60)
    assert client.get("/en/manage/").status_code == 200, "activity keeps the session alive"
    _age_session(client, seen_at=31 * 60)
    response = client.get("/en/manage/")
    assert response.status_code == 302 and response.location.startswith("/en/manage/login")
    with client.session_transaction() as s:
        assert "organiser_id" not in s


def test_session_expires_after_its_absolute_lifetime(client, make_organiser, login):
    editor = make_organiser("editor")
    login(client, editor)
    _age_session(client, auth_at=11 * 3600)
    assert client.get("/en/manage/").status_code == 200
    _age_session(client, auth_at=12 * 3600 + 60)
    assert client.get("/en/manage/").status_code == 302


def test_session_ends_when_the_generation_moves_or_the_account_is_disabled(client, session, make_organiser, login):
    editor = make_organiser("editor")
    login(client, editor)
    assert client.get("/en/manage/").status_code == 200
    editor.session_generation += 1
    session.commit()
    assert client.get("/en/manage/").status_code == 302
    login(client, reread(session, Organiser, editor.id))
    assert client.get("/en/manage/").status_code == 200
    editor = reread(session, Organiser, editor.id)
    editor.active = False
    session.commit()
    assert client.get("/en/manage/").status_code == 302


def test_password_change_ends_other_sessions_but_not_this_one(app, session, make_organiser, login):
    editor = make_organiser("editor")
    here, elsewhere = new_client(app), new_client(app)
    login(here, editor)
    login(elsewhere, editor)
    wrong = post_form(here, "/en/manage/account",
                      {"current": "wrong", "password": "a new long passphrase", "confirm": "a new long passphrase"})
    assert wrong.status_code == 422 and "Your current password is not right." in wrong.get_data(as_text=True)
    mismatch = post_form(here, "/ar/manage/account",
                         {"current": PASSWORD, "password": "a new long passphrase", "confirm": "different"})
    assert mismatch.status_code == 422
    assert t("ar", "The two passwords are not the same.") in mismatch.get_data(as_text=True)
    done = post_form(here, "/en/manage/account",
                     {"current": PASSWORD, "password": "a new long passphrase", "confirm": "a new long passphrase"})
    assert done.status_code == 303
    assert here.get("/en/manage/").status_code == 200
    assert elsewhere.get("/en/manage/").status_code == 302
    assert "account.password_change" in actions(reread_all(session))


def test_logout_needs_post_and_csrf(client, make_organiser, login):
    editor = make_organiser("editor")
    login(client, editor)
    assert client.get("/en/manage/logout").status_code == 405
    assert client.post("/en/manage/logout").status_code == 400
    assert client.get("/en/manage/").status_code == 200
    response = post_form(client, "/en/manage/logout", {}, form_url="/en/manage/")
    assert response.status_code == 303 and response.location == "/en/manage/login"
    assert client.get("/en/manage/").status_code == 302


def test_logout_everywhere(app, session, make_organiser, login):
    editor = make_organiser("editor")
    here, elsewhere = new_client(app), new_client(app)
    login(here, editor)
    login(elsewhere, editor)
    response = post_form(here, "/en/manage/logout-everywhere", {}, form_url="/en/manage/account")
    assert response.status_code == 303
    assert here.get("/en/manage/").status_code == 302
    assert elsewhere.get("/en/manage/").status_code == 302
    assert "account.logout_everywhere" in actions(reread_all(session))


def test_reauth_marks_two_factor_fresh_and_returns_to_next(client, make_organiser, login):
    owner = make_organiser("owner")
    login(client, owner, fresh_two_factor=False)
    page = client.get("/en/manage/reauth?next=/en/manage/audit")
    assert page.status_code == 200 and 'value="/en/manage/audit"' in page.get_data(as_text=True)
    wrong = post_form(client, "/en/manage/reauth", {"code": "000000" if code_at(owner.totp_secret) != "000000"
                                                    else "111111", "next": "/en/manage/audit"},
                      form_url="/en/manage/reauth")
    assert wrong.status_code == 422
    response = post_form(client, "/en/manage/reauth",
                         {"code": pyotp.TOTP(owner.totp_secret).now(), "next": "/en/manage/audit"},
                         form_url="/en/manage/reauth")
    assert response.status_code == 303 and response.location == "/en/manage/audit"
    with client.session_transaction() as s:
        assert time.time() - s["two_factor_at"] < 5
    evil = post_form(client, "/en/manage/reauth",
                     {"code": code_at(owner.totp_secret, 1), "next": "https://evil.example/"},
                     form_url="/en/manage/reauth")
    assert evil.location == "/en/manage/"


def test_setup_page_sets_password_then_leads_to_two_factor(client, session):
    organiser, token = services.create_account(session, "new@example.org", role="editor",
                                               organisation_name="Beirut Watch")
    session.commit()
    url = f"/ar/manage/setup/{token}"
    page = client.get(url)
    assert page.status_code == 200 and "new@example.org" in page.get_data(as_text=True)
    short = post_form(client, url, {"name": "Layla", "password": "short", "confirm": "short"})
    assert short.status_code == 422
    html = short.get_data(as_text=True)
    assert 'value="Layla"' in html and 'value="short"' not in html
    assert "12" in html
    long_name = post_form(client, url, {"name": "x" * 5000, "password": "a good long passphrase",
                                        "confirm": "a good long passphrase"})
    assert long_name.status_code == 422
    done = post_form(client, url, {"name": "ليلى", "password": "a good long passphrase",
                                   "confirm": "a good long passphrase"})
    assert done.status_code == 303 and done.location == "/ar/manage/two-factor"
    optional = client.get("/ar/manage/two-factor").get_data(as_text=True)
    assert "<svg" in optional and t("ar", "Not now") in optional, "editors may skip two-factor"
    assert client.get("/ar/manage/").status_code == 200
    assert client.get(url).status_code == 404, "the link works once"


def test_setup_page_for_expired_and_unknown_links(client, session):
    organiser, token = services.create_account(session, "new@example.org", role="editor",
                                               organisation_name="Beirut Watch")
    organiser.setup_expires_at = utcnow() - dt.timedelta(minutes=1)
    session.commit()
    expired = client.get(f"/en/manage/setup/{token}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert client.get("/en/manage/setup/nonsense").status_code == 404
    assert client.post("/en/manage/setup/nonsense", data={}).status_code in (400, 404)


def test_team_page_invites_lists_and_changes_roles(client, session, make_organiser, deliver, login):
    owner = make_organiser("owner", "Group A", name="Nour")
    editor = make_organiser("editor", "Group A", name="Sami")
    editor_id = editor.id
    login(client, owner)
    index = client.get("/ar/manage/team")
    assert index.status_code == 302
    team_url = index.location
    page = client.get(team_url).get_data(as_text=True)
    assert "Nour" in page and "Sami" in page

    bad = post_form(client, f"{team_url}/invite", {"email": "not an address", "role": "editor", "language": "en"},
                    form_url=team_url)
    assert bad.status_code == 422 and 'value="not an address"' in bad.get_data(as_text=True)
    odd_role = post_form(client, f"{team_url}/invite", {"email": "x@example.org", "role": "admin",
                                                        "language": "en"}, form_url=team_url)
    assert odd_role.status_code == 422
    sent = post_form(client, f"{team_url}/invite", {"email": "Rania@Example.org", "role": "owner", "language": "en"},
                     form_url=team_url)
    assert sent.status_code == 303
    [message] = deliver()
    assert message["Subject"] == "You are invited to Group A on Sawt"
    assert "/en/manage/setup/" in body_text(message)
    page = client.get(team_url).get_data(as_text=True)
    assert "rania@example.org" in page and t("ar", "Invited, not set up yet") in page

    again = post_form(client, f"{team_url}/invite", {"email": "rania@example.org", "role": "editor",
                                                     "language": "ar"}, form_url=team_url)
    assert again.status_code == 422

    editor_membership = reread(session, Organiser, editor_id).memberships[0]
    changed = post_form(client, f"{team_url}/members/{editor_membership.id}/role", {"role": "owner"},
                        form_url=team_url)
    assert changed.status_code == 303
    assert reread(session, Membership, editor_membership.id).role == Role.owner
    bogus = post_form(client, f"{team_url}/members/{editor_membership.id}/role", {"role": "god"}, form_url=team_url)
    assert bogus.status_code == 303
    assert reread(session, Membership, editor_membership.id).role == Role.owner
    assert post_form(client, f"{team_url}/members/999999/remove", {}, form_url=team_url).status_code == 404


def test_team_page_refuses_removing_the_last_owner_and_outsiders(app, client, session, make_organiser, login):
    owner = make_organiser("owner", "Group A")
    editor = make_organiser("editor", "Group A")
    outsider = make_organiser("owner", "Group B")
    team_url = f"/en/manage/team/{org_id(owner)}"
    login(client, owner)
    mine = owner.memberships[0].id
    response = post_form(client, f"{team_url}/members/{mine}/remove", {}, form_url=team_url)
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "An organisation needs at least one owner" in page
    assert reread(session, Membership, mine) is not None

    other = new_client(app)
    login(other, outsider)
    assert other.get(team_url).status_code == 403
    assert post_form(other, f"{team_url}/members/{mine}/remove", {},
                     form_url=f"/en/manage/team/{org_id(outsider)}").status_code == 403
    login(other, editor)
    assert other.get("/en/manage/team").status_code == 403
    assert other.get(team_url).status_code == 403
    assert other.get("/en/manage/team/notanumber").status_code == 404


def test_audit_page_in_both_languages(app, client, session, make_organiser, make_campaign, login):
    owner = make_organiser("owner", "Group A", name="Nour")
    other = make_organiser("owner", "Group B", name="Karim")
    campaign = make_campaign(organisation_id=org_id(owner), slug="free-them")
    from campaign.organiser import audit

    audit.record(session, owner, "campaign.publish", campaign=campaign)
    audit.record(session, owner, "something.new", organisation_id=org_id(owner), count=3)
    services.invite(session, owner, owner.memberships[0].organisation, "x@example.org", "editor", locale="en")
    audit.record(session, other, "campaign.publish", organisation_id=org_id(other))
    session.commit()
    login(client, owner)
    en = client.get("/en/manage/audit").get_data(as_text=True)
    assert "Campaign published" in en and "Set them free" in en and "Invited to the team" in en
    assert "something.new" in en and "Karim" not in en
    ar = client.get("/ar/manage/audit").get_data(as_text=True)
    assert t("ar", "Campaign published") in ar and "أطلقوا سراحهم" in ar
    assert client.get("/en/manage/audit?organisation=abc&before=xyz").status_code == 200
    assert client.get(f"/en/manage/audit?organisation={org_id(other)}").status_code == 403

    admin = make_organiser("admin")
    login(client, admin)
    everything = client.get("/en/manage/audit").get_data(as_text=True)
    assert "Karim" in everything and "Nour" in everything
    editor = make_organiser("editor", "Group A")
    login(client, editor)
    assert client.get("/en/manage/audit").status_code == 403


def test_audit_page_pages_back(client, session, make_organiser, login):
    from campaign.organiser import audit

    owner = make_organiser("owner", "Group A")
    for i in range(105):
        audit.record(session, owner, "campaign.edit", organisation_id=org_id(owner), fields=[f"f{i}"])
    session.commit()
    login(client, owner)
    first = client.get("/en/manage/audit").get_data(as_text=True)
    assert "f104" in first and "f4<" not in first
    older = re.search(r'href="([^"]*before=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert "f4<" in second and "f104" not in second


# --- Command line ----------------------------------------------------------------------------------

def test_users_create_prints_a_working_setup_link(app, runner, client, session):
    result = runner.invoke(args=["users", "create", "Layla@Example.org", "--organisation", "Cairo Rights Group",
                                 "--role", "owner"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == app.config["PUBLIC_URL"]
    assert re.fullmatch(r"/ar/manage/setup/[A-Za-z0-9_-]{40,}", parts.path)
    assert client.get(parts.path).status_code == 200
    done = post_form(client, parts.path, {"name": "Layla", "password": "a good long passphrase",
                                          "confirm": "a good long passphrase"})
    assert done.status_code == 303
    organiser = services.find_by_email(session, "layla@example.org")
    assert organiser.memberships[0].role == Role.owner
    assert organiser.memberships[0].organisation.name == "Cairo Rights Group"
    assert parts.path.rsplit("/", 1)[1] not in str(session.execute(sa.select(Organiser.__table__)).all())


def test_users_create_in_english_and_for_an_existing_address(runner, session, make_organiser):
    editor = make_organiser("editor", "Group A", email="sami@example.org")
    result = runner.invoke(args=["users", "create", "sami@example.org", "--organisation", "Group B",
                                 "--role", "owner", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "already has an account" in result.output
    assert "/en/manage/setup/" in result.output
    editor = reread(session, Organiser, editor.id)
    assert {(m.organisation.name, m.role) for m in editor.memberships} == {("Group A", Role.editor),
                                                                           ("Group B", Role.owner)}
    assert session.scalar(sa.select(sa.func.count()).select_from(Organiser)) == 1


def test_users_create_refuses_bad_role_and_address(runner, session):
    bad_role = runner.invoke(args=["users", "create", "a@example.org", "--organisation", "X", "--role", "boss"])
    assert bad_role.exit_code == 2 and "'boss' is not one of" in bad_role.output
    bad_email = runner.invoke(args=["users", "create", "not-an-address", "--organisation", "X", "--role", "owner"])
    assert bad_email.exit_code == 2
    assert "This e-mail address does not look right" in bad_email.output
    no_org = runner.invoke(args=["users", "create", "a@example.org", "--role", "editor"])
    assert no_org.exit_code == 2 and "needs an organisation" in no_org.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Organiser)) == 0
    admin = runner.invoke(args=["users", "create", "root@example.org", "--role", "admin"])
    assert admin.exit_code == 0 and "/manage/setup/" in admin.output
    assert services.find_by_email(session, "root@example.org").is_admin


def test_no_outbox_mail_for_cli_accounts(runner, session):
    runner.invoke(args=["users", "create", "a@example.org", "--organisation", "X", "--role", "editor"])
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


NONSENSE = ["\x00", "a\x00@example.org", "x" * 100_000, "'; DROP TABLE organisers; --", "١٢٣٤٥٦", "\r\nX-Evil: 1",
            "/\r\nX-Evil: 1", "%00", "../../etc/passwd"]


@pytest.mark.parametrize("value", NONSENSE)
def test_nonsense_input_never_causes_a_500(app, client, session, make_organiser, value, login):
    owner = make_organiser("owner", "Group A")
    _, token = services.create_account(session, "new@example.org", role="editor", organisation_name="Group A")
    session.commit()
    organisation = org_id(owner)
    membership = owner.memberships[0].id

    anonymous = new_client(app)
    for url, form_url, data in [
        ("/en/manage/login", None, {"email": value, "password": value, "next": value}),
        ("/en/manage/login", None, {"email": owner.email, "password": PASSWORD, "next": value}),
        ("/en/manage/login/code", "/en/manage/login", {"code": value}),
        (f"/en/manage/setup/{token}", None, {"name": value, "password": value, "confirm": value}),
    ]:
        response = post_form(anonymous, url, data, form_url=form_url)
        assert response.status_code < 500, (url, response.status_code)
    assert anonymous.get(f"/en/manage/login?next={value}").status_code < 500
    assert anonymous.get(f"/en/manage/setup/{value}").status_code < 500

    login(client, owner)
    team = f"/en/manage/team/{organisation}"
    for url, form_url, data in [
        ("/en/manage/reauth", "/en/manage/reauth", {"code": value, "next": value}),
        ("/en/manage/two-factor", "/en/manage/two-factor", {"code": value, "next": value}),
        ("/en/manage/account", "/en/manage/account", {"current": value, "password": value, "confirm": value}),
        (f"{team}/invite", team, {"email": value, "role": value, "language": value}),
        (f"{team}/members/{membership}/role", team, {"role": value}),
    ]:
        response = post_form(client, url, data, form_url=form_url)
        assert response.status_code < 500, (url, response.status_code)
    for url in (f"/en/manage/audit?organisation={value}&before={value}", f"/en/manage/reauth?next={value}",
                f"/en/manage/two-factor?next={value}"):
        assert client.get(url).status_code < 500, url


# --- Limits that a stolen session or an extra form field must not dodge -------------------------

def _wrong(secret: str) -> str:
    return "000000" if code_at(secret) != "000000" else "111111"


def test_code_step_limit_cannot_be_dodged_with_an_email_field(make_app, make_organiser):
    """The per-account allowance on the code step is keyed by the account being
    logged in, not by an ``email`` field an attacker adds to the form."""
    from campaign.extensions import limiter

    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="100 per minute", RATELIMIT_LOGIN_ACCOUNT="2 per hour")
    with app.app_context():
        limiter.reset()
        owner = make_organiser("owner")
        client = new_client(app)
        assert web_login(client, owner, code=_wrong(owner.totp_secret)).status_code == 422
        for n in range(3):
            response = post_form(client, "/en/manage/login/code",
                                 {"code": _wrong(owner.totp_secret), "email": f"decoy{n}@example.org"},
                                 form_url="/en/manage/login/code")
        assert response.status_code == 429


def test_two_factor_page_limit_cannot_be_dodged_with_an_email_field(limited_owner):
    """Someone holding a stolen session must not guess codes on /two-factor (which
    makes new recovery codes and marks two-factor fresh) without limit."""
    owner, client = limited_owner
    statuses = [
        post_form(client, "/en/manage/two-factor", {"code": "abcdef", "email": f"decoy{n}@example.org"}).status_code
        for n in range(3)
    ]
    assert statuses == [422, 422, 429]
    for n in range(3):
        response = post_form(client, "/en/manage/reauth",
                             {"code": _wrong(owner.totp_secret), "email": f"other{n}@example.org"})
    assert response.status_code == 429


def test_wrong_current_passwords_on_the_account_page_count_towards_the_account_limit(limited_owner):
    """A stolen session must not be a way to guess the password (and then change it)
    without the limit the login form has."""
    owner, client = limited_owner
    new = {"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    statuses = [post_form(client, "/en/manage/account", dict(new, current=f"guess {n}")).status_code
                for n in range(3)]
    assert statuses == [422, 422, 429]
    assert client.get("/en/manage/account").status_code == 200, "the page itself still opens"
