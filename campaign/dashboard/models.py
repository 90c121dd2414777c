"""Page views: one row per campaign per day, nothing about the visitor."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db


class CampaignDailyView(db.Model):
    """How many times the public campaign page was shown on a (UTC) day. No cookie,
    no address, no user agent: only the number, for the view → signature conversion."""

    __tablename__ = "campaign_daily_views"

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    views: Mapped[int] = mapped_column(default=0, server_default="0")


class ReferralDailyView(db.Model):
    """Views of the campaign page that came through a share link, by its ?ref= code
    and (UTC) day. Like CampaignDailyView: no cookie, nothing about the visitor."""

    __tablename__ = "referral_daily_views"

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    referral: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    views: Mapped[int] = mapped_column(default=0, server_default="0")
