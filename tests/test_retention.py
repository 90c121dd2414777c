"""Retention: anonymising the signatures of campaigns closed long enough ago, and
erasing a signer's data when they ask."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from campaign.campaigns import services as campaigns
from campaign.campaigns.models import Campaign, CampaignKind
from campaign.extensions import db
from campaign.organiser.models import AuditEntry
from campaign.outbox.models import MessageState, OutboxMessage
from campaign.privacy.keys import email_key, utcnow
from campaign.retention import services
from campaign.retention.models import ErasureRequest
from campaign.signatures import services as signing
from campaign.signatures.emails import canonical_email
from campaign.signatures.models import Signature, SignatureState, Visibility
from campaign.statements import services as statements
from campaign.statements.models import Signatory, SignatoryKind, SignatoryState
from campaign.statements.services import EndorsementInput
from campaign.updates import services as updates
from campaign.updates.models import UnsubscribeToken
from campaign.updates.services import UpdateTextInput
from tests.fixtures.mail import body_text, link_in
from tests.fixtures.web import csrf_token

DAY = dt.timedelta(days=1)


def personal_data(session, campaign) -> list[tuple]:
    """Everything on a campaign's signatures that could lead back to a person."""
    return session.execute(
        sa.select(Signature.email, Signature.email_key, Signature.email_domain, Signature.ip_key,
                  Signature.verify_token_hash, Signature.withdraw_token_hash)
        .where(Signature.campaign_id == campaign.id)
    ).all()


def sign_everyone(campaign, add_signature, prefix: str) -> dict[str, Signature]:
    return {
        "full": add_signature(campaign, "Layla Haddad", f"{prefix}-full@mail.example", visibility=Visibility.full_name,
                              comment="I was there.", opt_in=True, ip_key="ip1", country="LB"),
        "initials": add_signature(campaign, "ليلى بنت حداد", f"{prefix}-initials@mail.example",
                                  visibility=Visibility.initials, comment="Private words", country="EG"),
        "counted": add_signature(campaign, "Sam Jones", f"{prefix}-counted@mail.example",
                                 visibility=Visibility.counted, comment="Never shown", country="LB"),
        "pending": add_signature(campaign, "Not Confirmed", f"{prefix}-pending@mail.example", verified=False,
                                 visibility=Visibility.full_name, comment="Unconfirmed"),
    }


# --- Anonymising ------------------------------------------------------------------

def test_only_campaigns_past_their_retention_period_are_anonymised(app, session, make_campaign, add_signature):
    open_campaign = make_campaign()
    recent = make_campaign()
    old = make_campaign()
    own_period = make_campaign()
    own_period.retention_days = 7
    archived = make_campaign()
    signers = {c.slug: sign_everyone(c, add_signature, c.slug)
               for c in (open_campaign, recent, old, own_period, archived)}
    session.commit()
    for campaign, days in ((recent, 100), (old, 181), (own_period, 8), (archived, 365)):
        campaigns.close(session, None, campaign)
        campaign.closed_at = utcnow() - days * DAY
    campaigns.archive(session, None, archived)
    session.commit()
    counts_before = {c.id: (c.verified_count, c.pending_count) for c in session.scalars(sa.select(Campaign))}

    assert [c.slug for c in services.due_campaigns(session)] == [old.slug, own_period.slug, archived.slug]
    result = services.anonymise_due(session)
    session.commit()
    assert (result.campaigns, result.signatures) == (3, 12)

    for campaign in (old, own_period, archived):
        campaign = session.get(Campaign, campaign.id)
        assert (campaign.verified_count, campaign.pending_count) == counts_before[campaign.id]
        assert set(personal_data(session, campaign)) == {(None,) * 6}
        rows = {s.id: s for s in session.scalars(sa.select(Signature).where(Signature.campaign_id == campaign.id))}
        mine = signers[campaign.slug]
        full, initials_, counted, pending = (rows[mine[k].id] for k in ("full", "initials", "counted", "pending"))
        assert (full.name, full.visibility, full.comment, full.country) == ("L. H.", Visibility.initials,
                                                                             "I was there.", "LB")
        assert (initials_.name, initials_.comment) == ("ل. ب. ح.", None)
        assert (counted.name, counted.comment, counted.visibility) == ("", None, Visibility.counted)
        assert (pending.name, pending.comment, pending.state) == ("N. C.", None, SignatureState.pending)
        assert not any(s.opt_in for s in rows.values())
        assert full.search_name == "l. h."
    for campaign in (open_campaign, recent):
        assert all(row[1] is not None for row in personal_data(session, campaign))
        assert session.get(Signature, signers[campaign.slug]["full"].id).name == "Layla Haddad"

    entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "retention.anonymise")).all()
    assert sorted((e.campaign_id, e.detail["signatures"], e.organiser_id) for e in entries) == sorted(
        (c.id, 4, None) for c in (old, own_period, archived))
    assert "Layla" not in repr([e.detail for e in entries])


