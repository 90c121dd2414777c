"""What does a page-cache hit cost, and of what? In-process, Flask's test client.

Median ms of a pure hit (PAGE_CACHE_SECONDS=3600) of the campaign page with the
in-process SimpleCache and with Redis (`--redis-url`, default db 13; its keys are
removed afterwards), next to a trivial Flask JSON app and to a JSON route on the
product's app (its hooks alone); then the parts of a hit: unpickling the cached
entry, the blake2b ETag of the page, the referral replace.

Run: `python bench/cache_hit.py [--redis-url none]`.
"""
from __future__ import annotations

import argparse
import hashlib
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, jsonify  # noqa: E402

PAGE = "/ar/c/no-forced-returns"


def median_ms(client, path: str, n: int = 800) -> float:
    for _ in range(20):
        client.get(path)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(path)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def per_call_ms(fn, n: int = 2000) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()

    from campaign import create_app
    from campaign.demo import load_demo
    from campaign.extensions import db

    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'hit.sqlite3'}"
    base = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "b", "DATA_KEY": "b", "RATELIMIT_ENABLED": False,
            "PAGE_CACHE_SECONDS": 3600}
    simple = create_app({**base, "CACHE_TYPE": "SimpleCache"})
    simple.add_url_rule("/__bench/hooks", "bench_hooks", lambda: jsonify(ok=True))
    with simple.app_context():
        db.create_all()
        load_demo(db.session)
        db.session.commit()
    trivial = Flask("trivial")
    trivial.get("/t")(lambda: jsonify(ok=True))
    apps = {"SimpleCache": simple}
    if args.redis_url != "none":
        apps["RedisCache"] = create_app({**base, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": args.redis_url,
                                         "CACHE_KEY_PREFIX": "sawt-bench-hit:"})
    print("| median ms | round 1 | round 2 | round 3 |\n|---|---:|---:|---:|")
    rows: dict[str, list[float]] = {"trivial Flask JSON": [], "product hooks only": []}
    rows.update({f"page hit, {name}": [] for name in apps})
    for _ in range(3):
        rows["trivial Flask JSON"].append(median_ms(trivial.test_client(), "/t"))
        rows["product hooks only"].append(median_ms(simple.test_client(), "/__bench/hooks"))
        for name, app in apps.items():
            rows[f"page hit, {name}"].append(median_ms(app.test_client(), PAGE))
    for label, values in rows.items():
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    html = simple.test_client().get(PAGE).get_data(as_text=True)
    blob = pickle.dumps((1, html))
    body = html.encode()
    print(f"\npage {len(body):,} bytes; per call: unpickle {per_call_ms(lambda: pickle.loads(blob)):.3f} ms, "
          f"blake2b ETag {per_call_ms(lambda: hashlib.blake2b(body, digest_size=12).hexdigest()):.3f} ms, "
          f"referral replace {per_call_ms(lambda: html.replace('__sawt_referral__', '')):.3f} ms")
    if "RedisCache" in apps:
        import redis

        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter("sawt-bench-hit:*"):
            client.delete(key)


if __name__ == "__main__":
    main()
