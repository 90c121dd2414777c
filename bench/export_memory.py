"""Does the signer export use flat memory up to 1,000,000 rows?

Fills one campaign with confirmed signatures (executemany in batches of 10,000),
growing to each size in turn, and for each size consumes the streamed CSV twice:
once under tracemalloc for the peak of Python allocations, once without it for the
time. With --xlsx it also writes the XLSX (constant_memory) to a temporary file,
once, under tracemalloc (so its seconds include tracing overhead: xlsxwriter is
slow per cell). Prints a table. SQLite file database by default; DATABASE_URL=postgresql+psycopg://…
measures PostgreSQL (its server-side cursor) instead.

Run: `python bench/export_memory.py [--sizes 10000,100000,1000000] [--xlsx]`.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign import create_app  # noqa: E402
from campaign.extensions import db  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--xlsx", action="store_true", help="also time and trace the XLSX export")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    tmp = Path(tempfile.mkdtemp())
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "DATA_KEY": "bench"})
    from campaign.campaigns.models import Campaign, CampaignKind
    from campaign.exports import services
    from tests.test_export_memory import insert_verified

    with app.app_context(), app.test_request_context("/ar/"):
        db.drop_all()
        db.create_all()
        campaign = Campaign(slug="bench", kind=CampaignKind.appeal)
        db.session.add(campaign)
        db.session.commit()
        for _ in services.csv_chunks(db.session, campaign, "ar"):  # warm-up
            pass
        db.session.rollback()

        print(f"database: {db.engine.dialect.name}")
        print(f"{'format':<6} {'rows':>10} {'peak MiB':>9} {'seconds':>8} {'rows/s':>9} {'output MiB':>10}")
        have = 0
        for size in sizes:
            insert_verified(db.session, campaign, have, size - have)
            have = size
            report("csv", size, *measure(lambda: csv_size(services, campaign)))
            if args.xlsx:
                report("xlsx*", size, *measure(lambda: xlsx_size(services, campaign, tmp), untraced_time=False))
        if args.xlsx:
            print("xlsx*: seconds measured under tracemalloc")
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"process max RSS over the whole run (inserts included): {maxrss:.0f} MiB")
        db.drop_all()


def csv_size(services, campaign) -> int:
    return sum(len(chunk) for chunk in services.csv_chunks(db.session, campaign, "ar"))


def xlsx_size(services, campaign, tmp: Path) -> int:
    path = tmp / "export.xlsx"
    with path.open("wb") as target:
        services.write_xlsx(db.session, campaign, "ar", target)
    return path.stat().st_size


def measure(run, untraced_time: bool = True) -> tuple[float, float, int]:
    """(peak traced MiB, seconds, output bytes); seconds from a second, untraced
    run unless ``untraced_time`` is false."""
    tracemalloc.start()
    started = time.perf_counter()
    size = run()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.session.rollback()
    if untraced_time:
        started = time.perf_counter()
        size = run()
        seconds = time.perf_counter() - started
        db.session.rollback()
    return peak / 2**20, seconds, size


def report(fmt: str, rows: int, peak: float, seconds: float, size: int) -> None:
    print(f"{fmt:<6} {rows:>10,} {peak:>9.2f} {seconds:>8.1f} {rows / seconds:>9,.0f} {size / 2**20:>10.1f}",
          flush=True)


if __name__ == "__main__":
    main()
