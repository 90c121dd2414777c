"""Public pages set no cookie, those with a form included: a visitor who opens a
link from a mail, the home page or a campaign leaves no session behind."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import g

from campaign.campaigns import services as campaigns
from campaign.campaigns.models import CampaignState
from campaign.outbox.models import MessageKind, OutboxMessage
from tests.conftest import csrf_token
from tests.fixtures.mail import queued_mail
from tests.fixtures.signatures import take_signatures

BAD_TOKEN = "A" * 43


def fresh_get(app, path: str):
    # The test keeps one app context open, and Flask-WTF caches its token in `g`:
    # forget it so that each request is judged on its own.
    g.pop("csrf_token", None)
    return app.test_client().get(path)


@pytest.fixture
def pages(app, session, make_campaign):
    """Every public page, by language: path -> expected status."""
    open_campaign = make_campaign()
    closed = make_campaign()
    client = app.test_client()
    client.post(f"/en/c/{closed.slug}/sign", data={
        "csrf_token": csrf_token(client, f"/en/c/{closed.slug}"), "name": "Layla", "email": "layla@mail.example",
        "country": "LB", "visibility": "counted"})
    take_signatures()
    text = queued_mail(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == MessageKind.mail)).one())["text"]
    closed_confirm = urlsplit(re.search(r"https?://\S+/confirm/\S+", text).group(0)).path
    campaigns.change_state(session, closed, CampaignState.closed)
    session.commit()

    def for_lang(lang: str) -> dict[str, int]:
        return {
            "/": 302,
            f"/{lang}/": 200,
            f"/{lang}/c/{open_campaign.slug}": 200,
            f"/{lang}/c/{open_campaign.slug}/check-email": 200,
            f"/{lang}/erase": 200,
            f"/{lang}/c/{open_campaign.slug}/thanks": 200,
            f"/{lang}/confirm/{BAD_TOKEN}": 404,
            f"/{lang}/withdraw/{BAD_TOKEN}": 404,
            closed_confirm.replace("/en/", f"/{lang}/"): 409,
            f"/{lang}/erase/sent": 200,
            f"/{lang}/erase/done": 200,
            f"/{lang}/erase/{BAD_TOKEN}": 404,
            f"/{lang}/unsubscribe/{BAD_TOKEN}": 404,
            f"/{lang}/c/no-such-campaign": 404,
        }

    return for_lang


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_public_pages_set_no_cookie(app, pages, lang):
    for path, status in pages(lang).items():
        response = fresh_get(app, path)
        assert response.status_code == status, path
        assert response.headers.get_all("Set-Cookie") == [], path
