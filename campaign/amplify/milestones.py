"""Milestone posts on the platform's account: 1,000 and 10,000 confirmed
signatures, and the campaign's goal, in every language, through the outbox.

The outbox's unique idempotency key makes each post happen once, whoever runs
the job and however often. A campaign that leaps past several milestones between
two runs gets a post for the highest only: nobody needs to read "1,000" after
"10,000"."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from campaign.amplify.share import REFERRAL_CODES, campaign_link
from campaign.campaigns.models import Campaign, CampaignState
from campaign.i18n import LANGUAGES, format_number
from campaign.outbox.models import OutboxMessage
from campaign.outbox.services import enqueue_post

MILESTONES = (1_000, 10_000)
TEMPLATE = "milestone"


def reached(campaign: Campaign) -> int | None:
    """The highest milestone (or the goal) the campaign's confirmed count has reached."""
    marks = [m for m in (*MILESTONES, campaign.goal) if m and campaign.verified_count >= m]
    return max(marks) if marks else None


def milestone_key(campaign: Campaign, mark: int, lang: str) -> str:
    return f"milestone:{campaign.id}:{mark}:{lang}"


def post_text(campaign: Campaign, mark: int, lang: str) -> str:
    with force_locale(lang):
        count = format_number(mark, campaign.digits.value, lang)
        title = campaign.title_in(lang)
        if campaign.goal and mark == campaign.goal:
            text = str(_l("Goal reached: %(count)s people have signed “%(title)s”. Thank you! Keep sharing:",
                          count=count, title=title))
        else:
            text = str(_l("%(count)s people have signed “%(title)s”. Add your voice:", count=count, title=title))
    url = campaign_link(campaign, lang, REFERRAL_CODES["x"])
    tag = f" #{campaign.hashtag}" if campaign.hashtag else ""
    return f"{text} {url}{tag}"


def queue_milestone_posts(session: Session) -> int:
    """Queue the posts for milestones reached since the last run. Returns how many."""
    if current_app.config["SOCIAL_BACKEND"] == "none":
        return 0
    floor = min(MILESTONES)
    campaigns = session.scalars(
        sa.select(Campaign).where(
            Campaign.state == CampaignState.published,
            sa.or_(Campaign.verified_count >= floor,
                   sa.and_(Campaign.goal.is_not(None), Campaign.verified_count >= Campaign.goal)),
        )
    ).all()
    queued = 0
    for campaign in campaigns:
        mark = reached(campaign)
        if mark is None:
            continue
        keys = {lang: milestone_key(campaign, mark, lang) for lang in LANGUAGES}
        done = set(session.scalars(sa.select(OutboxMessage.idempotency_key)
                                   .where(OutboxMessage.idempotency_key.in_(list(keys.values())))))
        for lang, key in keys.items():
            if key in done:
                continue
            if enqueue_post(session, {"text": post_text(campaign, mark, lang), "locale": lang},
                            template=TEMPLATE, idempotency_key=key) is not None:
                queued += 1
    return queued
