"""Organisers deliver a campaign to its targets: one e-mail each in the target's
language (or every language), the confirmed count, the named signatories attached
as CSV — never to a target that receives no names — spread out in time, with a
status per target and a public log."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import g
from flask_babel import refresh

from campaign.organiser.access import PermissionDenied
from campaign.outbox.cli import run_worker
from campaign.signatures.models import Signature, Visibility
from campaign.targets import services
from campaign.targets.models import Delivery, DeliveryState
from tests.conftest import csrf_token, login
from tests.fixtures.web import new_client
from tests.targets_helpers import addressed, confirmed_signer  # noqa: F401
from tests.fixtures.mail import smtp_server
from tests.fixtures.processes import free_port
from tests.test_mail_delivery import MAIL_FROM, PUBLIC_URL, make_due


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def app(make_app, smtp_port):
    app = make_app(PUBLIC_URL=PUBLIC_URL, MAIL_FROM=MAIL_FROM, MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1",
                   SMTP_PORT=smtp_port)
    with app.app_context():
        yield app


@pytest.fixture
def mailbox(smtp_port):
    with smtp_server(smtp_port) as mailbox:
        yield mailbox


def signers(session, campaign):
    named = confirmed_signer(session, campaign, "layla@mail.example", name="Layla Haddad")
    hidden = confirmed_signer(session, campaign, "sam@mail.example", name="Sam Jones")
    session.execute(sa.update(Signature).where(Signature.id == named.id).values(visibility=Visibility.full_name))
    formula = confirmed_signer(session, campaign, "eve@mail.example", name="=CMD()")
    session.execute(sa.update(Signature).where(Signature.id == formula.id).values(visibility=Visibility.full_name))
    session.commit()
    return named, hidden


def test_delivery_carries_text_count_and_only_consented_names(app, session, addressed, mailbox):
    campaign, (first, guarded) = addressed
    first.language = "en"
    slug, first_id, guarded_id = campaign.slug, first.id, guarded.id
    signers(session, campaign)
    deliveries = services.deliver_campaign(session, None, campaign, [first.id, guarded.id], spacing_minutes=15)
    session.commit()
    assert deliveries[1].scheduled_for - deliveries[0].scheduled_for == dt.timedelta(minutes=15)
    run_worker(app, once=True)

    received = {r.rcpt_tos[0]: r.message for r in mailbox.received if "example.org" in r.rcpt_tos[0]
                and "mail.example" not in r.rcpt_tos[0]}
    to_first = received["un-desk@un.example.org"]
    assert to_first["Subject"] == "Set them free"
    assert to_first["Content-Language"] == "en"
    text = to_first.get_body(preferencelist=("plain",)).get_content()
    assert "3 people have signed and confirmed their signature; 2 of them chose to be named" in text
    assert "Demand 1" in text
    pdf, attachment = list(to_first.iter_attachments())
    # The campaign as a PDF in the target's language (statements.pdf), then the names.
    assert pdf.get_filename() == f"{slug}.pdf" and pdf.get_content_type() == "application/pdf"
    assert pdf.get_payload(decode=True).startswith(b"%PDF")
    assert attachment.get_filename() == f"{slug}-signatories.csv"
    csv_text = attachment.get_payload(decode=True).decode("utf-8-sig")
    assert "Layla Haddad,Lebanon" in csv_text and "'=CMD()" in csv_text
    assert "Sam" not in to_first.as_string()

    # The second is scheduled 15 minutes later: not sent yet.
    session.expire_all()
    states = {d.target_id: d.state for d in session.scalars(sa.select(Delivery))}
    assert states == {first_id: DeliveryState.sent, guarded_id: DeliveryState.queued}
    make_due(session)
    run_worker(app, once=True)

    # A target with no language gets every language; one that never receives names, the count only.
    [to_guarded] = [r.message for r in mailbox.received if r.rcpt_tos == ["consular@embassy.example.org"]]
    # The PDF in both languages; no names.
    assert [a.get_filename() for a in to_guarded.iter_attachments()] == [f"{slug}.pdf"]
    guarded_text = to_guarded.get_body(preferencelist=("plain",)).get_content()
    assert "أطلقوا سراحهم" in guarded_text and "Set them free" in guarded_text
    assert "Layla" not in to_guarded.as_string()


def test_a_refused_recipient_is_a_bounce(app, session, addressed, mailbox):
    campaign, (first, _) = addressed
    services.deliver_campaign(session, None, campaign, [first.id], with_names=False)
    session.commit()
    mailbox.rcpt_reply = "550 No such mailbox"
    run_worker(app, once=True)
    session.expire_all()
    assert session.scalars(sa.select(Delivery)).one().state == DeliveryState.bounced


def test_names_leave_only_with_the_export_permission(app, session, addressed, make_organiser):
    campaign, (first, _) = addressed
    editor = make_organiser("editor")
    editor.memberships[0].organisation_id = campaign.organisation_id
    session.commit()
    with pytest.raises(PermissionDenied):
        services.deliver_campaign(session, editor, campaign, [first.id], with_names=True)
    session.rollback()
    assert len(services.deliver_campaign(session, editor, campaign, [first.id], with_names=False)) == 1


def test_workspace_delivery_and_public_log(app, client, session, addressed, make_organiser, mailbox):
    campaign, (first, guarded) = addressed
    slug, campaign_id, first_id = campaign.slug, campaign.id, first.id
    owner = make_organiser("owner")
    owner.memberships[0].organisation_id = campaign.organisation_id
    session.commit()
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign_id}/targets"
    response = client.post(f"/en/manage/campaigns/{campaign_id}/deliver", data={
        "csrf_token": csrf_token(client, url), "deliver_to": [str(first_id)], "spacing_minutes": "5",
        "with_names": "y"})
    assert response.status_code == 303
    run_worker(app, once=True)
    refresh()
    g.pop("organiser", None)  # run_worker ended the session the cached organiser belonged to
    page = client.get(url).get_data(as_text=True)
    assert "Sent" in page and "Mark as bounced" in page
    public = client.get(f"/en/c/{slug}").get_data(as_text=True)
    assert "Delivered to <bdi>Body un-desk</bdi> on" in public


def test_marking_a_delivery_bounced_twice_is_no_error(app, session, addressed, make_organiser):
    """The second click on "Mark as bounced" was a 500 (a bounced delivery cannot
    become bounced), and so was marking one that failed. Found by
    tests/test_hostile_input.py."""
    campaign, (first, guarded) = addressed
    campaign_id = campaign.id
    owner = make_organiser("owner")
    owner.memberships[0].organisation_id = campaign.organisation_id
    sent, failed = services.deliver_campaign(session, None, campaign, [first.id, guarded.id], with_names=False)
    sent.state, failed.state = DeliveryState.sent, DeliveryState.failed
    session.commit()
    sent_id, failed_id = sent.id, failed.id
    client = new_client(app)  # its own context per request: the deliveries' mails left a locale in this one
    login(client, owner)
    token = csrf_token(client, f"/en/manage/campaigns/{campaign_id}/targets")
    for delivery_id in (sent_id, sent_id, failed_id):
        response = client.post(f"/en/manage/deliveries/{delivery_id}/bounced", data={"csrf_token": token})
        assert response.status_code == 303
    session.expire_all()
    assert [session.get(Delivery, i).state for i in (sent_id, failed_id)] == [DeliveryState.bounced,
                                                                             DeliveryState.failed]
    page = client.get(f"/en/manage/campaigns/{campaign_id}/targets").get_data(as_text=True)
    assert "This delivery can no longer be marked as bounced." in page
