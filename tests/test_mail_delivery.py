"""Delivery for real: the SMTP backend against a local aiosmtpd server, the SendGrid
backend (the real sendgrid client) against a local HTTP stub, retries and give-ups,
and what the outbox keeps afterwards. Nothing of ours is mocked: signers sign through
the test client and `run_worker` delivers."""
from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from email.utils import format_datetime
from urllib.parse import urlsplit

import flask
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from campaign.outbox.cli import run_worker
from campaign.outbox.models import MessageKind, MessageState, OutboxMessage
from campaign.outbox.services import enqueue_mail
from campaign.privacy.keys import utcnow
from campaign.signatures.models import Signature, SignatureState
from campaign.mail.backends import TemporaryFailure
from tests.fixtures.mail import Mailbox, SMTPServer, smtp_server
from tests.fixtures.processes import free_port
from tests.fixtures.web import csrf_token
from tests.fixtures.signatures import take_signatures

PUBLIC_URL = "https://sawt.example.org"
MAIL_FROM = "صوت Sawt <no-reply@sawt.example.org>"
API_KEY = "SG.sawt-test-key.do-not-store-me"
SIGNERS = {"ar": ("ليلى حداد", "layla@mail.example"), "en": ("Sam Jones", "sam@mail.example")}
# Neutral: the subject never names the campaign, so a glance at an inbox gives nothing away.
SUBJECTS = {"ar": "يُرجى تأكيد توقيعك", "en": "Please confirm your signature"}
TITLES = {"ar": "أطلقوا سراحهم", "en": "Set them free"}  # from make_campaign


# --- Helpers ----------------------------------------------------------------------

def sign(client, slug: str, lang: str, *, opt_in: bool = False) -> str:
    """Sign through the form; returns the signer's address."""
    name, address = SIGNERS[lang]
    data = {"csrf_token": csrf_token(client, f"/{lang}/c/{slug}"), "name": name, "email": address,
            "country": "LB", "visibility": "initials"}
    if opt_in:
        data["opt_in"] = "y"
    response = client.post(f"/{lang}/c/{slug}/sign", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return address


def messages(session) -> list[OutboxMessage]:
    """The mails in the outbox (not the tasks that queued them)."""
    session.expire_all()
    take_signatures()
    return session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == MessageKind.mail)
                           .order_by(OutboxMessage.id)).all()


def the_signature(session) -> Signature:
    session.expire_all()
    take_signatures()
    return session.scalars(sa.select(Signature)).one()


def make_due(session) -> None:
    """Let the backoff time pass without waiting for it."""
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.state == MessageState.queued)
        .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1))
    )
    session.commit()


def age(session, by: dt.timedelta) -> None:
    """Make the queued mails older by ``by``: how long a relay outage has lasted."""
    for message in messages(session):
        if message.state == MessageState.queued:
            message.created_at -= by
    session.commit()


def shown_count(client, lang: str, slug: str) -> str:
    html = client.get(f"/{lang}/c/{slug}").get_data(as_text=True)
    # The count box carries the number (the text may say it in words, or "Be the first to sign").
    return re.search(r'class="progress" data-count="(\d+)"', html).group(1)


def links(text: str, kind: str) -> list[str]:
    return [url for url in re.findall(r"https?://[^\s\"'<>]+", text) if f"/{kind}/" in url]


def assert_backing_off(message: OutboxMessage, *, attempts: int, since: dt.datetime) -> None:
    """Still queued for a later attempt, the rendered mail kept for it."""
    assert message.state == MessageState.queued
    assert message.attempts == attempts
    assert message.next_attempt_at >= since + dt.timedelta(seconds=25)  # backoff: 30 s, then doubling
    assert message.payload.get("to"), "the mail is kept until it is delivered or given up on"


def assert_forgotten(message: OutboxMessage, *secrets: str) -> None:
    """Delivered or given up on: nothing of the mail or its recipient is left."""
    assert message.payload == {"locale": message.payload["locale"], "scrubbed": True}
    row = json.dumps([message.payload, message.last_error], ensure_ascii=False)
    for secret in secrets:
        assert secret not in row


# --- SMTP: a real server on 127.0.0.1 (tests/fixtures/mail.py) ------------------

@pytest.fixture
def mail_config():
    """Mail settings for the `app` fixture below; each group of tests overrides it."""
    return {}


@pytest.fixture
def app(make_app, mail_config):
    """conftest's app with the backend under test, and a PUBLIC_URL that is not the
    test client's host (links must be built from it)."""
    app = make_app(PUBLIC_URL=PUBLIC_URL, MAIL_FROM=MAIL_FROM, **mail_config)
    with app.app_context():
        yield app