def test_anonymising_is_idempotent_and_batched(session, make_campaign, add_signature):
    campaign = make_campaign()
    for n in range(5):
        add_signature(campaign, f"Signer Number{n}", f"s{n}@mail.example")
    campaigns.close(session, None, campaign)
    campaign.closed_at = utcnow() - 200 * DAY
    session.commit()
    batches = []
    result = services.anonymise_due(session, batch_size=2, after_batch=lambda: batches.append(1))
    assert (result.campaigns, result.signatures, len(batches)) == (1, 5, 3)
    session.commit()
    assert services.anonymise_due(session).signatures == 0
    assert session.get(Campaign, campaign.id).verified_count == 5
    assert len(session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "retention.anonymise")).all()) == 1


def test_anonymising_drops_unsubscribe_links_and_queued_mail(session, make_campaign, make_organiser, add_signature):
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    signer = add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True)
    update = updates.create_draft(session, owner, campaign, {"ar": UpdateTextInput("عنوان", "نص"),
                                                             "en": UpdateTextInput("Subject", "Text")})
    updates.start_sending(session, owner, update)
    updates.queue_batch(session, update)
    campaigns.close(session, None, campaign)
    campaign.closed_at = utcnow() - 200 * DAY
    session.commit()
    services.anonymise_due(session)
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(UnsubscribeToken)) == 0
    queued = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.signature_id == signer.id)).all()
    assert queued and {m.state for m in queued} == {MessageState.dead}
    assert "sam@" not in repr([m.payload for m in queued])


def test_a_reopened_campaign_is_not_due_until_it_closes_again(session, make_campaign, add_signature):
    campaign = make_campaign()
    add_signature(campaign)
    campaigns.close(session, None, campaign)
    campaign.closed_at = utcnow() - 200 * DAY
    campaigns.publish(session, None, campaign)  # reopened
    session.commit()
    assert services.due_campaigns(session) == []
    campaigns.close(session, None, campaign)
    assert services.due_campaigns(session) == []  # closed today
    assert services.anonymise_at(campaign) > utcnow() + 179 * DAY


def test_retention_run_command_prints_how_many(runner, session, make_campaign, add_signature):
    campaign = make_campaign(slug="old-appeal")
    add_signature(campaign)
    add_signature(campaign, "Other Person", "other@mail.example")
    campaigns.close(session, None, campaign)
    campaign.closed_at = utcnow() - 181 * DAY
    session.commit()
    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert dry.exit_code == 0 and "old-appeal" in dry.output and "2 signature(s) to anonymise" in dry.output
    assert session.get(Campaign, campaign.id) and personal_data(session, campaign)[0][1] is not None
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "2 signature(s) anonymised in 1 campaign(s)" in result.output
    again = runner.invoke(args=["retention", "run"])
    assert "0 signature(s) anonymised in 0 campaign(s)" in again.output
    assert "old-appeal" not in runner.invoke(args=["retention", "run", "--dry-run"]).output


def test_the_worker_anonymises_due_campaigns_without_a_cron_job(app, session, make_campaign, add_signature):
    from campaign.outbox.cli import run_worker

    campaign = make_campaign(slug="old-appeal")
    add_signature(campaign)
    campaigns.close(session, None, campaign)
    campaign.closed_at = utcnow() - 181 * DAY
    session.commit()
    campaign_id = campaign.id
    from campaign.jobs import run_due_jobs

    # Between the worker's hourly retention runs, the minute jobs leave it alone.
    ran = run_due_jobs(app, session, {"retention.anonymise_due": 0.0}, now=120.0)
    assert "retention.anonymise_due" not in ran and "campaigns.close_expired" in ran
    assert personal_data(session, campaign)[0][1] is not None
    run_worker(app, once=True)
    campaign = session.get(Campaign, campaign_id)
    assert set(personal_data(session, campaign)) == {(None,) * 6}
    assert campaign.verified_count == 1


