"""What the whole suite holds to: CI's guarantees, compiled catalogues, and the shared
fixtures, which live in plugin modules (tests/fixtures/, tests/browser_fixtures.py).

Every test runs once per database backend: SQLite always, and PostgreSQL too when
TEST_DATABASE_URL is set (CI sets it). Tests marked ``slow`` (browser tests, gunicorn,
subprocesses, memory measurements) can be left out with ``-m "not slow"``.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from campaign.config import ROOT
from tests.fixtures.ci import CI

pytest_plugins = [
    "tests.fixtures.app",
    "tests.fixtures.mail",
    "tests.fixtures.campaigns",
    "tests.fixtures.organisers",
    "tests.fixtures.signatures",
    "tests.fixtures.processes",
    "tests.browser_fixtures",
]

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


# Helpers that test files used to import from here, before the fixtures became plugins.
_MOVED = {"body_text": "tests.fixtures.mail", "link_in": "tests.fixtures.mail", "csrf_token": "tests.fixtures.web",
          "skip_or_fail": "tests.fixtures.ci", "login": "tests.fixtures.organisers"}


def __getattr__(name: str):
    """Keeps ``from tests.conftest import login`` (and the others in _MOVED) working in
    test files written before the move; new tests import from tests/fixtures/ and ask
    for the ``login`` fixture. Looked up lazily: the plugins must be imported by pytest
    first, or their asserts are not rewritten."""
    import importlib

    if name not in _MOVED:
        raise AttributeError(name)
    return getattr(importlib.import_module(_MOVED[name]), "login_as" if name == "login" else name)
