"""A signature's personal columns are named once, on the model, and every way out
of a signer's data (withdraw, anonymise) uses that list."""
from __future__ import annotations

import sqlalchemy as sa

from campaign.extensions import db
from campaign.signatures.models import Signature
from tests.moderation_helpers import add_signature  # noqa: F401


def _unclassified(columns: set[str]) -> set[str]:
    return columns - (Signature.PERSONAL | Signature.NOT_PERSONAL)


def test_every_signature_column_is_classified_as_personal_or_not():
    columns = {c.name for c in Signature.__table__.columns}
    classified = Signature.PERSONAL | Signature.NOT_PERSONAL
    assert not Signature.PERSONAL & Signature.NOT_PERSONAL
    unclassified = _unclassified(columns)
    assert not unclassified, (
        f"classify {sorted(unclassified)} in Signature.PERSONAL or Signature.NOT_PERSONAL: "
        "withdraw and anonymise clear exactly the personal columns"
    )
    assert not classified - columns, "a classified column no longer exists"


def test_a_new_nullable_column_fails_the_classification():
    """The check above is not vacuous: a column added without a decision is caught."""
    columns = {c.name for c in Signature.__table__.columns}
    assert _unclassified(columns | {"phone"}) == {"phone"}


def test_withdrawal_leaves_only_the_address_hash(app, session, make_campaign, add_signature):
    from campaign.signatures import services

    campaign = make_campaign()
    signature = add_signature(campaign, comment="free them", opt_in=True, ip_key="k" * 32)
    session.commit()
    withdraw_token = _withdraw_token(session, signature)
    services.withdraw(session, withdraw_token)
    session.commit()
    row = db.session.execute(sa.select(Signature.__table__).where(Signature.id == signature.id)).mappings().one()
    left = {name for name in Signature.PERSONAL if row[name] not in (None, "", False)}
    assert left == {"email_key"}


def test_anonymisation_keeps_only_what_was_public(app, session, make_campaign, add_signature):
    from campaign.retention import services as retention

    campaign = make_campaign()
    signature = add_signature(campaign, name="Layla Haddad", country="EG", ip_key="k" * 32)
    session.commit()
    retention.anonymise_campaign(session, campaign)
    session.commit()
    row = db.session.execute(sa.select(Signature.__table__).where(Signature.id == signature.id)).mappings().one()
    left = {name for name in Signature.PERSONAL if row[name] not in (None, "", False)}
    assert left <= {"name", "search_name", "country", "comment"}
    assert row["email_key"] is None and row["ip_key"] is None and row["email"] is None


def _withdraw_token(session, signature) -> str:
    """A fresh withdraw link for the signature, as a resent mail would carry."""
    import datetime as dt

    from campaign.privacy.keys import new_token, utcnow

    token, hashed = new_token()
    signature.withdraw_token_hash = hashed
    signature.withdraw_expires_at = utcnow() + dt.timedelta(days=1)
    session.commit()
    return token
