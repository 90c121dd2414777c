"""The CSV export streams: its peak memory does not grow with the number of rows.

bench/export_memory.py runs the same measurement up to 1,000,000 rows.
"""
from __future__ import annotations

import itertools
import time
import tracemalloc

import pytest
import sqlalchemy as sa

from campaign.exports import services
from campaign.privacy.keys import utcnow
from campaign.signatures.models import Signature, SignatureState, Visibility

_VISIBILITY = [Visibility.counted, Visibility.initials, Visibility.full_name]


def insert_verified(session, campaign, start: int, count: int, batch: int = 10_000) -> None:
    """``count`` confirmed signatures, inserted in executemany batches (fast enough
    for hundreds of thousands of rows)."""
    now = utcnow()
    for offset in range(start, start + count, batch):
        session.connection().execute(sa.insert(Signature.__table__), [
            {
                "campaign_id": campaign.id, "state": SignatureState.verified, "locale": "ar" if i % 2 else "en",
                "name": f"أحمد مصطفى {i}", "search_name": f"احمد مصطفي {i}", "country": "EG",
                "visibility": _VISIBILITY[i % 3], "opt_in": i % 5 == 0,
                "email": f"s{i}@example.org" if i % 5 == 0 else None, "email_key": f"key-{i}",
                "email_domain": "example.org", "created_at": now, "verified_at": now,
                "comment": "=HYPERLINK(\"http://evil.example\")" if i % 7 == 0 else None,
            }
            for i in range(offset, min(offset + batch, start + count))
        ])
    session.commit()


def measure_csv(session, campaign) -> tuple[int, int, float]:
    """(data rows, peak traced bytes, seconds) while consuming the streamed CSV."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    size = 0
    lines = 0
    for chunk in services.csv_chunks(session, campaign, "ar"):
        size += len(chunk)
        lines += chunk.count(b"\r\n")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    session.rollback()  # end the read transaction (and the server-side cursor)
    return lines - 1, peak, elapsed


@pytest.mark.slow  # 40,000 rows, exported twice under tracemalloc
def test_csv_export_peak_memory_is_flat(session, make_campaign):
    campaign = make_campaign()
    insert_verified(session, campaign, 0, 10_000)
    for _ in services.csv_chunks(session, campaign, "ar"):  # warm-up: locale data, compiled statements
        pass
    session.rollback()
    rows_small, peak_small, _ = measure_csv(session, campaign)
    insert_verified(session, campaign, 10_000, 30_000)
    rows_large, peak_large, seconds = measure_csv(session, campaign)

    assert (rows_small, rows_large) == (10_000, 40_000)
    ratio = peak_large / peak_small
    print(f"\npeak {peak_small / 2**20:.2f} MiB for 10k rows, {peak_large / 2**20:.2f} MiB for 40k "
          f"(ratio {ratio:.2f}, {seconds:.1f} s)")
    assert ratio < 1.5, f"peak grew with rows: {peak_small} → {peak_large} bytes"
    assert peak_large < 16 * 2**20


def test_csv_chunks_are_bounded(session, make_campaign):
    """Chunks leave every BATCH rows: the response never holds the whole file."""
    campaign = make_campaign()
    insert_verified(session, campaign, 0, services.BATCH * 3 + 5, batch=2_000)
    chunks = list(itertools.islice(services.csv_chunks(session, campaign, "en"), 10))
    session.rollback()
    assert len(chunks) == 5  # BOM, three full batches, the rest
    assert max(len(c) for c in chunks) < services.BATCH * 200
