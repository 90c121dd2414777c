"""The signing loop's services called directly (no HTTP): canonical addresses,
duplicates, campaign states, verification, counts under concurrency, erasure."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading

import pytest
import sqlalchemy as sa

from campaign.campaigns import services as campaigns
from campaign.campaigns.models import Campaign, CampaignState
from campaign.campaigns.services import DemandInput, Missing, NotReady
from campaign.extensions import db
from campaign.outbox.models import MessageState, OutboxMessage
from campaign.privacy.keys import email_key, utcnow
from campaign.signatures import services
from campaign.signatures.emails import canonical_email
from campaign.signatures.models import Signature, SignatureState, Visibility
from campaign.signatures.services import SignInput, SignOutcome, TokenError, TokenProblem
from campaign.states import TransitionError
from tests.fixtures.mail import queued_mail


def sign_as(session, campaign, email: str, *, name: str = "Layla Haddad", country: str = "LB",
            visibility: Visibility = Visibility.full_name, opt_in: bool = False, locale: str = "en",
            ip_key: str | None = None):
    """Sign as the sign view does (services.sign, then commit); returns (signature, outcome)."""
    signature, outcome = services.sign(
        session, campaign,
        SignInput(name=name, email=email, country=country, comment=None, visibility=visibility, opt_in=opt_in),
        locale=locale, ip_key=ip_key,
    )
    session.commit()
    return signature, outcome


def mails(session, signature_id: int | None = None) -> list[OutboxMessage]:
    """Outbox rows, oldest first (optionally only one signature's)."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if signature_id is not None:
        query = query.where(OutboxMessage.signature_id == signature_id)
    return list(session.scalars(query))


def token_in(message: OutboxMessage, kind: str = "confirm") -> str:
    """The token of the /confirm/ (or /withdraw/) link in a queued e-mail."""
    match = re.search(rf"/{kind}/([A-Za-z0-9_-]+)", queued_mail(message)["text"])
    assert match, f"no /{kind}/ link in the {message.template} mail"
    return match.group(1)


def stored_counts(session, campaign) -> tuple[int, int]:
    """(verified_count, pending_count) as the database holds them now."""
    return tuple(session.execute(
        sa.select(Campaign.verified_count, Campaign.pending_count).where(Campaign.id == campaign.id)
    ).one())


def true_counts(session, campaign) -> tuple[int, int]:
    """(verified, pending) by COUNT(*) over the signature rows."""
    def count(state):
        return session.scalar(
            sa.select(sa.func.count()).select_from(Signature)
            .where(Signature.campaign_id == campaign.id, Signature.state == state)
        )
    return count(SignatureState.verified), count(SignatureState.pending)


# --- Canonical e-mail addresses ----------------------------------------------------

@pytest.mark.parametrize("address, canonical", [
    ("Layla@Example.ORG", "layla@example.org"),
    ("LAYLA@EXAMPLE.ORG", "layla@example.org"),
    ("  layla@example.org\n", "layla@example.org"),
    ("\tlayla@example.org\u00a0", "layla@example.org"),
    ("layla+petitions@example.org", "layla@example.org"),
    ("Layla+a+b@Example.org", "layla@example.org"),
    ("+tag@example.org", "+tag@example.org"),  # nothing before the +: keep it whole
    ("Foo.Bar+x@GMail.com", "foobar@gmail.com"),
    ("foo.bar@googlemail.com", "foobar@gmail.com"),
    ("F.O.O.bar@GOOGLEMAIL.COM", "foobar@gmail.com"),
    ("foobar@gmail.com", "foobar@gmail.com"),
    ("foo.bar@example.org", "foo.bar@example.org"),  # dots matter outside Gmail
    ("foo.bar+news@mail.example.org", "foo.bar@mail.example.org"),
    ("layla@BÜCHER.de", "layla@xn--bcher-kva.de"),
    ("layla@bu\u0308cher.de", "layla@xn--bcher-kva.de"),  # decomposed ü: same domain
    ("layla@xn--bcher-kva.de", "layla@xn--bcher-kva.de"),
    ("Layla@مثال.مصر", "layla@xn--mgbh0fb.xn--wgbh1c"),
    ("ليلى@مثال.مصر", "ليلى@xn--mgbh0fb.xn--wgbh1c"),
    ("layla@例え.テスト", "layla@xn--r8jz45g.xn--zckzah"),
    ("ÉLISE@example.fr", "élise@example.fr"),
    ("E\u0301lise@example.fr", "élise@example.fr"),  # NFC
])
def test_canonical_email(address, canonical):
    assert canonical_email(address) == canonical


@pytest.mark.parametrize("first, second", [
    ("foo.bar@example.org", "foobar@example.org"),
    ("foobar@gmail.com", "foobar@gmail.co"),
    ("layla@example.org", "layla@example.com"),
    ("layla@bücher.de", "layla@bucher.de"),
])
def test_distinct_mailboxes_stay_distinct(first, second):
    assert canonical_email(first) != canonical_email(second)


# --- Duplicates ------------------------------------------------------------------

def test_a_gmail_variant_of_a_pending_signer_gets_a_fresh_confirmation(session, make_campaign):
    campaign = make_campaign()
    first, outcome = sign_as(session, campaign, "foo.bar@gmail.com")
    assert outcome == SignOutcome.new
    [confirm] = mails(session)
    assert (confirm.template, confirm.payload["to"], confirm.signature_id) == ("confirm", "foo.bar@gmail.com", first.id)

    again, outcome = sign_as(session, campaign, "Foo.Bar+x@GMail.com", name="Layla H.")
    assert outcome == SignOutcome.confirmation_resent
    assert again.id == first.id
    assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 1
    assert again.name == "Layla H.", "the latest details win while unconfirmed"
    assert stored_counts(session, campaign) == (0, 1)
    assert [(m.template, m.payload["to"]) for m in mails(session)] == [
        ("confirm", "foo.bar@gmail.com"), ("confirm", "Foo.Bar+x@GMail.com"),
    ]
    # Both mails carry the same link (issue 13: the first mail opened must work).
    first_link, second_link = (token_in(m) for m in mails(session))
    assert first_link == second_link
    services.verify(session, first_link)
    session.commit()
    assert stored_counts(session, campaign) == (1, 0)


def test_a_confirmed_signer_signing_again_gets_the_already_signed_mail(session, make_campaign):
    campaign = make_campaign()
    signature, _ = sign_as(session, campaign, "foo.bar@googlemail.com")
    services.verify(session, token_in(mails(session)[0]))
    session.commit()

    again, outcome = sign_as(session, campaign, "FOOBAR+again@gmail.com")
    assert outcome == SignOutcome.already_signed
    assert again.id == signature.id and again.state == SignatureState.verified
    notice = mails(session)[-1]
    assert (notice.template, notice.payload["to"], notice.signature_id) == (
        "already_signed", "FOOBAR+again@gmail.com", signature.id)
    mail = queued_mail(notice)
    assert "/confirm/" not in mail["text"] and "/confirm/" not in mail["html"]
    assert "/withdraw/" in mail["text"]
    assert len(mails(session)) == 2
    assert stored_counts(session, campaign) == true_counts(session, campaign) == (1, 0)

    # The withdrawal link in the new mail is the one that works now.
    services.withdraw(session, token_in(notice, "withdraw"))
    session.commit()
    assert stored_counts(session, campaign) == (0, 0)


def test_a_withdrawn_signer_may_sign_again(session, make_campaign):
    campaign = make_campaign()
    signature, _ = sign_as(session, campaign, "layla@example.org")
    [confirm] = mails(session)
    services.verify(session, token_in(confirm))
    services.withdraw(session, token_in(confirm, "withdraw"))
    session.commit()
    assert stored_counts(session, campaign) == (0, 0)

    again, outcome = sign_as(session, campaign, "Layla+back@Example.org", name="Layla Again")
    assert outcome == SignOutcome.signed_again
    assert again.id == signature.id
    assert (again.state, again.name, again.verified_at, again.withdrawn_at) == (
        SignatureState.pending, "Layla Again", None, None)
    assert stored_counts(session, campaign) == true_counts(session, campaign) == (0, 1)
    fresh = mails(session)[-1]
    assert (fresh.template, fresh.payload["to"]) == ("confirm", "Layla+back@Example.org")
    services.verify(session, token_in(fresh))
    session.commit()
    assert stored_counts(session, campaign) == (1, 0)


def test_campaigns_count_the_same_person_independently(session, make_campaign):
    one, two = make_campaign(), make_campaign()
    a, first = sign_as(session, one, "layla@example.org")
    b, second = sign_as(session, two, "LAYLA+two@example.org")
    assert (first, second) == (SignOutcome.new, SignOutcome.new)
    assert a.id != b.id and a.email_key == b.email_key
    assert stored_counts(session, one) == stored_counts(session, two) == (0, 1)
    assert [m.signature_id for m in mails(session)] == [a.id, b.id]


def test_a_new_signer_is_keyed_by_the_canonical_address(session, make_campaign):
    campaign = make_campaign()
    signature, _ = sign_as(session, campaign, "Foo.Bar+x@GMail.com", ip_key="k" * 32)
    assert signature.email_key == email_key("foobar@gmail.com")
    assert signature.email_domain == "gmail.com"
    assert signature.state == SignatureState.pending and signature.ip_key == "k" * 32


# --- Campaign states ----------------------------------------------------------------

PATH_TO = {
    CampaignState.draft: [],
    CampaignState.published: [CampaignState.published],
    CampaignState.closed: [CampaignState.published, CampaignState.closed],
    CampaignState.archived: [CampaignState.published, CampaignState.closed, CampaignState.archived],
}


def campaign_in(session, make_campaign, state: CampaignState) -> Campaign:
    campaign = make_campaign(publish=False)
    for step in PATH_TO[state]:
        campaigns.change_state(session, campaign, step)
    session.commit()
    assert campaign.state == state
    return campaign


@pytest.mark.parametrize("start, new", [
    (CampaignState.draft, CampaignState.published),
    (CampaignState.draft, CampaignState.archived),
    (CampaignState.published, CampaignState.closed),
    (CampaignState.closed, CampaignState.published),  # reopening
    (CampaignState.closed, CampaignState.archived),
])
def test_allowed_campaign_transitions(session, make_campaign, start, new):
    campaign = campaign_in(session, make_campaign, start)
    campaigns.change_state(session, campaign, new)
    session.commit()
    assert session.scalar(sa.select(Campaign.state).where(Campaign.id == campaign.id)) == new
    if new == CampaignState.published:
        assert campaign.published_at is not None and campaign.closed_at is None
        assert campaign.is_open
    if new == CampaignState.closed:
        assert campaign.closed_at is not None and not campaign.is_open


@pytest.mark.parametrize("start, new", [
    (CampaignState.draft, CampaignState.closed),
    (CampaignState.draft, CampaignState.draft),
    (CampaignState.published, CampaignState.draft),
    (CampaignState.published, CampaignState.archived),
    (CampaignState.published, CampaignState.published),
    (CampaignState.closed, CampaignState.draft),
    (CampaignState.archived, CampaignState.draft),
    (CampaignState.archived, CampaignState.published),
    (CampaignState.archived, CampaignState.closed),
])
def test_refused_campaign_transitions(session, make_campaign, start, new):
    campaign = campaign_in(session, make_campaign, start)
    with pytest.raises(TransitionError):
        campaigns.change_state(session, campaign, new)
    session.rollback()
    assert session.scalar(sa.select(Campaign.state).where(Campaign.id == campaign.id)) == start


def test_publishing_refused_while_a_language_is_incomplete(session, make_campaign):
    campaign = make_campaign(publish=False, demands=1)
    campaigns.set_text(session, campaign, "en", title="Set them free", summary="  ", body_md="The text")
    campaigns.set_demands(session, campaign, [DemandInput({"ar": ("المطلب", "شرح"), "en": ("Demand", "")})])
    with pytest.raises(NotReady) as refused:
        campaigns.publish(session, None, campaign)
    assert set(refused.value.missing) == {Missing("en", "summary"), Missing("en", "demand_body", 1)}
    session.rollback()
    assert session.scalar(sa.select(Campaign.state).where(Campaign.id == campaign.id)) == CampaignState.draft

    campaign = session.get(Campaign, campaign.id)
    campaigns.set_text(session, campaign, "en", title="Set them free", summary="Short", body_md="The text")
    campaigns.set_demands(session, campaign, [DemandInput({"ar": ("المطلب", "شرح"), "en": ("Demand", "Why")})])
    campaigns.publish(session, None, campaign)
    assert campaign.state == CampaignState.published


def test_publishing_refused_without_any_arabic_text(session):
    from campaign.campaigns.models import CampaignKind

    campaign = campaigns.create(session, None, slug="english-only", kind=CampaignKind.petition)
    campaigns.set_text(session, campaign, "en", title="T", summary="S", body_md="B")
    with pytest.raises(NotReady) as refused:
        campaigns.publish(session, None, campaign)
    assert set(refused.value.missing) == {Missing("ar", "title"), Missing("ar", "summary"), Missing("ar", "body")}
    assert campaign.state == CampaignState.draft


@pytest.mark.parametrize("state", [CampaignState.draft, CampaignState.closed, CampaignState.archived])
def test_signing_refused_unless_published(session, make_campaign, state):
    campaign = campaign_in(session, make_campaign, state)
    with pytest.raises(ValueError):
        sign_as(session, campaign, "layla@example.org")
    session.rollback()
    assert true_counts(session, campaign) == stored_counts(session, campaign) == (0, 0)
    assert mails(session) == []


def test_signing_refused_after_the_close_date(session, make_campaign):
    campaign = make_campaign(closes_at=utcnow() - dt.timedelta(minutes=1))
    assert campaign.state == CampaignState.published and not campaign.is_open
    with pytest.raises(ValueError):
        sign_as(session, campaign, "layla@example.org")


def test_a_pending_signature_cannot_be_confirmed_once_the_campaign_closed(session, make_campaign):
    campaign = make_campaign()
    sign_as(session, campaign, "layla@example.org")
    token = token_in(mails(session)[0])
    campaigns.close(session, None, campaign)
    session.commit()
    with pytest.raises(TokenError) as problem:
        services.verify(session, token)
    assert problem.value.problem == TokenProblem.closed
    assert stored_counts(session, campaign) == (0, 1)


# --- Verification and withdrawal ------------------------------------------------------

def test_tokens_are_stored_only_as_hashes(session, make_campaign, deliver):
    campaign = make_campaign()
    signature, _ = sign_as(session, campaign, "layla@example.org")
    [confirm] = mails(session)
    tokens = token_in(confirm), token_in(confirm, "withdraw")
    row = session.execute(sa.select(Signature.__table__).where(Signature.id == signature.id)).one()
    for token in tokens:
        assert not any(token in str(value) for value in row), "a raw token is stored on the signature"
    assert signature.verify_token_hash == hashlib.sha256(tokens[0].encode()).hexdigest()
    assert signature.withdraw_token_hash == hashlib.sha256(tokens[1].encode()).hexdigest()

    # The queued mail carries the link until it goes; then the outbox forgets it too.
    deliver()
    [sent] = mails(session)
    assert sent.state == MessageState.sent
    assert not any(token in str(sent.payload) for token in tokens)
    assert services.verify(session, tokens[0]).state == SignatureState.verified


def test_an_expired_link_raises_the_expired_problem(session, make_campaign):
    campaign = make_campaign()
    signature, _ = sign_as(session, campaign, "layla@example.org")
    token = token_in(mails(session)[0])
    signature.verify_expires_at = utcnow() - dt.timedelta(seconds=1)
    session.commit()
    for step in (services.find_for_confirmation, services.verify):
        with pytest.raises(TokenError) as problem:
            step(session, token)
        assert problem.value.problem == TokenProblem.expired
        assert problem.value.signature.id == signature.id
    assert signature.state == SignatureState.pending
    assert stored_counts(session, campaign) == (0, 1)


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 101])
def test_an_unknown_link_is_invalid(session, make_campaign, token):
    campaign = make_campaign()
    sign_as(session, campaign, "layla@example.org")
    with pytest.raises(TokenError) as problem:
        services.verify(session, token)
    assert problem.value.problem == TokenProblem.invalid


