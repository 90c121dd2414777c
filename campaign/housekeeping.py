"""Periodic chores the worker runs about once a minute. Each is idempotent."""
from __future__ import annotations

from sqlalchemy.orm import Session


def run_housekeeping(session: Session) -> dict[str, int]:
    from campaign.campaigns.services import close_expired
    from campaign.privacy.keys import discard_old_keys
    from campaign.retention.services import anonymise_due
    from campaign.signatures.services import erase_expired_pending

    return {
        "daily_keys_discarded": discard_old_keys(),
        "campaigns_closed": close_expired(session),
        "pending_erased": erase_expired_pending(session),
        # Retention must not depend on an operator remembering a cron job; each
        # batch commits so a large campaign never holds one long transaction.
        "signatures_anonymised": anonymise_due(session, after_batch=session.commit).signatures,
    }