def test_site_default_comes_from_config(make_app, make_campaign):
    app = make_app(RETENTION_DAYS=30)
    with app.app_context():
        campaign = Campaign(slug="x", kind="appeal", state="closed", closed_at=utcnow() - 31 * DAY)
        assert services.retention_days(campaign) == 30
        assert services.anonymise_at(campaign) < utcnow()
        campaign.retention_days = 60
        assert services.anonymise_at(campaign) > utcnow()


# --- Erasure ----------------------------------------------------------------------

def test_erasure_request_mails_a_link_only_to_an_address_that_signed(session, make_campaign, add_signature, deliver):
    campaign = make_campaign()
    add_signature(campaign, "Sam Jones", "samjones@gmail.com")
    title = campaign.text("ar").title
    session.commit()
    deliver()
    services.request_erasure(session, "nobody@mail.example", locale="en")
    session.commit()
    assert deliver() == []
    assert session.scalar(sa.select(sa.func.count()).select_from(ErasureRequest)) == 0
    # The same mailbox written another way (Gmail dots, a +tag, capitals) is found.
    services.request_erasure(session, "Sam.Jones+petitions@GMAIL.com", locale="ar")
    session.commit()
    [mail] = deliver()
    assert mail["To"].lower() == "sam.jones+petitions@gmail.com"
    assert mail["Content-Language"] == "ar" and "/ar/erase/" in link_in(mail, "/erase/")
    assert title not in mail["Subject"] and title not in body_text(mail)  # nothing says what they signed


def test_erasing_deletes_every_signature_of_the_address_and_drops_the_counts(
        session, make_campaign, make_organiser, add_signature):
    owner = make_organiser("owner")
    first = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    second = make_campaign()
    keep = add_signature(first, "Someone Else", "else@mail.example")
    a = add_signature(first, "Sam Jones", "sam@mail.example", opt_in=True)
    b = add_signature(second, "Sam Jones", "SAM@mail.example", verified=False)
    update = updates.create_draft(session, owner, first, {"ar": UpdateTextInput("عنوان", "نص"),
                                                          "en": UpdateTextInput("Subject", "Text")})
    updates.start_sending(session, owner, update)
    updates.queue_batch(session, update)
    session.commit()
    assert (first.verified_count, second.pending_count) == (2, 1)
    services.request_erasure(session, "sam@mail.example", locale="en")
    token = re.search(r"/erase/(\S+)", session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.template == "erase_confirm")).one().payload["text"]).group(1)
    request = services.find_erasure(session, token)
    assert services.signatures_to_erase(session, request) == 2

    assert services.erase(session, token) == 2
    session.commit()
    assert session.get(Signature, a.id) is None and session.get(Signature, b.id) is None
    assert session.get(Signature, keep.id) is not None
    first, second = session.get(Campaign, first.id), session.get(Campaign, second.id)
    assert (first.verified_count, second.pending_count) == (1, 0)
    assert signing.reconcile_counts(session) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(UnsubscribeToken)) == 0
    update_mail = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.template == "update")).all()
    assert [m.state for m in update_mail] == [MessageState.dead] and "sam@" not in repr(update_mail[0].payload)
    entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "signature.erase")).all()
    assert sorted((e.campaign_id, e.detail["signatures"]) for e in entries) == [(first.id, 1), (second.id, 1)]
    # The link works once.
    assert services.erase(session, token) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(ErasureRequest)) == 0


def test_erasure_links_expire(session, make_campaign, add_signature):
    campaign = make_campaign()
    signature = add_signature(campaign, "Sam Jones", "sam@mail.example")
    services.request_erasure(session, "sam@mail.example", locale="en")
    request = session.scalars(sa.select(ErasureRequest)).one()
    request.expires_at = utcnow() - dt.timedelta(seconds=1)
    token = re.search(r"/erase/(\S+)", session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.template == "erase_confirm")).one().payload["text"]).group(1)
    assert services.erase(session, token) is None
    assert session.get(Signature, signature.id) is not None
    assert services.find_erasure(session, "") is None and services.find_erasure(session, "x" * 200) is None