def test_verifying_twice_counts_once(session, make_campaign):
    campaign = make_campaign()
    signature, _ = sign_as(session, campaign, "layla@example.org")
    token = token_in(mails(session)[0])
    services.verify(session, token)
    session.commit()
    verified_at = signature.verified_at
    assert verified_at is not None
    again = services.verify(session, token)
    session.commit()
    assert again.state == SignatureState.verified and again.verified_at == verified_at
    assert stored_counts(session, campaign) == true_counts(session, campaign) == (1, 0)


def test_withdrawal_drops_the_count_and_the_public_name(session, make_campaign):
    campaign = make_campaign()
    sign_as(session, campaign, "layla@example.org", name="Layla Haddad", country="LB")
    sign_as(session, campaign, "sami@example.org", name="Sami Nasser", country="EG", visibility=Visibility.initials)
    layla_mail, sami_mail = mails(session)
    services.verify(session, token_in(layla_mail))
    services.verify(session, token_in(sami_mail))
    session.commit()
    assert [s.name for s in services.recent_public_signers(session, campaign)] == ["S. N.", "Layla Haddad"]
    assert stored_counts(session, campaign) == (2, 0)

    layla_withdraw = token_in(layla_mail, "withdraw")  # the mail is scrubbed once she withdraws
    withdrawn = services.withdraw(session, layla_withdraw)
    session.commit()
    assert withdrawn.state == SignatureState.withdrawn
    assert (withdrawn.name, withdrawn.country, withdrawn.email) == ("", None, None)
    assert withdrawn.email_key == email_key("layla@example.org"), "the keyed hash stays for re-signing"
    assert [s.name for s in services.recent_public_signers(session, campaign)] == ["S. N."]
    assert services.country_breakdown(session, campaign.id, minimum=1).rows == [("EG", 1)]
    assert stored_counts(session, campaign) == true_counts(session, campaign) == (1, 0)

    with pytest.raises(TokenError) as problem:
        services.withdraw(session, layla_withdraw)
    assert problem.value.problem == TokenProblem.invalid
    assert stored_counts(session, campaign) == (1, 0)


