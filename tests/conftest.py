"""Shared fixtures. Every test runs once per database backend: SQLite always, and
PostgreSQL too when TEST_DATABASE_URL is set (CI sets it)."""
from __future__ import annotations

import email
import os
import subprocess
import sys
from email import policy
from pathlib import Path

import jinja2
import pytest
import sqlalchemy as sa

from campaign import create_app
from campaign.config import ROOT
from campaign.extensions import db

pytest_plugins = ["tests.browser_fixtures"]

CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def skip_or_fail(reason: str) -> None:
    """Skip locally; under CI a missing browser or database is a failure, not a skip."""
    if CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


_skipped_under_ci: list[str] = []


def pytest_collection_modifyitems(config, items):
    """Under CI the suite must prove both databases and the browser: refuse to run
    without PostgreSQL, and without browser tests when the whole suite is collected."""
    if not CI:
        return
    if not os.environ.get("TEST_DATABASE_URL"):
        raise pytest.UsageError("CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests would not run")
    whole_suite = config.args_source.name != "ARGS"
    if whole_suite and not any(item.get_closest_marker("browser") for item in items):
        raise pytest.UsageError("CI=true but no browser tests were collected")


def pytest_runtest_logreport(report):
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        _skipped_under_ci.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if CI and _skipped_under_ci:
        print(f"\nCI=true: {len(_skipped_under_ci)} test(s) were skipped, which CI does not allow:")
        for nodeid in _skipped_under_ci:
            print("  " + nodeid)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_sessionstart(session):
    # The catalogues are compiled from the .po files, which are the source of truth.
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "compile", "-d", str(ROOT / "translations")],
        check=True,
        capture_output=True,
    )
    # Hashed, compressed static files, as the build and the Procfile's release make them.
    from campaign.static_files import digest_static_folder

    digest_static_folder(ROOT / "static")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """One database per backend for the whole run; tables are emptied after each test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sawt.sqlite3'}"
    else:
        url = os.environ["TEST_DATABASE_URL"]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t", "DATA_KEY": "t"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return url


@pytest.fixture
def redis_store():
    """A client on the test Redis database (TEST_REDIS_URL), emptied before and after.
    Unreachable Redis skips locally and fails under CI."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    store = redis.Redis.from_url(url)
    try:
        store.ping()
    except redis.RedisError as exc:
        store.close()
        skip_or_fail(f"Redis is not reachable at {url}: {exc}")
    store.flushdb()
    store.url = url
    yield store
    store.flushdb()
    store.close()


@pytest.fixture
def backend(database_url) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    return tmp_path / "mail"


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates shared by every app the tests build: each app has its own
    Jinja environment, and compiling the templates anew cost ~0.1 s per test."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _MemoryBytecodeCache()


@pytest.fixture
def make_app(database_url, mail_dir):
    """Build an app on the test database; keyword arguments override the config."""
    apps = []

    def factory(**overrides):
        config = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret",
            "DATA_KEY": "test-data-key",
            "PUBLIC_URL": "http://sawt.test",
            "MAIL_BACKEND": "file",
            "MAIL_FILE_DIR": str(mail_dir),
            "RATELIMIT_ENABLED": False,
            "OUTBOX_POLL_SECONDS": 0.05,
            "VIEW_COUNT_FLUSH_SECONDS": 0,
            # Pages are rendered afresh for each request; the page cache has tests of its own.
            "PAGE_CACHE_SECONDS": 0,
            # Cheap argon2 in tests: the production cost takes 0.4 s per hash here.
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
        }
        config.update(overrides)
        app = create_app(config)
        app.jinja_env.bytecode_cache = _COMPILED_TEMPLATES
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in db.metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """The app's SQLAlchemy session, inside an app context."""
    return db.session