class TestSMTP:
    @pytest.fixture
    def smtp_port(self) -> int:
        return free_port()

    @pytest.fixture
    def mail_config(self, smtp_port):
        return {"MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_port}

    @pytest.fixture
    def mailbox(self, smtp_port):
        with smtp_server(smtp_port) as mailbox:
            yield mailbox

    @pytest.mark.parametrize("lang", ["ar", "en"])
    def test_confirmation_arrives_in_the_signers_language_and_the_link_counts(
        self, app, client, make_campaign, mailbox, lang
    ):
        slug = make_campaign().slug
        address = sign(client, slug, lang)
        assert mailbox.received == [], "nothing is sent inside the request"
        assert run_worker(app, once=True) == 1

        [received] = mailbox.received
        assert received.mail_from == "no-reply@sawt.example.org"
        assert received.rcpt_tos == [address]
        mail = received.message
        assert mail["From"] == MAIL_FROM
        assert mail["To"] == address
        assert mail["Subject"] == SUBJECTS[lang]
        assert mail["Content-Language"] == lang
        assert mail.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]

        text = mail.get_body(preferencelist=("plain",)).get_content()
        html = mail.get_body(preferencelist=("html",)).get_content()
        assert TITLES[lang] in text and TITLES[lang] in html
        [confirm_url] = links(text, "confirm")
        [withdraw_url] = links(text, "withdraw")
        assert confirm_url.startswith(f"{PUBLIC_URL}/{lang}/confirm/")
        assert withdraw_url.startswith(f"{PUBLIC_URL}/{lang}/withdraw/")
        # The HTML part links to the same two pages and nowhere else, and loads nothing.
        assert set(re.findall(r'href="([^"]+)"', html)) == {confirm_url, withdraw_url}
        assert "<img" not in html.lower() and "url(" not in html.lower() and "src=" not in html.lower()
        assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in html

        confirm_path = urlsplit(confirm_url).path
        assert shown_count(client, lang, slug) == "0"
        assert client.get(confirm_path).status_code == 200
        assert shown_count(client, lang, slug) == "0", "opening the link does not confirm"
        done = client.post(confirm_path, data={"csrf_token": csrf_token(client, confirm_path)})
        assert done.status_code == 303
        assert shown_count(client, lang, slug) == "1"

    @pytest.mark.parametrize("opt_in", [False, True])
    def test_outbox_forgets_the_mail_once_delivered(self, app, client, session, make_campaign, mailbox, opt_in):
        slug = make_campaign().slug
        address = sign(client, slug, "en", opt_in=opt_in)
        [queued] = messages(session)
        assert queued.payload["to"] == address

        run_worker(app, once=True)
        [message] = messages(session)
        assert message.state == MessageState.sent and message.attempts == 1
        assert message.sent_at is not None and message.last_error is None
        assert_forgotten(message, address, "/confirm/", "/withdraw/")
        # Unconfirmed, the signature keeps the address (for a fresh link if this mail is lost).
        assert the_signature(session).email == address

        [received] = mailbox.received
        path = urlsplit(links(received.message.get_body(preferencelist=("plain",)).get_content(), "confirm")[0]).path
        client.post(path, data={"csrf_token": csrf_token(client, path)})
        signature = the_signature(session)
        assert signature.state == SignatureState.verified
        assert signature.email == (address if opt_in else None), "kept only for updates the signer asked for"

    def test_address_goes_when_the_last_queued_mail_to_it_is_delivered(
        self, app, client, session, make_campaign, mailbox
    ):
        slug = make_campaign().slug
        address = sign(client, slug, "en")
        mailbox.rcpt_reply = "451 4.7.1 Greylisted, try again later"
        run_worker(app, once=True)  # the first mail is deferred

        # The signer asks for a new link; the server accepts it; they confirm with it.
        form_url = f"/en/c/{slug}/check-email"
        client.post(f"/en/c/{slug}/resend", data={"csrf_token": csrf_token(client, form_url), "email": address})
        mailbox.rcpt_reply = None
        assert run_worker(app, once=True) == 1  # only the new one: the first is backing off
        [received] = mailbox.received
        path = urlsplit(links(received.message.get_body(preferencelist=("plain",)).get_content(), "confirm")[0]).path
        client.post(path, data={"csrf_token": csrf_token(client, path)})
        signature = the_signature(session)
        assert signature.state == SignatureState.verified
        assert signature.email == address, "a mail to it is still queued"

        make_due(session)
        assert run_worker(app, once=True) == 1
        # The deferred first mail carries the links of the one delivered since: not sent.
        assert len(mailbox.received) == 1
        assert the_signature(session).email is None
        assert [(m.state, m.last_error) for m in messages(session) if m.kind.value == "mail"] == [
            (MessageState.dead, "repeat"), (MessageState.sent, None)]
        for message in messages(session):
            assert_forgotten(message, address)

    @pytest.mark.parametrize("stage", ["rcpt", "data"])
    def test_temporary_refusal_is_retried_with_backoff(self, app, client, session, make_campaign, mailbox, stage):
        slug = make_campaign().slug
        address = sign(client, slug, "ar")
        setattr(mailbox, f"{stage}_reply", f"451 4.7.1 <{address}> greylisted, try again later")

        before = utcnow()
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert_backing_off(message, attempts=1, since=before)
        assert "451" in message.last_error and address not in message.last_error
        assert mailbox.received == []
        assert run_worker(app, once=True) == 0, "not due again before the backoff ends"

        setattr(mailbox, f"{stage}_reply", None)
        make_due(session)
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert message.state == MessageState.sent and message.attempts == 2
        assert message.last_error is None
        [received] = mailbox.received
        assert received.rcpt_tos == [address]
        assert received.message["Subject"] == SUBJECTS["ar"]

    @pytest.mark.parametrize("stage", ["rcpt", "data"])
    def test_permanent_refusal_gives_up_at_once(self, app, client, session, make_campaign, mailbox, stage):
        slug = make_campaign().slug
        address = sign(client, slug, "en")
        setattr(mailbox, f"{stage}_reply", f"550 5.1.1 <{address}>: no such mailbox")

        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert message.state == MessageState.dead and message.attempts == 1
        assert "550" in message.last_error
        assert_forgotten(message, address)

        setattr(mailbox, f"{stage}_reply", None)
        make_due(session)
        assert run_worker(app, once=True) == 0, "a permanent failure is never retried"
        assert mailbox.received == []
        assert messages(session)[0].attempts == 1

    @pytest.mark.parametrize(("stage", "reply"), [
        ("greeting", "554 5.3.2 No SMTP service here"),
        ("mail", "530 5.7.0 Authentication required"),
        ("mail", "553 5.7.1 <no-reply@sawt.example.org>: Sender address rejected: not owned by user"),
    ])
    def test_a_relay_refusing_every_mail_is_a_temporary_failure(
        self, app, client, session, make_campaign, mailbox, stage, reply
    ):
        """A 5xx before any recipient is named (the greeting, our sender, our login)
        is the answer every mail gets: the relay is out of service or misconfigured,
        not this mail wrong. It waits for the relay, as mail waits for a SendGrid key."""
        slug = make_campaign().slug
        address = sign(client, slug, "en")
        mailbox.refuse(stage, reply)

        before = utcnow()
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert_backing_off(message, attempts=1, since=before)
        assert message.last_error == f"SMTP {reply[:3]}"

        mailbox.refuse()
        make_due(session)
        assert run_worker(app, once=True) == 1
        assert [received.rcpt_tos for received in mailbox.received] == [[address]]
        assert messages(session)[0].state == MessageState.sent

    def test_a_mail_too_big_for_the_relay_gives_up_at_once(self, app, client, session, make_campaign, mailbox):
        """552 for our sender: the size announced with MAIL FROM (RFC 1870) is too
        big. That is about this mail, and sending it again cannot help."""
        sign(client, make_campaign().slug, "en")
        mailbox.refuse("mail", "552 5.3.4 Message size exceeds fixed maximum message size")
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert message.state == MessageState.dead and message.last_error == "SMTP 552"

    def test_unreachable_server_is_a_temporary_failure(self, app, client, session, make_campaign, smtp_port):
        slug = make_campaign().slug
        address = sign(client, slug, "en")

        before = utcnow()
        assert run_worker(app, once=True) == 1  # nothing listens on smtp_port yet
        [message] = messages(session)
        assert_backing_off(message, attempts=1, since=before)
        assert message.last_error == "SMTP connection: ConnectionRefusedError"

        with smtp_server(smtp_port) as mailbox:
            make_due(session)
            assert run_worker(app, once=True) == 1
        [received] = mailbox.received
        assert received.rcpt_tos == [address]
        assert messages(session)[0].state == MessageState.sent

    def test_a_relay_down_for_hours_is_waited_out_then_delivered(self, app, client, session, make_campaign,
                                                                  smtp_port):
        """Tries are not counted: a mail failing longer than eight tries used to last
        (2 h 7 min) is still tried, at most half an hour apart, and goes when the
        relay is back."""
        address = sign(client, make_campaign().slug, "en")
        for _ in range(12):
            make_due(session)
            assert run_worker(app, once=True) == 1  # nothing listens on smtp_port
        age(session, dt.timedelta(hours=10))

        before = utcnow()
        make_due(session)
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert message.state == MessageState.queued and message.attempts == 13
        assert message.last_error == "SMTP connection: ConnectionRefusedError"
        assert before + dt.timedelta(minutes=29) < message.next_attempt_at <= utcnow() + dt.timedelta(minutes=30), (
            "the backoff stops growing at OUTBOX_MAX_RETRY_SECONDS")

        with smtp_server(smtp_port) as mailbox:
            make_due(session)
            assert run_worker(app, once=True) == 1
        assert [received.rcpt_tos for received in mailbox.received] == [[address]]
        [message] = messages(session)
        assert message.state == MessageState.sent and message.attempts == 14
        assert_forgotten(message, address)

    def test_a_mail_held_back_ages_from_when_it_is_due(self, app, session, mailbox):
        """A letter to a target may wait days for its turn (targets.services spreads
        them out): its life, by which it is given up, starts when it is due."""
        enqueue_mail(session, {"to": "embassy@gov.example", "subject": "Free them", "text": "…", "locale": "en"},
                     template="letter", not_before=utcnow() + dt.timedelta(days=5))
        session.commit()
        # Five days pass, and its first try meets a relay that defers it.
        [message] = messages(session)
        message.created_at -= dt.timedelta(days=5)
        message.next_attempt_at -= dt.timedelta(days=5)
        session.commit()
        mailbox.refuse("rcpt", "451 4.3.0 Temporary lookup failure")
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert message.state == MessageState.queued, "not given up at its first try"
        assert message.last_error == "recipient deferred ([451])"