@pytest.mark.parametrize("lang, sent_heading", [("en", "Check your e-mail"), ("ar", "تفقّد بريدك الإلكتروني")])
def test_erase_page_answers_the_same_whoever_asks(client, session, make_campaign, add_signature, lang,
                                                  sent_heading, deliver):
    campaign = make_campaign()
    add_signature(campaign, "Sam Jones", "sam@mail.example")
    session.commit()
    url = f"/{lang}/erase"
    page = client.get(url)
    assert page.status_code == 200 and 'name="email"' in page.get_data(as_text=True)
    answers = []  # noqa
    for address in ("sam@mail.example", "stranger@mail.example"):
        response = client.post(url, data={"csrf_token": csrf_token(client, url), "email": address})
        answers.append((response.status_code, response.headers["Location"]))
        assert sent_heading in client.get(response.headers["Location"]).get_data(as_text=True)
    assert answers[0] == answers[1] == (303, f"/{lang}/erase/sent")
    deliver()  # the worker looks the addresses up
    assert session.scalar(sa.select(sa.func.count()).select_from(ErasureRequest)) == 1


@pytest.mark.parametrize("lang, error", [
    ("en", "This e-mail address does not look right. Please check it."),
    ("ar", None),
])
def test_erase_form_errors_keep_the_input(client, app, lang, error):
    url = f"/{lang}/erase"
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "email": "sam@@mail"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="sam@@mail"' in html and 'aria-invalid="true"' in html
    if error:
        assert error in html
    else:
        assert "This e-mail address does not look right" not in html and 'id="email-error"' in html
    empty = client.post(url, data={"csrf_token": csrf_token(client, url), "email": ""})
    assert empty.status_code == 422
    nul = client.post(url, data={"csrf_token": csrf_token(client, url), "email": "sam\x00@mail.example"})
    assert nul.status_code in (303, 422)
    assert client.get(f"/{lang}/erase/%00").status_code == 404


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_signer_erases_their_data_from_the_mailed_link(client, session, make_campaign, add_signature, deliver,
                                                         lang):
    campaign = make_campaign()
    add_signature(campaign, "Sam Jones", "sam@mail.example", locale=lang)
    campaign_id = campaign.id
    session.commit()
    deliver()
    url = f"/{lang}/erase"
    client.post(url, data={"csrf_token": csrf_token(client, url), "email": "sam@mail.example"})
    [mail] = deliver()
    link = link_in(mail, "/erase/").removeprefix("http://sawt.test")
    assert "Someone, probably you" in body_text(mail) or "طلب أحدهم" in body_text(mail)
    page = client.get(link)
    assert page.status_code == 200
    assert session.get(Campaign, campaign_id).verified_count == 1  # opening the link erases nothing
    response = client.post(link, data={"csrf_token": csrf_token(client, link)})
    assert response.status_code == 303 and response.headers["Location"] == f"/{lang}/erase/done"
    assert client.get(response.headers["Location"]).status_code == 200
    assert session.get(Campaign, campaign_id).verified_count == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
    assert client.get(link).status_code == 404  # used


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_erase_is_linked_from_every_public_page(client, make_campaign, lang):
    campaign = make_campaign()
    assert f'href="/{lang}/erase"' in client.get(f"/{lang}/c/{campaign.slug}").get_data(as_text=True)


@pytest.mark.parametrize("lang, kept", [("en", "180 days after the campaign closes"), ("ar", "180 يومًا بعد إغلاق الحملة")])
def test_workspace_page_says_how_long_signers_details_are_kept(client, session, make_campaign, make_organiser,
                                                                lang, kept, login):
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    login(client, owner)
    assert kept in client.get(f"/{lang}/manage/campaigns/{campaign.id}/").get_data(as_text=True)
    campaigns.close(session, None, campaign)
    campaign.retention_days = 30
    session.commit()
    page = client.get(f"/{lang}/manage/campaigns/{campaign.id}/").get_data(as_text=True)
    assert kept not in page and ("then anonymised" in page or "مجهولة الهوية" in page)


# --- Erasure: requests to sign a statement ------------------------------------------

REQUESTER = "Huda.Karim@refuge.example"
# What the requester gave that must not outlive the erasure (names and role line).
REQUESTER_DETAILS = ("huda.karim", "Huda Karim", "هدى كريم", "Irbid", "إربد")


def ask_to_sign(session, statement, *, email=REQUESTER, locale="en", names=None, roles=None):
    return statements.request_endorsement(session, statement, EndorsementInput(
        kind=SignatoryKind.individual, names=names or {"en": "Huda Karim", "ar": "هدى كريم"},
        roles=roles or {"en": "a teacher in Irbid", "ar": "معلّمة في إربد"}, country="JO", email=email,
    ), locale=locale)


def confirm_token(mail) -> str:
    return link_in(mail, "/endorse/confirm/").rsplit("/", 1)[1]


