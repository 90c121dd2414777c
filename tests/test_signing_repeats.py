"""Signing (or asking for the link) more than once: a double click sends one mail,
and every link ever mailed about a signature keeps working until it is withdrawn."""
from __future__ import annotations

import datetime as dt
import threading
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from campaign.extensions import db
from campaign.mail.backends import TemporaryFailure
from campaign.outbox.cli import run_worker
from campaign.outbox.models import MessageKind, MessageState, OutboxMessage
from campaign.outbox.services import deliver_due
from campaign.privacy.keys import utcnow
from campaign.signatures.models import Signature, SignatureState
from tests.conftest import csrf_token, link_in
from tests.test_mail_delivery import make_due
from tests.test_signing_flow import sign


def path(message, part: str) -> str:
    return urlsplit(link_in(message, part)).path


def press(client, url: str):
    return client.post(url, data={"csrf_token": csrf_token(client, url)})


def later(session, minutes: int = 30) -> None:
    """Let time pass for everything mailed so far."""
    session.execute(sa.update(OutboxMessage).values(created_at=utcnow() - dt.timedelta(minutes=minutes)))
    session.commit()


def resend(client, slug: str, address: str = "layla@example.org"):
    form = f"/en/c/{slug}/check-email"
    return client.post(f"/en/c/{slug}/resend", data={"csrf_token": csrf_token(client, form), "email": address})


@pytest.mark.parametrize("clicks", [2, 3])
def test_a_double_click_sends_one_mail_whose_link_works(client, session, make_campaign, deliver, clicks):
    slug = make_campaign().slug
    for _ in range(clicks):
        assert sign(client, slug).status_code == 303
    [mail] = deliver()
    repeats = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.last_error == "repeat")).all()
    assert len(repeats) == clicks - 1 and all(m.state == MessageState.dead for m in repeats)
    assert press(client, path(mail, "/confirm/")).status_code == 303
    assert session.scalars(sa.select(Signature)).one().state == SignatureState.verified


def test_resend_right_after_signing_sends_nothing_more(client, session, make_campaign, deliver):
    slug = make_campaign().slug
    sign(client, slug)
    assert resend(client, slug).status_code == 303
    assert len(deliver()) == 1


def test_every_mailed_link_keeps_working_until_confirmed(client, session, make_campaign, deliver):
    slug = make_campaign().slug
    sign(client, slug)
    [first] = deliver()
    later(session)
    sign(client, slug, name="Layla H.")  # signed again, later: a new mail
    [second] = deliver()
    later(session)
    resend(client, slug)  # and asked for the link, later still
    [third] = deliver()
    assert path(first, "/confirm/") == path(second, "/confirm/") == path(third, "/confirm/")
    assert path(first, "/withdraw/") == path(second, "/withdraw/") == path(third, "/withdraw/")

    # The first mail opened, the oldest, works, and shows what is being confirmed:
    # the latest details (signing again while unconfirmed replaces them).
    page = client.get(path(first, "/confirm/")).get_data(as_text=True)
    assert "Layla H." in page
    assert press(client, path(first, "/confirm/")).status_code == 303
    assert press(client, path(third, "/withdraw/")).status_code == 200
    assert session.scalars(sa.select(Signature)).one().state == SignatureState.withdrawn


def test_signing_again_after_withdrawing_gets_new_links(client, session, make_campaign, deliver):
    slug = make_campaign().slug
    sign(client, slug)
    [first] = deliver()
    assert press(client, path(first, "/withdraw/")).status_code == 200
    sign(client, slug)
    [second] = deliver()
    assert path(second, "/confirm/") != path(first, "/confirm/")
    assert client.get(path(first, "/withdraw/")).status_code == 404, "withdrawing ended the old links"
    assert press(client, path(second, "/confirm/")).status_code == 303


def test_a_confirmed_signer_who_signs_twice_quickly_gets_one_reminder(client, session, make_campaign, deliver):
    slug = make_campaign().slug
    sign(client, slug)
    [mail] = deliver()
    press(client, path(mail, "/confirm/"))
    sign(client, slug)
    sign(client, slug)
    [already] = deliver()
    assert path(already, "/withdraw/") == path(mail, "/withdraw/")


def test_one_mail_when_a_repeat_went_out_while_the_first_was_failing(app, client, session, make_campaign, smtp_relay):
    """The first mail fails (the relay defers it); the signer signs again, and that
    mail goes at once. When the first one's retry comes, it carries the same links
    as the mail already delivered: it is not sent."""
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_relay.port)
    slug = make_campaign().slug
    sign(client, slug)
    smtp_relay.mailbox.refuse("rcpt", "451 4.7.1 Greylisted, try again later")
    run_worker(app, once=True)
    sign(client, slug)
    smtp_relay.mailbox.refuse()
    run_worker(app, once=True)
    assert len(smtp_relay.mailbox.received) == 1, "the repeat went at once"
    make_due(session)
    run_worker(app, once=True)
    assert len(smtp_relay.mailbox.received) == 1
    assert mail_errors(session) == ["repeat", None]


def mail_errors(session) -> list[str | None]:
    """The last error of each mail queued, in order (the tasks a repeat hands to
    the worker are not mails)."""
    return session.scalars(sa.select(OutboxMessage.last_error).where(OutboxMessage.kind == MessageKind.mail)
                           .order_by(OutboxMessage.id)).all()


class RelayThatTakesItsTime:
    """A mail provider that defers the first mail, then, while it takes the next one,
    lets ``meanwhile`` run (another worker looking at the queue)."""

    def __init__(self):
        self.sent: list[dict] = []
        self.calls = 0
        self.meanwhile = None

    def send(self, message: dict) -> None:
        self.calls += 1
        if self.calls == 1:
            raise TemporaryFailure("SMTP 451")
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            other = threading.Thread(target=meanwhile)
            other.start()
            other.join(timeout=30)
        self.sent.append(message)


def test_no_repeat_while_the_first_mail_is_being_sent(app, client, session, make_campaign):
    """The first mail failed once; the signer signs again. A worker retries the first
    mail and, while the provider takes it, another worker finds the repeat due: the
    repeat is not sent (it carries the same links)."""
    relay = RelayThatTakesItsTime()
    slug = make_campaign().slug
    sign(client, slug)
    deliver_due(app, session, relay)  # deferred: backing off
    sign(client, slug)
    make_due(session)

    def another_worker():
        with app.app_context():
            deliver_due(app, db.session, relay)
            db.session.remove()

    relay.meanwhile = another_worker
    deliver_due(app, session, relay)
    assert [m["to"] for m in relay.sent] == ["layla@example.org"]
    assert mail_errors(session) == [None, "repeat"]
