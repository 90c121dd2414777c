"""Does a campaign with 1,000,000 signatures cost more per request than one with 100?

Optional (it takes minutes): `python bench/million.py [--rows 1000000]`; SQLite file
in a temporary folder by default, DATABASE_URL=postgresql+psycopg://… (tables dropped
and recreated) for PostgreSQL.

1. Loads the demo; signs and confirms 100 addresses of one campaign through the
   service layer (services.sign, services.verify), the worker's fold_counts folds.
2. Measures, in-process (Flask test client, the same app as gunicorn runs): the
   campaign page with the page cache off (every request renders and queries), the
   page from the page cache, the count (the campaign row with verified_count and
   pending_count: what every page and any count endpoint reads), and each section
   of the page that queries signatures (recent signers, country breakdown).
3. Adds signatures in batched INSERTs up to --rows (confirmed, across 20
   countries, a third of them public), sets the stored counts with the service
   behind `flask campaigns reconcile`, checks them, and measures again.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

SLUG = "no-forced-returns"
COUNTRIES = ["EG", "LB", "SY", "JO", "IQ", "MA", "TN", "DZ", "SA", "AE", "PS", "YE", "SD", "LY", "QA",
             "KW", "OM", "BH", "FR", "DE"]


def timed(fn, n: int) -> float:
    """Median ms of ``n`` calls (after 3 warm-ups)."""
    for _ in range(3):
        fn()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(app, nocache, db, n: int) -> dict:
    from campaign.campaigns import services as campaigns
    from campaign.signatures.services import country_breakdown, recent_public_signers

    cached_client, fresh_client = app.test_client(), nocache.test_client()

    def page(client):
        def once():
            r = client.get(f"/ar/c/{SLUG}")
            assert r.status_code == 200, r.status_code
        return once

    def count():
        with app.app_context():
            campaign = campaigns.get_by_slug(db.session, SLUG)
            assert campaign.verified_count >= 0
            db.session.remove()

    def section(fn):
        def once():
            with app.app_context():
                fn(db.session, campaigns.get_by_slug(db.session, SLUG))
                db.session.remove()
        return once

    return {
        "page, page cache off": timed(page(fresh_client), n),
        "page, page cache hit": timed(page(cached_client), n * 5),
        "count (campaign row + verified/pending)": timed(count, n * 5),
        "section: recent signers": timed(section(lambda s, c: recent_public_signers(s, c)), n),
        "section: country breakdown": timed(section(lambda s, c: country_breakdown(s, c.id, 10)), n),
    }


def bulk_insert(db, campaign_id: int, start: int, count: int, batch: int = 20_000) -> None:
    from campaign.privacy.keys import utcnow
    from campaign.signatures.models import Signature, SignatureState, Visibility

    visibility = [Visibility.counted, Visibility.initials, Visibility.full_name]
    now = utcnow()
    # One confirmation a second, backwards from now: real signers do not share one
    # timestamp (a million equal ones made "recent signers" sort them all on PostgreSQL).
    for offset in range(start, start + count, batch):
        db.session.execute(sa.insert(Signature.__table__), [
            {"campaign_id": campaign_id, "state": SignatureState.verified, "locale": "ar" if i % 2 else "en",
             "name": f"أحمد مصطفى {i}", "search_name": f"احمد مصطفي {i}", "country": COUNTRIES[i % 20],
             "visibility": visibility[i % 3], "opt_in": False, "email": None, "email_key": f"bulk-{i}",
             "email_domain": "example.org", "created_at": now - dt.timedelta(seconds=i),
             "verified_at": now - dt.timedelta(seconds=i)}
            for i in range(offset, min(offset + batch, start + count))
        ])
        db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--n", type=int, default=40, help="timed requests per measurement")
    args = parser.parse_args()

    from campaign import create_app
    from campaign.extensions import db

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tempfile.mkdtemp()) / 'million.sqlite3'}"
    config = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "DATA_KEY": "bench", "MAIL_BACKEND": "file",
              "MAIL_FILE_DIR": tempfile.mkdtemp(), "RATELIMIT_ENABLED": False, "CACHE_TYPE": "SimpleCache"}
    app = create_app({**config, "PAGE_CACHE_SECONDS": 1})
    nocache = create_app({**config, "PAGE_CACHE_SECONDS": 0})

    from campaign.campaigns import services as campaigns
    from campaign.demo import load_demo
    from campaign.signatures import services as signatures
    from campaign.signatures.models import Signature, SignatureState, Visibility

    with app.app_context():
        db.drop_all()
        db.create_all()
        load_demo(db.session)
        db.session.commit()
        print(f"database: {db.engine.dialect.name}", flush=True)
        with app.test_request_context("/ar/"):
            campaign = campaigns.get_by_slug(db.session, SLUG)
            for i in range(100):
                signature, _ = signatures.sign(db.session, campaign, signatures.SignInput(
                    name=f"سلمى {i}", email=f"hundred{i}@example.org", country=COUNTRIES[i % 20], comment=None,
                    visibility=Visibility.initials, opt_in=False), locale="ar", ip_key=None)
                db.session.commit()
                token, digest = signatures.new_token()
                signature.verify_token_hash = digest  # the e-mailed token is only in the outbox payload
                db.session.commit()
                signatures.verify(db.session, token)
                db.session.commit()
            signatures.fold_counts(db.session)
            db.session.commit()
        campaign_id = campaign.id
        small = measure(app, nocache, db, args.n)
        print("measured at 100", flush=True)

        started = time.perf_counter()
        bulk_insert(db, campaign_id, 100, args.rows - 100)
        inserted = time.perf_counter() - started
        started = time.perf_counter()
        fixes = signatures.reconcile_counts(db.session)
        db.session.commit()
        reconciled = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE signatures"))
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        verified = db.session.scalar(sa.select(sa.func.count()).select_from(Signature).where(
            Signature.campaign_id == campaign_id, Signature.state == SignatureState.verified))
        shown = campaigns.get_by_slug(db.session, SLUG).verified_count
        db.session.remove()
        print(f"loaded {args.rows - 100:,} rows in {inserted:.1f} s ({(args.rows - 100) / inserted:,.0f}/s); "
              f"reconcile {reconciled:.1f} s, {len(fixes)} counter(s) set; verified rows {verified:,}, "
              f"stored count {shown:,}", flush=True)
        assert verified == shown == args.rows
        big = measure(app, nocache, db, args.n)

    print(f"\n| median ms per request | 100 signatures | {args.rows:,} signatures | × |")
    print("|---|---:|---:|---:|")
    for key in small:
        print(f"| {key} | {small[key]:.2f} | {big[key]:.2f} | {big[key] / small[key]:.1f} |")


if __name__ == "__main__":
    main()
