"""Privacy mechanics shared by every feature: keyed hashes, rotating IP keys, log redaction."""
from __future__ import annotations

from flask import Flask

from campaign.jobs import register_job


def init_app(app: Flask) -> None:
    from campaign.privacy.keys import discard_old_keys

    register_job(app, "privacy.discard_old_keys", lambda session: discard_old_keys(), every=60)