def tables_holding(session, *needles: str) -> dict[str, list[str]]:
    """Which of ``needles`` (case-folded) any row of any table holds, in any column."""
    found: dict[str, list[str]] = {}
    for table in db.metadata.sorted_tables:
        for row in session.execute(sa.select(table)).all():
            text = repr(tuple(row)).casefold()
            for needle in needles:
                if needle.casefold() in text:
                    found.setdefault(table.name, []).append(needle)
    return found


def test_an_address_that_only_asked_to_sign_a_statement_gets_the_erasure_mail(session, make_campaign, deliver):
    statement = make_campaign(kind=CampaignKind.statement)
    ask_to_sign(session, statement)
    session.commit()
    deliver()
    # Matched as signatures are: the same mailbox written another way is found.
    services.request_erasure(session, "HUDA.KARIM+statements@Refuge.example", locale="en")
    session.commit()
    [mail] = deliver()
    assert mail["To"].lower() == "huda.karim+statements@refuge.example"
    assert "requests to sign a statement" in body_text(mail)
    assert session.scalar(sa.select(sa.func.count()).select_from(ErasureRequest)) == 1


def test_erasing_takes_every_request_to_sign_a_statement_and_leaves_no_trace_of_it(
        session, make_campaign, deliver):
    first, second, third = (make_campaign(kind=CampaignKind.statement) for _ in range(3))
    ids = {"first": first.id, "second": second.id, "third": third.id}
    unconfirmed = ask_to_sign(session, first).id
    declined = ask_to_sign(session, second, email="huda.karim+statements@refuge.example", locale="ar").id
    approved = ask_to_sign(session, third).id
    other = ask_to_sign(session, third, email="rana@mail.example", names={"en": "Rana Odeh"},
                        roles={"en": "a nurse"}).id
    session.commit()
    for mail in deliver():
        token = confirm_token(mail)
        if statements.find_request(session, token).id != unconfirmed:
            statements.confirm_request(session, token)
    statements.decline(session, None, session.get(Signatory, declined))
    statements.approve(session, None, session.get(Signatory, approved))
    statements.approve(session, None, session.get(Signatory, other))
    # The relay is failing: the decisions wait in the outbox for their next try.
    for message in session.scalars(sa.select(OutboxMessage).where(OutboxMessage.state == MessageState.queued)):
        message.next_attempt_at = utcnow() + dt.timedelta(hours=1)
    session.commit()

    services.request_erasure(session, "huda.karim@refuge.example", locale="en")
    session.commit()
    [mail] = deliver()
    token = link_in(mail, "/erase/").rsplit("/", 1)[1]
    request = services.find_erasure(session, token)
    assert (services.signatures_to_erase(session, request), services.requests_to_erase(session, request)) == (0, 3)
    assert services.erase(session, token) == 0
    session.commit()

    # Not on a list: deleted. On a list: withdrawn, nothing personal kept, off the page.
    assert session.get(Signatory, unconfirmed) is None and session.get(Signatory, declined) is None
    withdrawn = session.get(Signatory, approved)
    assert withdrawn.state == SignatoryState.withdrawn and withdrawn.texts == []
    assert all(getattr(withdrawn, name) is None for name in Signatory.PERSONAL)
    third = session.get(Campaign, ids["third"])
    assert [s.id for s in statements.public_signatories(session, third)] == [other]
    # Their decision mails are given up on and scrubbed; the other requester's still waits.
    cancelled = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.last_error == "erased")).all()
    assert sorted(m.template for m in cancelled) == ["endorse_approved", "endorse_declined"]
    assert all(m.state == MessageState.dead and m.payload.get("scrubbed") for m in cancelled)
    waiting = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.state == MessageState.queued)).all()
    assert [(m.template, m.signatory_id) for m in waiting] == [("endorse_approved", other)]
    entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "statement.requests_erase")).all()
    assert sorted((e.campaign_id, e.detail) for e in entries) == sorted(
        (ids[name], {"signatories": 1}) for name in ("first", "second", "third"))

    key = email_key(canonical_email(REQUESTER))
    assert tables_holding(session, key, *REQUESTER_DETAILS) == {}
    assert "signatory_texts" in tables_holding(session, "Rana Odeh")  # the search does look
    assert services.erase(session, token) is None  # the link works once


