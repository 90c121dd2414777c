"""The outbox under stress: mail to someone who withdrew or erased their data is
cancelled, and a worker that dies between sending and committing sends the mail
again with the same Message-ID (at least once, deduplicable)."""
from __future__ import annotations

import io
import re
import signal
import subprocess
from urllib.parse import urlsplit

import sqlalchemy as sa

from campaign.config import ROOT
from campaign.mail.backends import ConsoleBackend
from campaign.outbox.cli import run_worker
from campaign.outbox.models import MessageKind, MessageState, OutboxMessage
from campaign.outbox.services import deliver_due, enqueue_mails, enqueue_task, mail_to_compose, message_id
from campaign.retention import services as retention
from campaign.signatures.services import LINK_MAIL_COMPOSER
from tests.conftest import csrf_token
from tests.fixtures.mail import queued_mail, smtp_server
from tests.fixtures.processes import WORKER_COMMAND, free_port, process_env
from tests.fixtures.signatures import take_signatures
from tests.test_mail_delivery import assert_forgotten, make_due

ADDRESS = "layla@mail.example"


def sign(client, slug: str, lang: str = "en", address: str = ADDRESS) -> None:
    data = {"csrf_token": csrf_token(client, f"/{lang}/c/{slug}"), "name": "Layla Haddad", "email": address,
            "country": "LB", "visibility": "initials"}
    assert client.post(f"/{lang}/c/{slug}/sign", data=data).status_code == 303
    take_signatures(client.application)  # the worker's first step: the row, and the mail queued


def queued(session) -> list[OutboxMessage]:
    session.expire_all()
    return session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.state == MessageState.queued).order_by(OutboxMessage.id)
    ).all()


def mails(session) -> list[OutboxMessage]:
    """Every mail in the outbox, whatever its state (not the sign forms' tasks)."""
    session.expire_all()
    return session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == MessageKind.mail)
                           .order_by(OutboxMessage.id)).all()


def path_in_outbox(session, part: str) -> str:
    """A link from a mail still waiting in the outbox (the signer could have it from an
    earlier mail that was delivered)."""
    for message in queued(session):
        for url in re.findall(r"https?://\S+", queued_mail(message).get("text", "")):
            if part in url:
                return urlsplit(url).path
    raise AssertionError(f"no {part} link queued")


def post_button(client, path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def test_withdrawing_cancels_the_queued_confirmation(app, client, session, make_campaign, deliver):
    slug = make_campaign().slug
    sign(client, slug)
    assert post_button(client, path_in_outbox(session, "/withdraw/")).status_code == 200

    assert deliver() == [], "no mail may reach someone who withdrew"
    [message] = mails(session)
    assert message.state == MessageState.dead and message.last_error == "withdrawn"
    assert_forgotten(message, ADDRESS, "Layla")


def test_the_confirmation_is_rendered_by_the_worker_once_and_sent_as_rendered(app, client, session, make_campaign,
                                                                             deliver):
    """The sign request renders no mail: it queues the recipient and the links, and
    the worker renders the message when it first takes it, keeping what it rendered
    for every later attempt."""
    port = free_port()
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    slug = make_campaign().slug
    sign(client, slug)
    [row] = queued(session)
    assert set(row.payload) == {"to", "locale", "compose", "args"} and row.payload["to"] == ADDRESS
    with smtp_server(port) as mailbox:
        mailbox.data_reply = "451 try again later"
        assert run_worker(app, once=True) == 1
        [row] = queued(session)
        assert "compose" not in row.payload and "/confirm/" in row.payload["text"], "rendered with its first attempt"
        first_rendering = dict(row.payload)
        mailbox.data_reply = None
        make_due(session)
        run_worker(app, once=True)
        [received] = mailbox.received
    sent = received.message.get_body(preferencelist=("plain",)).get_content()
    links = re.findall(r"https?://\S+", first_rendering["text"])
    assert links and re.findall(r"https?://\S+", sent) == links
    assert queued(session) == []


def test_a_mail_whose_campaign_is_gone_is_given_up(app, client, session, make_campaign, deliver):
    from campaign.campaigns.models import Campaign

    campaign = make_campaign()
    sign(client, campaign.slug)
    session.execute(sa.delete(Campaign).where(Campaign.id == campaign.id))
    session.commit()
    assert deliver() == []
    [message] = mails(session)
    assert message.state == MessageState.dead and message.last_error == "PermanentFailure"
    assert_forgotten(message, ADDRESS, "Layla")


def test_a_task_or_a_mail_failing_from_a_bug_is_given_up_after_a_few_tries(app, session, deliver):
    """A bug is not an outage: a task that raises, or a mail its composer cannot
    write, gets OUTBOX_MAX_ATTEMPTS tries, not the days a mail outlives a relay."""
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    # Payloads missing what their handlers need: KeyError, as a bug would raise.
    enqueue_task(session, "signatures.resend_link", {"address": ADDRESS, "locale": "en"})
    enqueue_mails(session, [(mail_to_compose(LINK_MAIL_COMPOSER, {}, to=ADDRESS, locale="en"), None, None)],
                  template="confirm")
    session.commit()
    for _ in range(3):
        make_due(session)
        assert deliver() == []
    session.expire_all()
    rows = session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(row.kind, row.state, row.attempts, row.last_error) for row in rows] == [
        (MessageKind.task, MessageState.dead, 3, "KeyError"), (MessageKind.mail, MessageState.dead, 3, "KeyError")]
    for row in rows:
        assert_forgotten(row, ADDRESS)


