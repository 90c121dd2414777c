"""Milestone posts on X: queued by the worker's job in both languages, posted once
(the outbox's idempotency key), through the real tweepy client against a local
stub of X's API, and retried when X says 429."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from campaign.amplify.milestones import queue_milestone_posts
from campaign.campaigns.models import Campaign
from campaign.outbox.cli import run_worker
from campaign.outbox.models import MessageKind, MessageState, OutboxMessage


@pytest.fixture
def app(make_app, httpserver):
    app = make_app(SOCIAL_BACKEND="x", X_API_KEY="key", X_API_SECRET="secret", X_ACCESS_TOKEN="token",
                   X_ACCESS_TOKEN_SECRET="token-secret", X_API_URL=httpserver.url_for("").rstrip("/"))
    with app.app_context():
        yield app


def set_count(session, campaign_id: int, n: int) -> None:
    session.execute(sa.update(Campaign).where(Campaign.id == campaign_id).values(verified_count=n))
    session.commit()


def posts(session):
    session.expire_all()
    return list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == MessageKind.post)
                                .order_by(OutboxMessage.id)))


def test_milestones_are_posted_once_in_both_languages(app, session, make_campaign, httpserver):
    campaign_id = make_campaign(hashtag="FreeThemDemo", goal=5000).id
    httpserver.expect_request("/2/tweets", method="POST").respond_with_json(
        {"data": {"id": "1", "text": "ok"}}, status=201)
    set_count(session, campaign_id, 999)
    assert queue_milestone_posts(session) == 0
    set_count(session, campaign_id, 1000)
    assert queue_milestone_posts(session) == 2
    assert queue_milestone_posts(session) == 0  # the same milestone again: nothing
    session.commit()
    run_worker(app, once=True)

    sent = [json.loads(request.get_data())["text"] for request, _ in httpserver.log]
    assert len(sent) == 2
    assert any(text.startswith("1,000 people have signed “Set them free”") for text in sent)
    assert any("أطلقوا سراحهم" in text and "1,000" in text for text in sent)
    assert all(text.endswith("#FreeThemDemo") and "ref=x" in text for text in sent)
    assert all(request.headers["Authorization"].startswith("OAuth ") for request, _ in httpserver.log)
    assert {m.state for m in posts(session)} == {MessageState.sent}

    # Past 10,000 and the goal at once: only the highest milestone is posted.
    set_count(session, campaign_id, 12_000)
    assert queue_milestone_posts(session) == 2
    texts = [m.payload["text"] for m in posts(session) if m.state == MessageState.queued]
    assert all("10,000" in t for t in texts)


def test_the_goal_gets_its_own_words(app, session, make_campaign):
    campaign_id = make_campaign(goal=500).id
    set_count(session, campaign_id, 500)
    assert queue_milestone_posts(session) == 2
    assert any(m.payload["text"].startswith("Goal reached: 500 people") for m in posts(session))


def test_rate_limited_posts_wait_and_retry(app, session, make_campaign, httpserver):
    campaign_id = make_campaign().id
    httpserver.expect_request("/2/tweets", method="POST").respond_with_json(
        {"title": "Too Many Requests"}, status=429)
    set_count(session, campaign_id, 1000)
    queue_milestone_posts(session)
    session.commit()
    run_worker(app, once=True)
    assert [(m.state, m.attempts) for m in posts(session)] == [(MessageState.queued, 1)] * 2


def test_nothing_is_queued_without_a_social_backend(app, session, make_campaign):
    app.config["SOCIAL_BACKEND"] = "none"
    set_count(session, make_campaign().id, 1000)
    assert queue_milestone_posts(session) == 0
