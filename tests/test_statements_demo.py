"""The demo statement comes with named signatories in both languages."""
from __future__ import annotations

from campaign.campaigns import services as campaigns
from campaign.demo import load_demo
from campaign.extensions import db
from campaign.statements import services


def test_demo_statement_has_named_signatories_in_both_languages(app):
    load_demo(db.session)
    db.session.commit()
    statement = campaigns.get_by_slug(db.session, "right-to-know")
    listed = services.public_signatories(db.session, statement)
    assert len(listed) >= 12
    assert {s.kind.value for s in listed} == {"organisation", "individual"}
    for s in listed:
        assert s.text("ar").name and s.text("en").name
        assert s.version is not None and s.version.number == 1
    # Loading again neither duplicates the list nor makes a new version.
    load_demo(db.session)
    db.session.commit()
    assert len(services.public_signatories(db.session, statement)) == len(listed)
    assert len(services.versions(db.session, statement)) == 1