@pytest.mark.parametrize("lang, count", [
    ("en", "This address has 1 request to sign a statement."),
    ("ar", "لهذا العنوان طلب واحد للتوقيع على بيان."),
])
def test_a_signatory_takes_their_name_off_the_statement_page_by_erasing_their_data(
        client, session, make_campaign, deliver, lang, count):
    statement = make_campaign(kind=CampaignKind.statement)
    slug, name = statement.slug, {"en": "Huda Karim", "ar": "هدى كريم"}[lang]
    signatory_id = ask_to_sign(session, statement, locale=lang).id
    session.commit()
    [mail] = deliver()
    statements.confirm_request(session, confirm_token(mail))
    statements.approve(session, None, session.get(Signatory, signatory_id))
    session.commit()
    deliver()
    assert name in client.get(f"/{lang}/c/{slug}").get_data(as_text=True)

    url = f"/{lang}/erase"
    client.post(url, data={"csrf_token": csrf_token(client, url), "email": REQUESTER.lower()})
    [mail] = deliver()
    link = link_in(mail, "/erase/").removeprefix("http://sawt.test")
    page = client.get(link).get_data(as_text=True)
    assert count in page and "signature on Sawt" not in page and "توقيع على صوت" not in page
    response = client.post(link, data={"csrf_token": csrf_token(client, link)})
    assert response.status_code == 303
    assert name not in client.get(f"/{lang}/c/{slug}").get_data(as_text=True)
    assert session.get(Signatory, signatory_id).state == SignatoryState.withdrawn
    assert tables_holding(session, *REQUESTER_DETAILS) == {}


# --- Retention: requests to sign a statement ----------------------------------------
#
# A request keeps what its maker gave only while it may still end on the list; the
# list itself (approved, and withdrawn places that keep nothing) is public and stays.

OTHER = "rana@mail.example"
OTHER_DETAILS = ("Rana Odeh", "a nurse in Tyre")


def ask_as_rana(session, statement, **kwargs):
    return ask_to_sign(session, statement, email=OTHER, names={"en": OTHER_DETAILS[0]},
                       roles={"en": OTHER_DETAILS[1]}, **kwargs)


def queued_confirm_token(session, signatory_id: int) -> str:
    """The confirmation link of a request whose mail is still in the outbox."""
    message = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.signatory_id == signatory_id,
                                                             OutboxMessage.template == "endorse_confirm")).one()
    return re.search(r"/endorse/confirm/(\S+)", message.payload["text"]).group(1)


def on_the_list(session, signatory_id: int) -> tuple:
    """What the public list shows of a signatory, and what keeps it findable by erasure."""
    s = session.get(Signatory, signatory_id)
    return s.state, s.position, s.name("en"), s.role("en"), s.country, s.email_key is not None


def entries(session, action: str) -> list[tuple]:
    return sorted((e.campaign_id, e.organiser_id, e.detail) for e in session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == action)))


def test_a_request_nobody_confirmed_is_deleted_names_and_all_when_its_link_expires(session, make_campaign):
    statement = make_campaign(kind=CampaignKind.statement)
    statement_id = statement.id
    [listed] = statements.add_signatories(session, None, statement, [statements.SignatoryInput(
        SignatoryKind.individual, {"en": "Layla Haddad"}, {"en": "a lawyer"}, "LB")])
    # The relay is failing: both confirmation mails are still in the outbox.
    expired = ask_to_sign(session, statement).id
    fresh = ask_as_rana(session, statement).id
    session.commit()
    token = queued_confirm_token(session, expired)
    session.get(Signatory, expired).verify_expires_at = utcnow() - dt.timedelta(seconds=1)
    session.commit()
    before = on_the_list(session, listed.id)
    assert statements.requests_due(session) == statements.RequestsDue(expired=1, declined=0)

    assert statements.delete_expired_requests(session) == 1
    session.commit()
    assert session.get(Signatory, expired) is None
    assert session.get(Signatory, fresh).state == SignatoryState.unconfirmed
    assert on_the_list(session, listed.id) == before
    with pytest.raises(statements.TokenError):
        statements.confirm_request(session, token)
    [given_up] = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.state == MessageState.dead)).all()
    assert (given_up.template, given_up.last_error) == ("endorse_confirm", "deleted")
    assert [m.signatory_id for m in session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.state == MessageState.queued))] == [fresh]
    assert entries(session, "statement.requests_expire") == [(statement_id, None, {"signatories": 1})]
    key = email_key(canonical_email(REQUESTER))
    assert tables_holding(session, key, *REQUESTER_DETAILS) == {}
    assert "signatory_texts" in tables_holding(session, OTHER_DETAILS[0])  # the search does look
    assert statements.delete_expired_requests(session) == 0