class TestSMTPConnections:
    """One connection carries the messages that follow each other; a failure or an
    idle connection the relay let go never carries over to the next message."""

    @pytest.fixture
    def server(self):
        server = SMTPServer(free_port())
        server.start()
        yield server
        server.stop()

    @pytest.fixture
    def backend(self, server):
        from campaign.mail.backends import SMTPBackend

        app = flask.Flask(__name__)
        app.config.update(MAIL_FROM=MAIL_FROM, SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_USERNAME=None,
                          SMTP_PASSWORD=None, SMTP_STARTTLS=False)
        backend = SMTPBackend(app)
        yield backend
        backend.close()

    @staticmethod
    def mail(n: int) -> dict:
        return {"to": f"reader{n}@mail.example", "subject": "News", "text": f"Message {n}", "locale": "en"}

    def test_messages_that_follow_each_other_share_one_connection(self, app, session, server):
        app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=server.port)
        for n in range(5):
            enqueue_mail(session, self.mail(n), template="update")
        session.commit()
        assert run_worker(app, once=True) == 5
        received = server.mailbox.received
        assert [r.rcpt_tos for r in received] == [[f"reader{n}@mail.example"] for n in range(5)]
        assert len({r.connection for r in received}) == 1

    def test_a_connection_the_relay_let_go_is_replaced(self, backend, server):
        backend.send(self.mail(0))
        server.stop()  # as a relay closes an idle connection (or restarts)
        server.start()
        backend.send(self.mail(1))
        first, second = server.mailbox.received
        assert first.connection != second.connection

    def test_after_a_refusal_the_next_message_starts_afresh(self, backend, server):
        server.mailbox.refuse("data", "451 try again later")
        with pytest.raises(TemporaryFailure):
            backend.send(self.mail(0))
        server.mailbox.refuse()
        backend.send(self.mail(1))
        backend.send(self.mail(2))
        [second, third] = server.mailbox.received
        assert second.connection == third.connection

    def test_close_says_goodbye_and_the_next_message_reconnects(self, backend, server):
        backend.send(self.mail(0))
        backend.close()
        backend.close()  # twice is harmless
        backend.send(self.mail(1))
        first, second = server.mailbox.received
        assert first.connection != second.connection


