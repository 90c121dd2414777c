"""A database outage: PostgreSQL stops (immediately, as in a crash) and comes back.

The site answers 503 with Retry-After, in the page's language, within the connect
timeout, and recovers by itself; the worker rides the outage out and delivers what is
queued once the database is back. The database is a throwaway PostgreSQL cluster
started for these tests (never the shared one)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from campaign import create_app
from campaign.extensions import db
from campaign.outbox.cli import run_worker
from campaign.outbox.services import enqueue_mail
from tests.conftest import skip_or_fail
from tests.fixtures.processes import free_port

pytestmark = pytest.mark.slow

UNAVAILABLE = {"en": "Sawt is briefly unavailable", "ar": "«صوت» غير متاح لحظات"}


class Cluster:
    """A PostgreSQL cluster of our own, run as the postgres user, that tests may stop."""

    def __init__(self, bindir: Path, base: Path, port: int):
        self.bindir, self.base, self.port = bindir, base, port
        self.data = base / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/sawt_outage"

    def _run(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.base / "log"), "-w", "start")

    def stop(self) -> None:
        """Stop at once, as a crash or `pg_ctlcluster … stop -m immediate` does."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")


@pytest.fixture(scope="session")
def cluster():
    """A throwaway PostgreSQL on a free port, for the whole session."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found or shutil.which("runuser") is None or os.geteuid() != 0:
        skip_or_fail("a throwaway PostgreSQL needs initdb, runuser and root")
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        skip_or_fail("no postgres user to run a throwaway cluster")
    base = Path(tempfile.mkdtemp(prefix="sawt-outage-"))
    os.chown(base, postgres.pw_uid, postgres.pw_gid)
    cluster = Cluster(Path(found[-1]).parent, base, free_port())
    cluster.init()
    cluster.start()
    with psycopg.connect(f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres",
                         autocommit=True) as conn:
        conn.execute("CREATE DATABASE sawt_outage")
    yield cluster
    try:
        cluster.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def outage_app(cluster, tmp_path):
    """An app on the throwaway cluster, with a fresh schema."""
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": cluster.url, "SECRET_KEY": "t", "DATA_KEY": "t",
        "PUBLIC_URL": "http://sawt.test", "MAIL_BACKEND": "file", "MAIL_FILE_DIR": str(tmp_path / "mail"),
        "RATELIMIT_ENABLED": False, "OUTBOX_POLL_SECONDS": 0.05, "WORKER_MAX_BACKOFF_SECONDS": 0.5,
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def a_link(lang: str) -> str:
    """A page that always asks the database (the home page may be served from the
    page cache): a confirmation link, unknown, so 404 while the database answers."""
    return f"/{lang}/confirm/{'A' * 43}"


def test_pages_answer_503_in_their_language_during_an_outage_and_recover(outage_app, cluster):
    client = outage_app.test_client()
    assert client.get(a_link("en")).status_code == 404
    cluster.stop()
    try:
        for lang in ("en", "ar"):
            started = time.monotonic()
            response = client.get(a_link(lang))
            elapsed = time.monotonic() - started
            html = response.get_data(as_text=True)
            assert response.status_code == 503, html[:300]
            assert elapsed < 2, f"answered after {elapsed:.1f} s"
            assert response.headers["Retry-After"] == "30"
            assert f'lang="{lang}"' in html and UNAVAILABLE[lang] in html
        form = client.post("/en/erase", data={"email": "someone@mail.example"})
        assert form.status_code in (400, 503)  # the CSRF check may answer first; never a 500
    finally:
        cluster.start()
    wait_for(lambda: client.get(a_link("en")).status_code == 404, 15, "the site to recover by itself")


def mail_files(app) -> list[Path]:
    return sorted(Path(app.config["MAIL_FILE_DIR"]).glob("*.eml"))


def queue_mail(app, to: str) -> None:
    with app.app_context():
        enqueue_mail(db.session, {"to": to, "subject": "Test", "text": "Hello", "locale": "en"}, template="test")
        db.session.commit()
        db.session.remove()


def test_the_worker_rides_out_an_outage_and_delivers_afterwards(outage_app, cluster):
    queue_mail(outage_app, "before@mail.example")
    stop = threading.Event()
    crashed: list[BaseException] = []

    def work():
        with outage_app.app_context():
            try:
                run_worker(outage_app, stop=stop.is_set)
            except BaseException as exc:  # recorded for the assertion below, not raised in the thread
                crashed.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        wait_for(lambda: len(mail_files(outage_app)) == 1, 15, "the first mail")
        cluster.stop()
        try:
            time.sleep(3)
            assert worker.is_alive() and not crashed, crashed
        finally:
            cluster.start()

        def queued_after():
            try:
                queue_mail(outage_app, "after@mail.example")
            except Exception:  # the database may still be starting
                return False
            return True

        wait_for(queued_after, 15, "the database to accept writes again")
        wait_for(lambda: len(mail_files(outage_app)) == 2, 20, "the mail queued after the outage")
        assert worker.is_alive() and not crashed, crashed
        assert any("after@mail.example" in path.read_text() for path in mail_files(outage_app))
    finally:
        stop.set()
        worker.join(timeout=15)
    assert not worker.is_alive()