def test_withdrawing_cancels_a_confirmation_waiting_for_a_retry(app, make_app, session, make_campaign):
    port = free_port()
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    client = app.test_client()
    slug = make_campaign().slug
    sign(client, slug)
    with smtp_server(port) as mailbox:
        mailbox.data_reply = "451 try again later"
        assert run_worker(app, once=True) == 1
        assert len(queued(session)) == 1, "backing off"
        assert post_button(client, path_in_outbox(session, "/withdraw/")).status_code == 200
        mailbox.data_reply = None
        make_due(session)
        run_worker(app, once=True)
        assert mailbox.received == []
    assert queued(session) == []


def test_erasing_cancels_every_queued_mail_of_every_signature(app, client, session, make_campaign, deliver):
    first, second = make_campaign().slug, make_campaign().slug
    sign(client, first)
    sign(client, second, "ar")
    retention.request_erasure(session, ADDRESS, locale="en")
    session.commit()
    erase_path = path_in_outbox(session, "/erase/")
    assert post_button(client, erase_path).status_code == 303

    delivered = deliver()
    assert [mail["Subject"] for mail in delivered] == ["Your request to erase your data"]
    for message in session.scalars(sa.select(OutboxMessage)).all():
        assert message.state in (MessageState.dead, MessageState.sent)
        assert_forgotten(message, ADDRESS, "Layla")


def test_every_backend_writes_the_messages_one_message_id(app, client, session, make_campaign, deliver):
    slug = make_campaign().slug
    sign(client, slug)
    [row] = queued(session)
    expected = message_id(app, row)
    assert re.fullmatch(r"<[0-9a-f]{32}@sawt\.localhost>", expected)

    console = io.StringIO()
    deliver_due(app, session, ConsoleBackend(app, stream=console))
    assert f"Message-ID: {expected}" in console.getvalue()
    assert message_id(app, row) == expected, "stable once sent"

    sign(client, make_campaign().slug, address="sam@mail.example")
    [second] = queued(session)
    second_id = message_id(app, second)
    [mail] = deliver()
    assert mail["Message-ID"] == second_id != expected


def test_a_worker_killed_after_sending_sends_again_with_the_same_message_id(
    app, client, session, make_campaign, database_url, tmp_path
):
    """The worker is SIGKILLed by the SMTP server as it accepts the message, before the
    worker can record that it was sent: the next run sends it again, same Message-ID."""
    slug = make_campaign().slug
    sign(client, slug)
    port = free_port()
    env = process_env(DATABASE_URL=database_url, SECRET_KEY="test-secret", DATA_KEY="test-data-key",
                      PUBLIC_URL="http://sawt.test", MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                      OUTBOX_LEASE_SECONDS=1, OUTBOX_POLL_SECONDS=0.05, RATELIMIT_ENABLED=0)
    command = WORKER_COMMAND
    with smtp_server(port) as mailbox:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        original = type(mailbox).handle_DATA

        async def accept_then_crash(self, server, session_, envelope):
            reply = await original(self, server, session_, envelope)
            worker.send_signal(signal.SIGKILL)  # after the mail is ours, before the worker hears "250"
            return reply

        mailbox.handle_DATA = accept_then_crash.__get__(mailbox)
        assert worker.wait(timeout=30) == -signal.SIGKILL
        [row] = mails(session)
        session.refresh(row)
        assert row.state == MessageState.queued and row.attempts == 1, "the attempt was recorded before sending"
        assert row.next_attempt_at > row.created_at, "and the message leased, so no other worker takes it at once"

        mailbox.handle_DATA = original.__get__(mailbox)
        again = subprocess.run(command + ["--once"], cwd=ROOT, env=env, capture_output=True, timeout=60)
        assert again.returncode == 0, again.stderr
        if len(mailbox.received) < 2:  # the lease had not run out yet
            make_due(session)
            subprocess.run(command + ["--once"], cwd=ROOT, env=env, capture_output=True, timeout=60, check=True)

    first, second = (received.message for received in mailbox.received)
    assert first["Message-ID"] == second["Message-ID"] == message_id(app, row)
    session.refresh(row)
    assert row.state == MessageState.sent and row.attempts == 2


def test_a_provider_raising_what_it_should_not_fails_that_try_and_the_worker_goes_on(app, session):
    """A provider's client may raise something no backend expected (a library bug, a
    new exception): the message is tried again later, and delivery carries on."""
    from campaign.outbox.services import enqueue_mail

    class Provider:  # stands in for a third-party client
        def __init__(self):
            self.sent = []

        def send(self, message):
            if message["to"] == "first@mail.example":
                raise ValueError("a bug in someone else's library, quoting first@mail.example")
            self.sent.append(message["to"])

    for to in ("first@mail.example", "second@mail.example"):
        enqueue_mail(session, {"to": to, "subject": "News", "text": "…", "locale": "en"}, template="update")
    session.commit()
    provider = Provider()
    assert deliver_due(app, session, provider) == 2
    assert provider.sent == ["second@mail.example"]
    first = mails(session)[0]
    assert (first.state, first.attempts, first.last_error) == (MessageState.queued, 1, "unexpected ValueError")
