"""Where does a request's time go? cProfile in-process, through Flask's test client.

Loads the demo into a fresh SQLite file (or DATABASE_URL, whose tables are dropped
and recreated), then for each endpoint runs N requests twice: once timed (mean
ms per request, next to the trivial JSON app's through the same client; and the SQL
statements each request sends), once under
cProfile, printing the functions with the most own time and the slow callers.

Run: `python bench/profile_requests.py [--n 300] [--only page,sign]`.
Endpoints: trivial, page (page cache hit), page_nocache, home_nocache, sign, confirm.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, jsonify  # noqa: E402

SLUG = "no-forced-returns"
FORM = {"name": "سلمى حداد", "country": "LB", "visibility": "counted", "website": "", "comment": ""}
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def build(url: str, page_cache: int):
    from campaign import create_app
    from campaign.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "DATA_KEY": "bench",
                      "MAIL_BACKEND": "file", "MAIL_FILE_DIR": tempfile.mkdtemp(), "RATELIMIT_ENABLED": False,
                      "PAGE_CACHE_SECONDS": page_cache, "CACHE_TYPE": "SimpleCache"})
    return app, db


def tokens(app, db, n: int) -> list[str]:
    import sqlalchemy as sa

    from campaign.campaigns.models import Campaign
    from campaign.privacy.keys import new_token, utcnow
    from campaign.signatures.models import Signature, SignatureState, Visibility

    out, rows = [], []
    with app.app_context():
        cid = db.session.scalar(sa.select(Campaign.id).where(Campaign.slug == SLUG))
        now = utcnow()
        stamp = time.time_ns()
        for i in range(n):
            token, digest = new_token()
            out.append(token)
            rows.append({"campaign_id": cid, "state": SignatureState.pending, "locale": "ar", "name": "سلمى",
                         "search_name": "سلمي", "country": "LB", "visibility": Visibility.counted,
                         "opt_in": False, "email": f"p{stamp}-{i}@example.org", "email_key": f"p{stamp}-{i}",
                         "email_domain": "example.org", "verify_token_hash": digest,
                         "verify_expires_at": now + dt.timedelta(hours=72), "created_at": now})
        db.session.execute(sa.insert(Signature.__table__), rows)
        db.session.commit()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--only", default="trivial,hooks,page,page_nocache,home_nocache,sign,confirm")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tempfile.mkdtemp()) / 'profile.sqlite3'}"
    app, db = build(url, 1)
    with app.app_context():
        db.drop_all()
        db.create_all()
        from campaign.demo import load_demo

        load_demo(db.session)
        db.session.commit()
    nocache, _ = build(url, 0)
    trivial = Flask("trivial")
    trivial.get("/t")(lambda: jsonify(ok=True))
    app.add_url_rule("/__bench/hooks", "bench_hooks", lambda: jsonify(ok=True))

    counter = {"n": 0}
    stamp = time.time_ns()

    def sign_once(client):
        counter["n"] += 1
        r = client.post(f"/ar/c/{SLUG}/sign", data={**FORM, "email": f"x{stamp}-{counter['n']}@example.org"},
                        headers=SAME_ORIGIN)
        assert r.status_code == 303, r.status_code

    confirm_tokens = iter(tokens(app, db, 3 * args.n + 40))

    def confirm_once(client):
        r = client.post(f"/ar/confirm/{next(confirm_tokens)}", data={"go": "1"}, headers=SAME_ORIGIN)
        assert r.status_code == 303, r.status_code

    def get(path):
        def once(client):
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code)
        return once

    cases = {
        "trivial": (trivial, get("/t")),
        "hooks": (app, get("/__bench/hooks")),
        "page": (app, get(f"/ar/c/{SLUG}")),
        "page_nocache": (nocache, get(f"/ar/c/{SLUG}")),
        "home_nocache": (nocache, get("/ar/")),
        "sign": (app, sign_once),
        "confirm": (app, confirm_once),
    }
    from sqlalchemy import event

    statements = {"n": 0}

    def count_statement(*_args):
        statements["n"] += 1

    for each in (app, nocache):
        with each.app_context():
            event.listen(db.engine, "before_cursor_execute", count_statement)
    for name in args.only.split(","):
        target, once = cases[name]
        client = target.test_client()
        for _ in range(10):
            once(client)
        statements["n"] = 0
        for _ in range(20):
            once(client)
        per_request = statements["n"] / 20
        started = time.perf_counter()
        for _ in range(args.n):
            once(client)
        ms = (time.perf_counter() - started) * 1000 / args.n
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            once(client)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"\n===== {name}: {ms:.2f} ms per request (test client, {args.n} requests), "
              f"{per_request:.1f} SQL statements per request =====")
        print(out.getvalue())


if __name__ == "__main__":
    main()