def test_a_declined_request_is_deleted_the_set_number_of_days_after_the_decision(
        app, session, make_campaign, deliver):
    from campaign.jobs import run_due_jobs

    statement = make_campaign(kind=CampaignKind.statement)
    statement_id = statement.id
    declined = ask_to_sign(session, statement).id
    recent = ask_as_rana(session, statement).id
    approved = ask_to_sign(session, statement, email="sami@mail.example", names={"en": "Sami Nasser"},
                           roles={"en": "a journalist"}).id
    session.commit()
    for signatory_id in (declined, recent, approved):
        statements.confirm_request(session, queued_confirm_token(session, signatory_id))
    statements.decline(session, None, session.get(Signatory, declined))
    statements.decline(session, None, session.get(Signatory, recent))
    statements.approve(session, None, session.get(Signatory, approved))
    session.commit()
    deliver()  # the confirmations and decisions leave, scrubbed from the outbox
    app.config["STATEMENT_DECLINED_DAYS"] = 7
    session.get(Signatory, declined).declined_at = utcnow() - 8 * DAY
    session.get(Signatory, recent).declined_at = utcnow() - 6 * DAY
    session.commit()
    before = on_the_list(session, approved)
    assert statements.requests_due(session) == statements.RequestsDue(expired=0, declined=1)

    # The worker's hourly job, no cron needed.
    assert run_due_jobs(app, session, {}, now=0.0)["statements.delete_declined_requests"] == 1
    assert session.get(Signatory, declined) is None
    assert session.get(Signatory, recent).state == SignatoryState.declined  # the organisers may still look back
    assert on_the_list(session, approved) == before
    assert entries(session, "statement.requests_declined_delete") == [(statement_id, None, {"signatories": 1})]
    key = email_key(canonical_email(REQUESTER))
    assert tables_holding(session, key, *REQUESTER_DETAILS) == {}
    assert statements.delete_declined_requests(session, utcnow() + 2 * DAY) == 1  # Rana's, 8 days on
    assert statements.requests_due(session) == statements.RequestsDue(expired=0, declined=0)


def test_when_the_retention_period_is_over_every_request_not_on_the_list_goes_and_the_list_stays(
        session, make_campaign, add_signature, deliver):
    old = make_campaign(kind=CampaignKind.statement)
    still_open = make_campaign(kind=CampaignKind.statement)
    old_id = old.id
    [added] = [s.id for s in statements.add_signatories(session, None, old, [statements.SignatoryInput(
        SignatoryKind.organisation, {"en": "Justice Network"}, {}, "LB", "https://justice.example", "call first")])]
    add_signature(old, "Sam Jones", "sam@mail.example")
    approved = ask_to_sign(session, old, email="sami@mail.example", names={"en": "Sami Nasser"},
                           roles={"en": "a journalist"}).id
    withdrawn = ask_to_sign(session, old, email="mona@mail.example", names={"en": "Mona Saleh"}).id
    waiting = ask_to_sign(session, old).id
    declined = ask_as_rana(session, old).id
    unconfirmed = ask_to_sign(session, old, email="HUDA.KARIM@refuge.example", locale="ar").id
    waiting_elsewhere = ask_to_sign(session, still_open, email="nadia@mail.example", names={"en": "Nadia Aziz"},
                                    roles={"en": "a doctor"}).id
    session.commit()
    for signatory_id in (approved, withdrawn, declined, waiting_elsewhere, waiting):
        statements.confirm_request(session, queued_confirm_token(session, signatory_id))
    # The waiting request was confirmed from a mail the outbox has not recorded as
    # sent (the worker died between the relay's answer and its commit, and its lease
    # holds the message): still queued, about a request nobody decided.
    message = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.signatory_id == waiting)).one()
    message.next_attempt_at = utcnow() + dt.timedelta(hours=1)
    message_id = message.id
    statements.approve(session, None, session.get(Signatory, approved))
    statements.approve(session, None, session.get(Signatory, withdrawn))
    statements.remove(session, None, session.get(Signatory, withdrawn))
    statements.decline(session, None, session.get(Signatory, declined))
    session.commit()
    deliver()
    assert session.get(OutboxMessage, message_id).state == MessageState.queued
    # The request sent just before the statement closed is still unconfirmed, its link valid.
    session.get(Signatory, unconfirmed).verify_expires_at = utcnow() + DAY
    old = session.get(Campaign, old_id)
    campaigns.close(session, None, old)
    old.closed_at = utcnow() - 181 * DAY
    session.commit()
    listed_before = {s: on_the_list(session, s) for s in (added, approved)}
    withdrawn_before = on_the_list(session, withdrawn)
    assert withdrawn_before[0] == SignatoryState.withdrawn
    assert statements.unlisted_requests(session, old) == 3

    result = services.anonymise_due(session)
    session.commit()
    assert (result.campaigns, result.signatures, result.requests) == (1, 1, 3)
    for gone in (waiting, declined, unconfirmed):
        assert session.get(Signatory, gone) is None
    assert {s: on_the_list(session, s) for s in (added, approved)} == listed_before
    assert session.get(Signatory, added).private_note == "call first"
    assert on_the_list(session, withdrawn) == withdrawn_before
    assert session.get(Signatory, waiting_elsewhere).state == SignatoryState.pending  # its statement is open
    given_up = session.get(OutboxMessage, message_id)
    assert (given_up.state, given_up.last_error, given_up.signatory_id) == (MessageState.dead, "deleted", None)
    assert given_up.payload.get("scrubbed")
    assert entries(session, "statement.requests_retention") == [(old_id, None, {"signatories": 3})]

    gone_keys = [email_key(canonical_email(a)) for a in (REQUESTER, OTHER)]
    assert tables_holding(session, *gone_keys, *REQUESTER_DETAILS, *OTHER_DETAILS) == {}
    assert set(tables_holding(session, "Sami Nasser", "Justice Network", "Nadia Aziz")["signatory_texts"]) == {
        "Sami Nasser", "Justice Network", "Nadia Aziz"}
    again = services.anonymise_due(session)
    assert (again.campaigns, again.requests) == (0, 0)


