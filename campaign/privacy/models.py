from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db


class DailyKey(db.Model):
    """A random secret for one UTC day, used to key client-address hashes.

    It is deleted after the following day, so a stored ``ip_key`` can no longer be
    linked to any address once its day's key is gone.
    """

    __tablename__ = "daily_keys"

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    secret: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