@pytest.fixture
def make_campaign(app):
    """Create a published campaign with complete Arabic and English texts. Returns a
    callable; keyword arguments go to create_campaign (slug, kind, goal, …)."""
    from campaign.campaigns import services
    from campaign.campaigns.models import CampaignKind
    from campaign.campaigns.services import DemandInput

    counter = {"n": 0}

    def factory(publish: bool = True, demands: int = 2, **kwargs):
        counter["n"] += 1
        kwargs.setdefault("slug", f"campaign-{counter['n']}")
        kwargs.setdefault("kind", CampaignKind.appeal)
        campaign = services.create(db.session, None, **kwargs)
        services.set_text(db.session, campaign, "ar", title="أطلقوا سراحهم", summary="ملخص النداء",
                          body_md="نص **النداء**", share_text="وقّعوا")
        services.set_text(db.session, campaign, "en", title="Set them free", summary="The appeal in short",
                          body_md="The **appeal** text", share_text="Sign now")
        services.set_demands(db.session, campaign, [
            DemandInput({"ar": (f"المطلب {i}", f"شرح المطلب {i}"), "en": (f"Demand {i}", f"Why demand {i}")})
            for i in range(1, demands + 1)
        ])
        if publish:
            services.publish(db.session, None, campaign)
        db.session.commit()
        return campaign

    return factory


@pytest.fixture
def deliver(app, mail_dir):
    """Run the worker until the outbox is drained; return the e-mails written by the
    file backend since the last call, parsed, oldest first."""
    from campaign.outbox.cli import run_worker

    seen: set[Path] = set()

    def run() -> list[email.message.EmailMessage]:
        run_worker(app, once=True)
        files = sorted((p for p in mail_dir.glob("*.eml") if p not in seen), key=lambda p: p.stat().st_mtime_ns)
        seen.update(files)
        return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]

    return run


def body_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message, path_part: str) -> str:
    """The first link in a message's text part whose path contains ``path_part``."""
    import re

    for url in re.findall(r"https?://\S+", body_text(message)):
        if path_part in url:
            return url
    raise AssertionError(f"no {path_part} link in message")


def csrf_token(client, url: str) -> str:
    """The form token of a workspace page. Public pages carry none (their forms are
    guarded by Fetch Metadata, see campaign/forms.py): for them this returns ""."""
    import re

    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if "/manage/" in url:
        assert match, f"no CSRF token on {url}"
    return match.group(1) if match else ""


@pytest.fixture
def make_organiser(app):
    """Create an organiser. ``role`` is "owner", "editor" or "admin"; ``organisation``
    a name (created if new). With ``two_factor`` a TOTP secret is set; the secret is
    on ``organiser.totp_secret`` (use pyotp.TOTP(secret).now() for a code). Returns
    the organiser, committed, with password "correct horse battery staple"."""
    from campaign.organiser.models import Membership, Organisation, Organiser, Role
    from campaign.organiser.services import hash_password

    password_hash = hash_password("correct horse battery staple")  # once: argon2 is slow on purpose

    counter = {"n": 0}

    def factory(role: str = "owner", organisation: str | None = "Cairo Rights Group", *,
                email: str | None = None, two_factor: bool = True, name: str = "") -> Organiser:
        import pyotp

        counter["n"] += 1
        organiser = Organiser(
            email=email or f"organiser{counter['n']}@example.org",
            name=name or f"Organiser {counter['n']}",
            password_hash=password_hash,
            totp_secret=pyotp.random_base32() if two_factor else None,
            is_admin=(role == "admin"),
        )
        db.session.add(organiser)
        if role != "admin" and organisation:
            org = db.session.scalar(sa.select(Organisation).where(Organisation.name == organisation))
            if org is None:
                org = Organisation(name=organisation)
                db.session.add(org)
                db.session.flush()
            organiser.memberships.append(Membership(organisation_id=org.id, role=Role(role)))
        db.session.commit()
        return organiser

    return factory


def login(client, organiser, *, fresh_two_factor: bool = True) -> None:
    """Put ``organiser`` in the test client's session, as the login views would."""
    import time

    from flask import g, has_app_context

    # The `app` fixture keeps one app context open for the whole test, so `g` (where
    # current_organiser() caches) outlives requests: forget whoever was logged in.
    if has_app_context():
        g.pop("organiser", None)
        # Flask-WTF caches the form token in `g` too; the session is cleared below.
        g.pop("csrf_token", None)
    now = int(time.time())
    with client.session_transaction() as s:
        s.clear()
        s.permanent = True
        s["organiser_id"] = organiser.id
        s["generation"] = organiser.session_generation
        s["auth_at"] = now
        s["seen_at"] = now
        if fresh_two_factor:
            s["two_factor_at"] = now
