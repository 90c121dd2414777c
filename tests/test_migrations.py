"""The Alembic revisions build exactly the schema the models describe, go down
cleanly, and run on both SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from campaign import create_app
from campaign.extensions import db


@pytest.fixture
def empty_database_url(backend, database_url, tmp_path):
    """A database of its own: the migrations must start from nothing."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url = sa.make_url(database_url)
    name = f"{url.database}_migrations"
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def test_migrations_match_the_models_and_go_down(empty_database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url,
                      "SECRET_KEY": "t", "DATA_KEY": "t"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"
        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_requests_declined_before_the_decision_was_dated_count_as_declined_at_the_upgrade(empty_database_url):
    """They are deleted STATEMENT_DECLINED_DAYS after the upgrade: never sooner than
    the setting promises, and not never."""
    import datetime as dt

    from campaign.privacy.keys import utcnow

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url,
                      "SECRET_KEY": "t", "DATA_KEY": "t"})
    long_ago = dt.datetime(2025, 1, 1)
    campaigns = sa.table("campaigns", *(sa.column(name) for name in ("id", "slug", "kind", "state", "digits")),
                         sa.column("created_at", sa.DateTime), sa.column("updated_at", sa.DateTime))
    signatories = sa.table("signatories", sa.column("id"), sa.column("campaign_id"), sa.column("kind"),
                           sa.column("state"), sa.column("created_at", sa.DateTime))
    with app.app_context():
        upgrade(revision="335282519736")
        with db.engine.begin() as conn:
            conn.execute(campaigns.insert().values(id=1, slug="s", kind="statement", state="published", digits="latn",
                                                   created_at=long_ago, updated_at=long_ago))
            conn.execute(signatories.insert(), [
                dict(id=1, campaign_id=1, kind="individual", state="declined", created_at=long_ago),
                dict(id=2, campaign_id=1, kind="individual", state="pending", created_at=long_ago),
            ])
        before = utcnow()
        upgrade()
        dated = sa.table("signatories", sa.column("id"), sa.column("declined_at", sa.DateTime))
        with db.engine.connect() as conn:
            declined_at = dict(conn.execute(sa.select(dated.c.id, dated.c.declined_at)).all())
        assert declined_at[2] is None
        assert before - dt.timedelta(seconds=1) <= declined_at[1] <= utcnow()
        downgrade(revision="base")
        db.engine.dispose()