def test_a_declined_request_goes_with_the_retention_period_if_that_ends_first(session, make_campaign):
    statement = make_campaign(kind=CampaignKind.statement)
    statement.retention_days = 7
    declined = ask_to_sign(session, statement).id
    session.commit()
    statements.confirm_request(session, queued_confirm_token(session, declined))
    statements.decline(session, None, session.get(Signatory, declined))
    campaigns.close(session, None, statement)
    statement.closed_at = utcnow() - 8 * DAY
    session.commit()
    assert statements.requests_due(session).declined == 0  # declined today
    assert services.anonymise_due(session).requests == 1
    assert session.get(Signatory, declined) is None


def test_retention_run_command_counts_the_requests_to_sign_too(app, runner, session, make_campaign):
    old = make_campaign(kind=CampaignKind.statement, slug="old-statement")
    still_open = make_campaign(kind=CampaignKind.statement, slug="open-statement")
    waiting = ask_to_sign(session, old).id
    declined_at_end = ask_as_rana(session, old).id
    expired = ask_to_sign(session, still_open, email="huda.karim+1@refuge.example").id
    declined_long_ago = ask_to_sign(session, still_open, email="huda.karim+2@refuge.example").id
    kept = ask_to_sign(session, still_open, email="huda.karim+3@refuge.example").id
    session.commit()
    for signatory_id in (waiting, declined_at_end, declined_long_ago, kept):
        statements.confirm_request(session, queued_confirm_token(session, signatory_id))
    statements.decline(session, None, session.get(Signatory, declined_at_end))
    statements.decline(session, None, session.get(Signatory, declined_long_ago))
    session.get(Signatory, declined_long_ago).declined_at = utcnow() - 31 * DAY
    session.get(Signatory, expired).verify_expires_at = utcnow() - DAY
    campaigns.close(session, None, old)
    old.closed_at = utcnow() - 181 * DAY
    session.commit()

    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "old-statement\tclosed\tdue since" in dry.output
    assert "0 signature(s) to anonymise, 2 request(s) to sign to delete" in dry.output
    assert ("requests to sign a statement: 1 unconfirmed with an expired link, "
            "1 declined over 30 day(s) ago, to delete") in dry.output
    assert "open-statement" not in dry.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Signatory)) == 5  # a dry run deletes nothing

    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert ("retention: 4 request(s) to sign a statement deleted (2 at the end of the retention period, "
            "1 unconfirmed with an expired link, 1 declined over 30 day(s) ago)") in result.output
    assert session.scalars(sa.select(Signatory.id)).all() == [kept]
    assert runner.invoke(args=["retention", "run", "--dry-run"]).output == ""
    assert "retention: 0 request(s) to sign a statement deleted" in runner.invoke(args=["retention", "run"]).output
