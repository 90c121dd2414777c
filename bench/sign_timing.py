"""Does the sign response leak whether an address has already signed?

Signs N new addresses and N already-signed ones through the real app (test
client, SQLite file database, outbox written but not delivered), interleaved so
drift hits both sides equally, and prints a table of response times with the
duplicate/new ratio. Run: `python bench/sign_timing.py [N]`.
"""
from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign import create_app  # noqa: E402
from campaign.extensions import db  # noqa: E402


def main(n: int = 300) -> None:
    tmp = Path(tempfile.mkdtemp())
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "SECRET_KEY": "bench", "DATA_KEY": "bench", "MAIL_BACKEND": "file",
        "MAIL_FILE_DIR": str(tmp / "mail"), "RATELIMIT_ENABLED": False,
    })
    with app.app_context():
        db.create_all()
        from campaign.demo import load_demo

        load_demo(db.session)
        db.session.commit()
    client = app.test_client()
    page = client.get("/ar/c/no-forced-returns").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    def sign(address: str) -> float:
        started = time.perf_counter()
        response = client.post("/ar/c/no-forced-returns/sign", data={
            "csrf_token": token, "name": "سلمى", "email": address, "country": "LB", "visibility": "counted",
        })
        elapsed = time.perf_counter() - started
        assert response.status_code == 303, response.status_code
        return elapsed

    for i in range(n):  # the addresses that will be signed again
        sign(f"seen{i}@example.org")
    for i in range(20):  # warm-up
        sign(f"warm{i}@example.org")
    new, dup = [], []
    for i in range(n):
        new.append(sign(f"fresh{i}@example.org"))
        dup.append(sign(f"Seen{i}+again@example.org"))

    def row(label, xs):
        xs = sorted(xs)
        return label, statistics.median(xs) * 1000, xs[int(len(xs) * 0.9)] * 1000, statistics.mean(xs) * 1000

    rows = [row("new address", new), row("already signed", dup)]
    print(f"sign response time, {n} requests each (ms)")
    print(f"{'case':<16}{'median':>10}{'p90':>10}{'mean':>10}")
    for label, med, p90, mean in rows:
        print(f"{label:<16}{med:>10.2f}{p90:>10.2f}{mean:>10.2f}")
    ratio = rows[1][1] / rows[0][1]
    print(f"{'ratio dup/new':<16}{ratio:>10.2f}")
    # Mann–Whitney-free sanity bound: medians within 15 % of each other.
    print("verdict:", "indistinguishable at this resolution" if 0.85 <= ratio <= 1.15 else "DIFFERENT: investigate")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
