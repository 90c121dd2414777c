"""The command line: `flask campaigns list`, `flask demo` and `flask worker --once`
through the app's CLI runner (on every database backend), and `flask --app app`
itself once as a real process on a fresh SQLite file."""
from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from campaign import create_app
from campaign.campaigns import services as campaign_services
from campaign.campaigns.models import Campaign, CampaignKind, CampaignState, CampaignText, Demand, DemandText
from campaign.config import ROOT
from campaign.extensions import db
from campaign.organiser.models import Organisation
from campaign.outbox.models import MessageState, OutboxMessage
from campaign.signatures import services as signature_services
from campaign.signatures.models import Visibility
from campaign.signatures.services import SignInput
from tests.fixtures.mail import link_in

ARABIC = re.compile(r"[\u0600-\u06FF]")


def sign(session, campaign: Campaign, address: str) -> None:
    signature_services.sign(
        session, campaign,
        SignInput(name="Layla Haddad", email=address, country="LB", comment=None,
                  visibility=Visibility.counted, opt_in=False),
        locale="en", ip_key=None,
    )
    session.commit()


def confirm_all(session, messages) -> None:
    """Confirm every signature whose confirmation mail is in ``messages``."""
    for message in messages:
        token = urlsplit(link_in(message, "/confirm/")).path.rsplit("/", 1)[1]
        signature_services.verify(session, token)
    session.commit()


@pytest.fixture
def invoke(runner):
    """Run a `flask` command in the test app; the worker's signal handlers are put
    back afterwards so they do not outlive the command in this process."""
    def run(*args: str):
        saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            result = runner.invoke(args=list(args))
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
        assert result.exit_code == 0, (result.output, result.exception)
        return result

    return run


# --- flask campaigns list ------------------------------------------------------------------------

def test_campaigns_list_prints_one_line_per_campaign(invoke, session, make_campaign, deliver):
    appeal = make_campaign(slug="free-them-now")
    statement = make_campaign(slug="joint-statement", kind=CampaignKind.statement)
    make_campaign(slug="draft-petition", kind=CampaignKind.petition, publish=False)
    closed = make_campaign(slug="closed-petition", kind=CampaignKind.petition)
    for address in ("a@example.org", "b@example.org", "c@example.org"):
        sign(session, appeal, address)
    sign(session, statement, "d@example.org")
    sign(session, closed, "e@example.org")
    messages = deliver()
    confirm_all(session, [m for m in messages if m["To"] in ("a@example.org", "b@example.org", "e@example.org")])
    campaign_services.close(session, None, session.scalar(sa.select(Campaign).where(Campaign.slug == "closed-petition")))
    session.commit()

    result = invoke("campaigns", "list")
    assert result.output.splitlines() == [
        "free-them-now\tappeal\tpublished\tverified=2\tpending=1",
        "joint-statement\tstatement\tpublished\tverified=0\tpending=1",
        "draft-petition\tpetition\tdraft\tverified=0\tpending=0",
        "closed-petition\tpetition\tclosed\tverified=1\tpending=0",
    ]


def test_campaigns_list_with_no_campaigns_prints_nothing(invoke):
    assert invoke("campaigns", "list").output == ""


# --- flask demo --------------------------------------------------------------------------------------

def demo_shape(session) -> dict:
    """What the demo left in the database, in a form two runs can be compared by."""
    session.rollback()
    shape = {
        "rows": {model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model))
                 for model in (Organisation, Campaign, CampaignText, Demand, DemandText)},
    }
    for campaign in session.scalars(sa.select(Campaign).order_by(Campaign.slug)):
        shape[campaign.slug] = {
            "kind": campaign.kind,
            "state": campaign.state,
            "texts": {t.locale: (t.title, t.summary) for t in campaign.texts},
            "demands": [{t.locale: t.title for t in d.texts} for d in sorted(campaign.demands, key=lambda d: d.position)],
        }
    return shape


def test_demo_loads_bilingual_campaigns_and_can_run_again(app, invoke, session):
    first = invoke("demo")
    assert first.output.startswith("demo campaigns ready: ")
    loaded = demo_shape(session)
    campaigns = {slug: c for slug, c in loaded.items() if slug != "rows"}
    assert all(c["state"] == CampaignState.published for c in campaigns.values())
    for campaign in campaigns.values():
        assert set(campaign["texts"]) == {"ar", "en"}
        assert ARABIC.search(campaign["texts"]["ar"][0]) and not ARABIC.search(campaign["texts"]["en"][0])

    appeals = [c for c in campaigns.values() if c["kind"] == CampaignKind.appeal and len(c["demands"]) == 5]
    assert appeals, "an appeal with five demands"
    for demand in appeals[0]["demands"]:
        assert set(demand) == {"ar", "en"} and all(demand.values())
        assert ARABIC.search(demand["ar"]) and not ARABIC.search(demand["en"])
    assert any(c["kind"] == CampaignKind.statement for c in campaigns.values())

    second = invoke("demo")
    assert second.output == first.output
    assert demo_shape(session) == loaded, "nothing duplicated, nothing lost"

    # The appeal is on the public site in both languages, its demands listed.
    from tests.fixtures.web import new_client

    client = new_client(app)
    slug = next(s for s, c in campaigns.items() if c is appeals[0])
    for lang in ("ar", "en"):
        page = html.unescape(client.get(f"/{lang}/c/{slug}").get_data(as_text=True))
        for demand in appeals[0]["demands"]:
            assert demand[lang] in page


# --- flask worker --once -------------------------------------------------------------------------------

def test_worker_once_drains_the_outbox_and_exits(invoke, session, make_campaign, mail_dir):
    campaign = make_campaign()
    for address in ("a@example.org", "b@example.org"):
        sign(session, campaign, address)
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.state == MessageState.queued)) == 2

    result = invoke("worker", "--once")
    assert result.output == "worker: 2 message(s) attempted\n"
    session.rollback()
    assert [m.state for m in session.scalars(sa.select(OutboxMessage))] == [MessageState.sent] * 2
    assert len(list(mail_dir.glob("*.eml"))) == 2

    assert invoke("worker", "--once").output == "worker: 0 message(s) attempted\n"


# --- The real command, as a process ----------------------------------------------------------------------

@pytest.mark.slow  # the flask command in a subprocess
def test_flask_command_uses_database_url(tmp_path):
    """`flask --app app campaigns list` as an operator runs it: configured by the
    environment alone (DATABASE_URL, keys), through app.py."""
    url = f"sqlite:///{tmp_path / 'sawt.sqlite3'}"
    setup = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "s", "DATA_KEY": "d",
                        "RATELIMIT_ENABLED": False})
    with setup.app_context():
        db.create_all()
        campaign = campaign_services.create(db.session, None, slug="from-the-shell", kind=CampaignKind.petition)
        campaign.verified_folded, campaign.pending_folded = 12, 3
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "REDIS_URL"))}
    env.update(DATABASE_URL=url, SECRET_KEY="s", DATA_KEY="d", MAIL_BACKEND="file",
               MAIL_FILE_DIR=str(tmp_path / "mail"))
    flask = Path(sys.executable).with_name("flask")
    done = subprocess.run([str(flask), "--app", "app", "campaigns", "list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "from-the-shell\tpetition\tdraft\tverified=12\tpending=3\n"


def test_worker_warns_when_a_public_site_prints_its_mail(invoke, app):
    assert "WARNING" not in invoke("worker", "--once").output
    app.config.update(MAIL_BACKEND="console", PUBLIC_URL="https://sawt.example.org")
    assert "MAIL_BACKEND is 'console' on a public site" in invoke("worker", "--once").output