def test_withdrawing_an_unconfirmed_signature_drops_the_pending_count(session, make_campaign):
    campaign = make_campaign()
    sign_as(session, campaign, "layla@example.org")
    sign_as(session, campaign, "sami@example.org")
    services.withdraw(session, token_in(mails(session)[0], "withdraw"))
    session.commit()
    assert stored_counts(session, campaign) == true_counts(session, campaign) == (0, 1)


# --- Counts under concurrent confirmation ----------------------------------------------

def test_concurrent_confirmations_count_each_signature_once(app, session, make_campaign):
    """Threads with sessions of their own, on the app's engine: eight signers confirm
    at once while two more each press their link from four tabs. SQLite serialises the
    writers (busy_timeout); PostgreSQL's row locks make the losers update nothing."""
    campaign = make_campaign()
    for n in range(13):
        sign_as(session, campaign, f"signer{n}@example.org")
    tokens = [token_in(m) for m in mails(session)]
    distinct, repeated, left_pending = tokens[:8], tokens[8:10], tokens[10:]
    jobs = distinct + repeated * 4
    barrier = threading.Barrier(len(jobs))
    errors: list[Exception] = []

    def confirm(token: str) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                services.verify(db.session, token)
                db.session.commit()
            except Exception as exc:  # reported below, in the test's thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=confirm, args=(token,)) for token in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    session.expire_all()
    expected = (len(distinct) + len(repeated), len(left_pending))
    assert true_counts(session, campaign) == expected
    assert stored_counts(session, campaign) == expected
    assert services.reconcile_counts(session) == []