class TestRelayDownForEveryone:
    """An answer every mail would get (the relay down or refusing at the greeting,
    our login or our sender; SendGrid's 5xx, 429, 401, 403 or no answer) pauses mail
    in the worker: the mail behind the one that met it is not tried, keeps its tries
    and its place, and goes as soon as the relay is back. Tasks and posts go on."""

    PAUSE = 0.3  # OUTBOX_PAUSE_SECONDS for these tests (5 s by default)

    @pytest.fixture
    def app(self, app, smtp_relay):
        app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_relay.port,
                          OUTBOX_PAUSE_SECONDS=self.PAUSE, OUTBOX_MAX_PAUSE_SECONDS=4 * self.PAUSE)
        return app

    @staticmethod
    def queue_mails(session, n: int = 20) -> dt.datetime:
        """``n`` mails due since a minute ago; returns when they fell due."""
        for i in range(n):
            enqueue_mail(session, {"to": f"reader{i}@mail.example", "subject": "News", "text": f"Message {i}",
                                   "locale": "en"}, template="update")
        due = (utcnow() - dt.timedelta(minutes=1)).replace(microsecond=0)
        session.execute(sa.update(OutboxMessage).values(next_attempt_at=due))
        session.commit()
        return due

    @staticmethod
    def backend(app):
        from campaign.mail.backends import backend_for

        return backend_for(app)

    @pytest.mark.parametrize(("stage", "reply"), [
        ("greeting", "421 4.3.2 Service shutting down, closing transmission channel"),
        ("greeting", "554 5.3.2 No SMTP service here"),
        ("mail", "530 5.7.0 Authentication required"),
        ("down", None),
    ])
    def test_smtp_refusing_before_any_recipient_is_relay_wide(self, app, smtp_relay, stage, reply):
        if stage == "down":
            smtp_relay.stop()
        else:
            smtp_relay.mailbox.refuse(stage, reply)
        with pytest.raises(TemporaryFailure) as failure:
            self.backend(app).send(TestSMTPConnections.mail(0))
        assert failure.value.relay_wide

    @pytest.mark.parametrize(("stage", "reply"), [
        ("rcpt", "451 4.3.0 Temporary lookup failure"),
        ("data", "452 4.3.1 Insufficient system storage"),
    ])
    def test_smtp_deferring_one_mail_is_not_relay_wide(self, app, smtp_relay, stage, reply):
        smtp_relay.mailbox.refuse(stage, reply)
        with pytest.raises(TemporaryFailure) as failure:
            self.backend(app).send(TestSMTPConnections.mail(0))
        assert not failure.value.relay_wide

    def test_a_refusal_on_a_connection_that_carried_other_mail_is_not_relay_wide(self, app, smtp_relay):
        """Relays limit the messages of one connection ("421 too many messages"): the
        next mail, on a new connection, tells whether the relay refuses everyone."""
        backend = self.backend(app)
        backend.send(TestSMTPConnections.mail(0))
        smtp_relay.mailbox.refuse("mail", "421 4.7.0 Too many messages on this connection")
        with pytest.raises(TemporaryFailure) as on_the_old_connection:
            backend.send(TestSMTPConnections.mail(1))
        assert not on_the_old_connection.value.relay_wide
        with pytest.raises(TemporaryFailure) as on_a_new_one:
            backend.send(TestSMTPConnections.mail(2))
        assert on_a_new_one.value.relay_wide
        backend.close()

    @pytest.mark.parametrize("status", [401, 403, 429, 500, 503, "down"])
    def test_sendgrid_failing_is_relay_wide(self, app, sendgrid_stub, status):
        app.config.update(MAIL_BACKEND="sendgrid", SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=sendgrid_stub.url)
        if status == "down":
            sendgrid_stub.stop()
        else:
            sendgrid_stub.status = status
        with pytest.raises(TemporaryFailure) as failure:
            self.backend(app).send(TestSMTPConnections.mail(0))
        assert failure.value.relay_wide

    def test_one_round_tries_one_mail_and_leaves_the_rest_untouched(self, app, client, session, make_campaign,
                                                                     smtp_relay):
        from io import StringIO

        from campaign.outbox.services import MailPause, deliver_due, enqueue_post
        from campaign.social.backends import ConsoleSocial

        due = self.queue_mails(session)
        enqueue_post(session, {"text": "1,000 signatures", "locale": "en"}, template="milestone",
                     idempotency_key="post-during-the-pause")
        session.commit()
        smtp_relay.mailbox.refuse("greeting", "421 4.3.2 Service shutting down, closing transmission channel")
        pause, posts = MailPause(app), StringIO()

        before = utcnow()
        assert deliver_due(app, session, self.backend(app), social=ConsoleSocial(app, posts), pause=pause) == 2
        tried, *untouched = messages(session)
        assert_backing_off(tried, attempts=1, since=before)
        assert tried.last_error == "SMTP 421"
        assert len(untouched) == 19
        assert {(m.state, m.attempts, m.next_attempt_at, m.last_error) for m in untouched} == {
            (MessageState.queued, 0, due, None)}, "not claimed: no try spent, no backoff moved"
        assert "1,000 signatures" in posts.getvalue(), "posts have their own backend"

        # A signature arrives during the pause: it is taken, its confirmation waits.
        sign(client, make_campaign().slug, "en")
        assert deliver_due(app, session, self.backend(app), pause=pause) == 0
        session.expire_all()
        task = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == MessageKind.task)).one()
        assert task.state == MessageState.sent
        assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 1
        confirmation = messages(session)[-1]
        assert (confirmation.template, confirmation.state, confirmation.attempts) == (
            "confirm", MessageState.queued, 0)
        assert [m.attempts for m in messages(session)] == [1] + [0] * 20
        assert smtp_relay.mailbox.received == []

        # The relay is back; once the pause is over, everything goes, once.
        smtp_relay.mailbox.refuse()
        time.sleep(self.PAUSE)
        make_due(session)
        assert deliver_due(app, session, self.backend(app), pause=pause) == 21
        recipients = [r.rcpt_tos[0] for r in smtp_relay.mailbox.received]
        assert sorted(recipients) == sorted([f"reader{i}@mail.example" for i in range(20)] + [SIGNERS["en"][1]])
        assert {m.state for m in messages(session)} == {MessageState.sent}

    def test_a_recipient_deferred_does_not_pause(self, app, session, smtp_relay):
        from campaign.outbox.services import MailPause, deliver_due

        self.queue_mails(session, 3)
        smtp_relay.mailbox.refuse("rcpt", "451 4.3.0 Temporary lookup failure")
        pause = MailPause(app)
        assert deliver_due(app, session, self.backend(app), pause=pause) == 3, "each mail is tried"
        assert [(m.attempts, m.last_error) for m in messages(session)] == [(1, "recipient deferred ([451])")] * 3
        assert not pause.holding

    def test_the_worker_waits_out_the_outage_then_delivers_everything_once(self, app, session, smtp_relay):
        """The pause is the worker's, across its rounds: while the relay refuses, it
        tries one mail each time the pause (doubling) runs out, and once the relay is
        back, all the mail goes within one pause."""
        app.config.update(OUTBOX_POLL_SECONDS=0.05, OUTBOX_RETRY_SECONDS=0.5, OUTBOX_MAX_RETRY_SECONDS=0.5)
        self.queue_mails(session)
        mailbox = smtp_relay.mailbox
        mailbox.refuse("greeting", "554 5.3.2 No SMTP service here")
        outage = 2 * 4 * self.PAUSE  # tries at about 0, 1, 3, 7, 11, 15 and 19 × PAUSE
        back = threading.Timer(outage, mailbox.refuse)
        started = time.monotonic()
        back.start()
        run_worker(app, stop=lambda: len(mailbox.received) >= 20 or time.monotonic() - started > outage + 10)
        back.join()
        recovered_after = time.monotonic() - started - outage

        recipients = [r.rcpt_tos[0] for r in mailbox.received]
        assert sorted(recipients) == sorted(f"reader{i}@mail.example" for i in range(20)), "each mail once"
        assert recovered_after < 4 * self.PAUSE + 1, "delivered within a pause of the relay's return"
        failed_tries = sum(m.attempts for m in messages(session)) - 20
        assert 2 <= failed_tries <= 8, f"{failed_tries} tries met the outage, not one per mail and round"

    def test_sendgrid_asking_to_wait_pauses_at_least_that_long(self, app, session, sendgrid_stub):
        from campaign.outbox.services import MailPause, deliver_due

        app.config.update(MAIL_BACKEND="sendgrid", SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=sendgrid_stub.url,
                          OUTBOX_PAUSE_SECONDS=0.05)
        self.queue_mails(session, 3)
        sendgrid_stub.status, sendgrid_stub.retry_after = 429, 2
        pause, backend = MailPause(app), self.backend(app)
        started = time.monotonic()
        assert deliver_due(app, session, backend, pause=pause) == 1

        sendgrid_stub.status = 202
        time.sleep(0.5)  # ten times the pause of its own
        assert deliver_due(app, session, backend, pause=pause) == 0
        while not deliver_due(app, session, backend, pause=pause) and time.monotonic() < started + 10:
            time.sleep(0.05)
        assert time.monotonic() - started >= 2
        assert sendgrid_stub.answers == {429: 1, 202: 2}


