"""Periodic chores the worker runs about once a minute. Each is idempotent."""
from __future__ import annotations

from sqlalchemy.orm import Session


def run_housekeeping(session: Session) -> dict[str, int]:
    from campaign.campaigns.services import close_expired
    from campaign.privacy.keys import discard_old_keys
    from campaign.signatures.services import erase_expired_pending

    return {
        "daily_keys_discarded": discard_old_keys(),
        "campaigns_closed": close_expired(session),
        "pending_erased": erase_expired_pending(session),
    }
