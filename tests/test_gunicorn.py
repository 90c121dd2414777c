"""The Procfile's web process for real: gunicorn with campaign/gunicorn_conf.py on a
migrated SQLite database, and what its access log keeps (and does not)."""
from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request

import pytest

from campaign.config import ROOT
from campaign.gunicorn_conf import mask_tokens
from tests.fixtures.processes import BIN, RELEASE_COMMAND, Gunicorn, free_port, process_env


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def web_env(tmp_path):
    """Environment of a web node: a migrated SQLite database, console mail, one worker."""
    env = process_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'web.sqlite3'}",
        SECRET_KEY="gunicorn-test-secret",
        DATA_KEY="gunicorn-test-data-key",
        MAIL_BACKEND="console",
        WEB_CONCURRENCY="1",
        PORT=str(free_port()),
    )
    subprocess.run(RELEASE_COMMAND, cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    return env


@pytest.fixture
def gunicorn(web_env, tmp_path):
    """Start gunicorn exactly as the Procfile does; yield (base URL, stop) where
    stop() shuts it down and returns (stdout, stderr)."""
    web = Gunicorn(web_env, tmp_path).start(ready_path=None)

    def stop() -> tuple[str, str]:
        web.stop(timeout=20)
        return web.output()

    yield web.url, stop
    web.stop()


@pytest.mark.slow  # starts gunicorn, after `flask db upgrade` in a subprocess
def test_procfile_web_process_serves_and_logs_without_addresses_or_queries(gunicorn):
    base, stop = gunicorn
    token = "Xq3_" + "k" * 39  # shaped like a confirmation token
    assert get(f"{base}/en/") == 200
    assert get(f"{base}/en/?email=secret@example.org") == 200
    assert get(f"{base}/en/confirm/{token}") == 404
    out, err = stop()

    access = [line for line in out.splitlines() if '"GET ' in line]
    assert len(access) == 3, out
    assert sum('"GET /en/ HTTP/1.1" 200' in line for line in access) == 2, access
    assert '"GET /en/confirm/[token] HTTP/1.1" 404' in access[2]
    for line in access:
        assert "127.0.0.1" not in line
    assert "secret" not in out + err
    assert "email=" not in out + err
    assert token not in out + err
    assert "Booting worker" in err  # the error log stays on stderr


@pytest.mark.slow  # two Python subprocesses
def test_config_reads_the_environment():
    """The settings gunicorn would load, under a platform's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN")}
    # Several workers share their rate-limit counters in Redis (or gunicorn refuses to start).
    env.update(PORT="5123", WEB_CONCURRENCY="3", FORWARDED_ALLOW_IPS="10.0.0.0/8",
               REDIS_URL="redis://redis.internal:6379/0")
    code = (
        "import campaign.gunicorn_conf as c;"
        "print(c.bind, c.workers, c.worker_class, c.timeout, c.forwarded_allow_ips, c.control_socket_disable)"
    )
    out = subprocess.run([str(BIN / "python"), "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['0.0.0.0:5123']", "3", "sync", "120", "10.0.0.0/8", "True"]

    for name in ("PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"):
        env.pop(name)
    out = subprocess.run([str(BIN / "python"), "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    bind, workers, *_, forwarded, _ = out.split()
    assert bind == "['0.0.0.0:8000']"
    assert 3 <= int(workers) <= 8
    assert forwarded == "127.0.0.1"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/ar/withdraw/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd", "/ar/withdraw/[token]"),
        ("/en/unsubscribe/abcdefghijklmnopqrstuvwxyz0123456789_abcdefg/done", "/en/unsubscribe/[token]/done"),
        # Slugs are lowercase with hyphens, however long: they stay readable.
        ("/en/c/free-the-journalists-detained-since-march-2025", "/en/c/free-the-journalists-detained-since-march-2025"),
        ("/en/manage/campaigns/12/edit", "/en/manage/campaigns/12/edit"),
    ],
)
def test_mask_tokens(path, logged):
    assert mask_tokens(path) == logged


def test_a_forked_worker_opens_its_own_database_connections(app):
    """gunicorn forks its workers from the preloaded app: a child must not reuse a
    connection the parent holds in its pool."""
    import sqlalchemy as sa

    from campaign.extensions import db

    engine = db.engine
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    assert engine.pool.checkedin() >= 1
    pid = os.fork()
    if pid == 0:  # the child: its pool starts empty, and it can still connect
        try:
            empty = engine.pool.checkedin() == 0
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            os._exit(0 if empty else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with engine.connect() as conn:  # the parent's connections still work
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1


def test_gunicorn_preloads_the_app():
    from campaign import gunicorn_conf

    assert gunicorn_conf.preload_app is True
