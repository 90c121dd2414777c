"""Periodic chores the worker runs about once a minute. Each is idempotent."""
from __future__ import annotations

from sqlalchemy.orm import Session


def run_housekeeping(session: Session, *, retention: bool = True) -> dict[str, int]:
    """``retention``: also anonymise campaigns past their retention period. That
    reads every old campaign's signatures, so the worker asks for it hourly."""
    from campaign.campaigns.services import close_expired
    from campaign.privacy.keys import discard_old_keys
    from campaign.retention.services import anonymise_due
    from campaign.signatures.services import erase_expired_pending

    done = {
        "daily_keys_discarded": discard_old_keys(),
        "campaigns_closed": close_expired(session),
        "pending_erased": erase_expired_pending(session),
    }
    if retention:
        # Retention must not depend on an operator remembering a cron job; each
        # batch commits so a large campaign never holds one long transaction.
        done["signatures_anonymised"] = anonymise_due(session, after_batch=session.commit).signatures
    return done
