"""Erasure requests: a person asks, by e-mail, to remove every signature of theirs."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db
from campaign.privacy.keys import utcnow


class ErasureRequest(db.Model):
    """A link mailed to an address that has signed; following it erases that
    address's signatures everywhere. Holds the keyed hash of the address (as the
    signatures do) and the hash of the link's token, never the address."""

    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    locale: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
