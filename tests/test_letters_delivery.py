"""Letters to targets delivered for real: through the SMTP backend to a local
aiosmtpd server and through the SendGrid client to a local HTTP stub. What arrives
must carry the signer's language, their address as Reply-To and their name only
when they consented, and nothing of them at a target that never receives names."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from campaign.outbox.cli import run_worker
from campaign.targets import services
from campaign.targets.models import Letter, LetterState
from tests.targets_helpers import addressed, confirmed_signer, letters_outbox  # noqa: F401
from tests.fixtures.mail import smtp_server
from tests.fixtures.processes import free_port
from tests.test_mail_delivery import API_KEY, MAIL_FROM, PUBLIC_URL

SUBJECTS = {"ar": "أوقفوا الترحيل", "en": "Stop the deportations"}  # tests/targets_helpers.LETTER


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


def letters_received(mailbox, *addresses):
    return [r for r in mailbox.received if set(r.rcpt_tos) & set(addresses)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_consented_letter_arrives_signed_with_reply_to_in_the_signers_language(app, session, addressed,
                                                                                  mailbox, lang):
    campaign, (first, guarded) = addressed
    name = "ليلى حداد" if lang == "ar" else "Layla Haddad"
    signer = confirmed_signer(session, campaign, "layla@mail.example", name=name, locale=lang)
    services.send_letters(session, signer, [first.id], locale=lang, with_name=True, reply_to="layla@mail.example")
    session.commit()
    run_worker(app, once=True)

    [received] = letters_received(mailbox, "un-desk@un.example.org")
    mail = received.message
    assert mail["Subject"] == SUBJECTS[lang]
    assert mail["Content-Language"] == lang
    assert mail["Reply-To"] == "layla@mail.example"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert name in text and name in html
    assert ("لبنان" if lang == "ar" else "Lebanon") in text
    assert f'dir="{"rtl" if lang == "ar" else "ltr"}"' in html
    session.expire_all()
    assert session.scalars(sa.select(Letter)).one().state == LetterState.sent
    # Delivered: the outbox forgets the address and the letter.
    [message] = letters_outbox(session)
    assert message.payload == {"locale": lang, "scrubbed": True}


def test_no_name_and_no_reply_to_without_consent(app, session, addressed, mailbox):
    campaign, (first, _) = addressed
    signer = confirmed_signer(session, campaign, "sam@mail.example", name="Sam Jones")
    services.send_letters(session, signer, [first.id], locale="en", with_name=False, reply_to=None)
    session.commit()
    run_worker(app, once=True)
    [received] = letters_received(mailbox, "un-desk@un.example.org")
    raw = received.message.as_string()
    assert "Sam" not in raw and "sam@mail.example" not in raw
    assert received.message["Reply-To"] is None
    assert "a signatory of this campaign" in received.message.get_body(preferencelist=("plain",)).get_content()


def test_a_target_that_never_receives_names_gets_none_even_with_consent(app, session, addressed, mailbox):
    campaign, (_, guarded) = addressed
    signer = confirmed_signer(session, campaign, "layla@mail.example", name="Layla Haddad")
    services.send_letters(session, signer, [guarded.id], locale="en", with_name=True,
                          reply_to="layla@mail.example")
    session.commit()
    run_worker(app, once=True)
    [received] = letters_received(mailbox, "consular@embassy.example.org")
    raw = received.message.as_string()
    assert "Layla" not in raw and "layla@mail.example" not in raw and "Lebanon" not in raw
    assert received.message["Reply-To"] is None


class TestSendGrid:
    @pytest.fixture
    def app(self, make_app, httpserver):
        app = make_app(PUBLIC_URL=PUBLIC_URL, MAIL_FROM=MAIL_FROM, MAIL_BACKEND="sendgrid",
                       SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=httpserver.url_for("").rstrip("/"))
        httpserver.expect_request("/v3/mail/send", method="POST").respond_with_data("", status=202)
        with app.app_context():
            yield app

    def test_reply_to_travels_in_sendgrids_own_field(self, app, session, addressed, httpserver):
        campaign, (first, _) = addressed
        signer = confirmed_signer(session, campaign, "layla@mail.example")
        services.send_letters(session, signer, [first.id], locale="en", with_name=True,
                              reply_to="layla@mail.example")
        session.commit()
        run_worker(app, once=True)
        bodies = [json.loads(request.get_data()) for request, _ in httpserver.log]
        [letter] = [b for b in bodies if b["personalizations"][0]["to"][0]["email"] == "un-desk@un.example.org"]
        assert letter["reply_to"] == {"email": "layla@mail.example"}
        assert "Reply-To" not in (letter.get("headers") or {})