def self_signed_certificate(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that no public authority signed: (cert, key) paths."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return str(cert_path), str(key_path)


class TestSMTPStartTLS:
    """With SMTP_STARTTLS the relay's certificate must be checked: otherwise anyone on
    the path can pose as the relay and read every signer's address, confirmation link
    and the SMTP password."""

    @pytest.fixture
    def smtp_port(self) -> int:
        return free_port()

    @pytest.fixture
    def mail_config(self, smtp_port):
        return {"MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_port, "SMTP_STARTTLS": True}

    @pytest.fixture
    def certificate(self, tmp_path):
        return self_signed_certificate(tmp_path)

    @pytest.fixture
    def mailbox(self, smtp_port, certificate):
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        mailbox = Mailbox()
        controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port, tls_context=context,
                                require_starttls=True)
        controller.start()
        yield mailbox
        controller.stop()

    def test_an_untrusted_certificate_is_refused(self, app, client, session, make_campaign, mailbox):
        slug = make_campaign().slug
        sign(client, slug, "en")
        assert run_worker(app, once=True) == 1
        assert mailbox.received == [], "nothing may go to a relay whose certificate we cannot check"
        [message] = messages(session)
        assert message.state == MessageState.queued, "an operator can fix the trust store: retry later"
        assert message.last_error == "SMTP connection: SSLCertVerificationError"

    def test_a_trusted_certificate_is_accepted(self, app, client, session, make_campaign, mailbox, certificate,
                                                monkeypatch):
        monkeypatch.setenv("SSL_CERT_FILE", certificate[0])  # OpenSSL's own way to add a trusted CA
        slug = make_campaign().slug
        address = sign(client, slug, "en")
        assert run_worker(app, once=True) == 1
        [received] = mailbox.received
        assert received.rcpt_tos == [address]
        assert messages(session)[0].state == MessageState.sent


# --- SendGrid: the real client against a local stub --------------------------------

class TestSendGrid:
    @pytest.fixture
    def mail_config(self, httpserver):
        return {
            "MAIL_BACKEND": "sendgrid",
            "SENDGRID_API_KEY": API_KEY,
            "SENDGRID_API_HOST": httpserver.url_for("/").rstrip("/"),
        }

    @staticmethod
    def answer(httpserver, status: int, address: str = "", retry_after: str | None = None) -> None:
        """The next call to /v3/mail/send gets ``status`` (with a Retry-After header if
        given). Errors echo the recipient and the key, as real error bodies can, so a
        stored error that copied them shows."""
        request = httpserver.expect_oneshot_request("/v3/mail/send", method="POST")
        if status == 202:
            request.respond_with_data("", status=202)
        else:
            request.respond_with_json(
                {"errors": [{"message": f"{address} refused for key {API_KEY}", "field": "personalizations"}]},
                status=status, headers={"Retry-After": retry_after} if retry_after is not None else None,
            )

    @pytest.mark.parametrize("lang", ["ar", "en"])
    def test_payload_is_the_mail_and_nothing_more(self, app, client, session, make_campaign, httpserver, lang):
        slug = make_campaign().slug
        address = sign(client, slug, lang)
        self.answer(httpserver, 202)
        assert run_worker(app, once=True) == 1

        [(request, response)] = httpserver.log
        assert response.status_code == 202
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        payload = request.get_json()
        assert set(payload) == {"from", "subject", "personalizations", "content", "tracking_settings", "headers"}
        # The outbox's one Message-ID, so a copy sent again after a crash is recognisable.
        assert list(payload["headers"]) == ["Message-ID"]
        assert payload["personalizations"] == [{"to": [{"email": address}]}]
        assert payload["from"] == {"email": "no-reply@sawt.example.org", "name": "صوت Sawt"}
        assert payload["subject"] == SUBJECTS[lang]
        assert [part["type"] for part in payload["content"]] == ["text/plain", "text/html"]
        text, html = (part["value"] for part in payload["content"])
        assert links(text, "confirm")[0].startswith(f"{PUBLIC_URL}/{lang}/confirm/")
        assert links(html, "withdraw")[0].startswith(f"{PUBLIC_URL}/{lang}/withdraw/")
        assert "<img" not in html.lower()
        # SendGrid must not rewrite links, add a pixel or append its own unsubscribe.
        assert payload["tracking_settings"] == {
            "click_tracking": {"enable": False, "enable_text": False},
            "open_tracking": {"enable": False},
            "subscription_tracking": {"enable": False},
        }
        body = request.get_data(as_text=True)
        assert "custom_args" not in body and "categories" not in body
        assert SIGNERS[lang][0] not in json.dumps(payload, ensure_ascii=False), "the name is not needed"
        assert "127.0.0.1" not in body

        [message] = messages(session)
        assert message.state == MessageState.sent
        assert_forgotten(message, address)

    # 401/403: our key is wrong or revoked; the mail waits for the operator to fix it.
    @pytest.mark.parametrize("status", [401, 403, 429, 503])
    def test_throttling_server_errors_and_key_problems_are_retried(self, app, client, session, make_campaign, httpserver, status):
        slug = make_campaign().slug
        address = sign(client, slug, "en")
        self.answer(httpserver, status, address)

        before = utcnow()
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert_backing_off(message, attempts=1, since=before)
        assert message.last_error == f"SendGrid {status}"

        self.answer(httpserver, 202)
        make_due(session)
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert message.state == MessageState.sent and message.attempts == 2
        assert len(httpserver.log) == 2

    def test_rejected_request_fails_for_good_with_a_clean_error(self, app, client, session, make_campaign, httpserver):
        slug = make_campaign().slug
        address = sign(client, slug, "en")
        self.answer(httpserver, 400, address)

        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert message.state == MessageState.dead and message.attempts == 1
        assert message.last_error == "SendGrid 400"
        assert_forgotten(message, address, API_KEY, "SG.")

        make_due(session)
        assert run_worker(app, once=True) == 0
        assert len(httpserver.log) == 1

    @pytest.mark.parametrize("status", [429, 503])
    def test_retry_after_in_seconds_puts_the_next_try_off(self, app, client, session, make_campaign, httpserver,
                                                          status):
        address = sign(client, make_campaign().slug, "en")
        self.answer(httpserver, status, address, retry_after="120")

        before = utcnow()
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert message.state == MessageState.queued and message.last_error == f"SendGrid {status}"
        assert before + dt.timedelta(seconds=120) <= message.next_attempt_at <= utcnow() + dt.timedelta(seconds=120)

        self.answer(httpserver, 202)
        make_due(session)
        assert run_worker(app, once=True) == 1
        assert messages(session)[0].state == MessageState.sent

    def test_retry_after_as_a_date_puts_the_next_try_off(self, app, client, session, make_campaign, httpserver):
        address = sign(client, make_campaign().slug, "en")
        until = (utcnow() + dt.timedelta(minutes=10)).replace(microsecond=0)
        self.answer(httpserver, 429, address, retry_after=format_datetime(until.replace(tzinfo=dt.UTC), usegmt=True))

        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert until <= message.next_attempt_at <= until + dt.timedelta(seconds=5)

    @pytest.mark.parametrize("retry_after", ["soon", "-120", "1.5", "Wed, 99 Oct 2015 07:28:00 GMT",
                                             "Wed, 21 Oct 2015 07:28:00 GMT", "1"])
    def test_an_unreadable_past_or_short_retry_after_leaves_the_backoff(
        self, app, client, session, make_campaign, httpserver, retry_after
    ):
        """Retry-After only ever puts a try off: the backoff still applies."""
        address = sign(client, make_campaign().slug, "en")
        self.answer(httpserver, 429, address, retry_after=retry_after)

        before = utcnow()
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert_backing_off(message, attempts=1, since=before)
        assert message.next_attempt_at <= utcnow() + dt.timedelta(seconds=30)

    def test_a_retry_after_longer_than_a_mail_lives_is_cut_to_its_life(self, app, client, session, make_campaign,
                                                                        httpserver):
        address = sign(client, make_campaign().slug, "en")
        self.answer(httpserver, 503, address, retry_after="99999999999")  # some three thousand years

        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        life = dt.timedelta(seconds=app.config["OUTBOX_GIVE_UP_SECONDS"])
        assert message.state == MessageState.queued
        assert utcnow() + life - dt.timedelta(seconds=5) <= message.next_attempt_at <= utcnow() + life

    def test_gives_up_once_as_old_as_a_confirmation_link_lives(self, app, client, session, make_campaign,
                                                               httpserver):
        """Tries are not counted (OUTBOX_MAX_ATTEMPTS is for bugs, not outages): a mail
        failing temporarily is given up once OUTBOX_GIVE_UP_SECONDS old, by default
        when the confirmation link it carries stops working."""
        assert app.config["OUTBOX_GIVE_UP_SECONDS"] == app.config["VERIFY_TOKEN_HOURS"] * 3600
        app.config["OUTBOX_MAX_ATTEMPTS"] = 3
        address = sign(client, make_campaign().slug, "en")
        life = dt.timedelta(seconds=app.config["OUTBOX_GIVE_UP_SECONDS"])

        def fails_again() -> OutboxMessage:
            self.answer(httpserver, 503, address)
            make_due(session)
            assert run_worker(app, once=True) == 1
            [message] = messages(session)
            return message

        for attempt in (1, 2, 3, 4):
            assert fails_again().state == MessageState.queued
        age(session, life - dt.timedelta(minutes=1))
        message = fails_again()
        assert message.state == MessageState.queued and message.attempts == 5, "a minute short of its life"

        age(session, dt.timedelta(minutes=1))
        message = fails_again()
        assert message.state == MessageState.dead and message.attempts == 6
        assert message.last_error == "SendGrid 503"
        assert_forgotten(message, address, API_KEY)

        make_due(session)
        assert run_worker(app, once=True) == 0
        assert len(httpserver.log) == 6

    def test_unreachable_api_is_a_temporary_failure(self, app, client, session, make_campaign):
        app.config["SENDGRID_API_HOST"] = f"http://127.0.0.1:{free_port()}"
        slug = make_campaign().slug
        sign(client, slug, "en")

        before = utcnow()
        assert run_worker(app, once=True) == 1
        [message] = messages(session)
        assert_backing_off(message, attempts=1, since=before)
        assert message.last_error.startswith("SendGrid connection:")


    def test_an_answer_cut_short_is_a_temporary_failure(self, app, client, session, make_campaign):
        """An API that promises more than it sends (http.client.IncompleteRead, not an
        OSError) fails that try and nothing else: the worker goes on."""
        import socket
        import threading

        listener = socket.create_server(("127.0.0.1", 0))
        app.config["SENDGRID_API_HOST"] = f"http://127.0.0.1:{listener.getsockname()[1]}"

        def answer_short() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\nnot a hundred bytes")

        server = threading.Thread(target=answer_short, daemon=True)
        server.start()
        slug = make_campaign().slug
        sign(client, slug, "en")
        before = utcnow()
        assert run_worker(app, once=True) == 1
        server.join(5)
        listener.close()
        [message] = messages(session)
        assert_backing_off(message, attempts=1, since=before)
        assert message.last_error.startswith("SendGrid connection:")

def test_a_mail_lives_as_long_as_its_confirmation_link_unless_told(monkeypatch, tmp_path):
    """OUTBOX_GIVE_UP_SECONDS follows VERIFY_TOKEN_HOURS: no mail outage that a
    confirmation link outlives may lose the mail carrying it."""
    from campaign.config import from_environment

    monkeypatch.delenv("OUTBOX_GIVE_UP_SECONDS", raising=False)
    monkeypatch.setenv("VERIFY_TOKEN_HOURS", "96")
    assert from_environment(str(tmp_path))["OUTBOX_GIVE_UP_SECONDS"] == 96 * 3600
    monkeypatch.setenv("OUTBOX_GIVE_UP_SECONDS", "3600")
    assert from_environment(str(tmp_path))["OUTBOX_GIVE_UP_SECONDS"] == 3600