def test_reconcile_fixes_drifted_counters_and_reports_them(session, make_campaign):
    campaign = make_campaign(slug="drifted")
    untouched = make_campaign(slug="untouched")
    for n in range(3):
        sign_as(session, campaign, f"signer{n}@example.org")
    session.commit()
    campaign.verified_folded, campaign.pending_folded = 7, -3  # drifted: the changes not folded add 3 pending
    session.commit()
    assert sorted(services.reconcile_counts(session)) == [
        ("drifted", "pending_count", 0, 3), ("drifted", "verified_count", 7, 0)]
    session.expire_all()
    assert stored_counts(session, campaign) == true_counts(session, campaign) == (0, 3)
    assert stored_counts(session, untouched) == (0, 0)
    assert services.reconcile_counts(session) == []


# --- Erasing addresses ----------------------------------------------------------------

def test_address_erased_on_confirmation_once_its_mail_has_gone(session, make_campaign, deliver):
    campaign = make_campaign()
    signature_id = sign_as(session, campaign, "layla@example.org")[0].id
    token = token_in(mails(session)[0])
    deliver()
    signature = session.get(Signature, signature_id)
    assert signature.email == "layla@example.org", "kept while unconfirmed"

    services.verify(session, token)
    session.commit()
    assert signature.email is None
    assert signature.email_key == email_key("layla@example.org")
    assert not any("layla@example.org" in str(m.payload) for m in mails(session))

    # The duplicate is still found without the address.
    again, outcome = sign_as(session, signature.campaign, "Layla+2@EXAMPLE.org")
    assert outcome == SignOutcome.already_signed and again.id == signature.id
    assert again.email is None
    deliver()
    assert session.get(Signature, signature_id).email is None
    assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 1


def test_address_kept_until_the_queued_mail_has_gone(session, make_campaign, deliver):
    campaign = make_campaign()
    signature, _ = sign_as(session, campaign, "layla@example.org")
    signature_id = signature.id
    services.verify(session, token_in(mails(session)[0]))
    session.commit()
    assert signature.email == "layla@example.org", "the confirmation mail still needs it"

    [message] = deliver()
    assert message["To"] == "layla@example.org"
    signature = session.get(Signature, signature_id)
    assert signature.email is None
    assert signature.email_key == email_key("layla@example.org")


def test_opted_in_signer_keeps_the_address(session, make_campaign, deliver):
    campaign = make_campaign()
    signature_id = sign_as(session, campaign, "layla@example.org", opt_in=True)[0].id
    token = token_in(mails(session)[0])
    deliver()
    services.verify(session, token)
    session.commit()
    deliver()
    signature = session.get(Signature, signature_id)
    assert signature.state == SignatureState.verified
    assert signature.email == "layla@example.org"
    assert services.release_email(session, signature) is False
