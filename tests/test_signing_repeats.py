"""Signing (or asking for the link) more than once: a double click sends one mail,
and every link ever mailed about a signature keeps working until it is withdrawn."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from campaign.outbox.models import MessageState, OutboxMessage
from campaign.privacy.keys import utcnow
from campaign.signatures.models import Signature, SignatureState
from tests.conftest import csrf_token, link_in
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
