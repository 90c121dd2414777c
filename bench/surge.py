"""A surge benchmark anyone can run: `python bench/surge.py` (from the checkout, with
the project's venv; `--out bench/results-DATE.md` also writes the tables to a file).

For each database — SQLite (a file in a temporary folder) and PostgreSQL when
reachable (`--pg-url`, with Redis for the page cache and rate-limit storage when
`--redis-url` answers, as the Procfile's deployment has) — it:

1. builds the hashed static files (`flask digest compile`) and the Arabic
   catalogue (`flask translate compile`), migrates a fresh
   database (`flask db upgrade`), loads the demo campaigns (`flask demo`) and
   inserts pending signatures with known confirmation tokens for the confirm POSTs
   (their counts reconciled through the `campaigns reconcile` service);
2. starts, as the Procfile does, gunicorn with `campaign/gunicorn_conf.py` (sync
   workers, 2 of them, bound to 127.0.0.1) on `bench/wsgi.py` — the product's `app`
   plus `/__bench/trivial`, a minimal Flask JSON app that exists only here — twice:
   with the default page cache and with PAGE_CACHE_SECONDS=0; and `flask worker`, so
   counts are folded and confirmation mail is delivered (to files) meanwhile;
3. drives each endpoint with wrk (1 thread, 32 connections, `--duration` seconds;
   the Debian package; a small asyncio load generator if wrk is missing), in
   `--rounds` interleaved rounds (the second in reverse order; after a POST
   endpoint it waits until the worker has sent what the posts queued), and prints one
   markdown table per database: median req/s, p50, p99 and the ratio to the trivial
   endpoint of the same run; and the memory (RSS) of each web process before and
   after the load.

Every e-mail address signed is unique across rounds and runs: the run's id is made
here and written into each round's wrk script (wrk's Lua math.random is unseeded).
Rate limits are off (RATELIMIT_ENABLED=0). Nothing listens beyond 127.0.0.1.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = "no-forced-returns"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/sawt_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
CONNECTIONS = 32
ARABIC_NAME = "%D8%B3%D9%84%D9%85%D9%89+%D8%AD%D8%AF%D8%A7%D8%AF"  # سلمى حداد, form-encoded


# --- endpoints ---

@dataclass
class Endpoint:
    key: str
    label: str
    server: str  # "cached" or "uncached": which gunicorn
    path: str
    method: str = "GET"
    headers: dict = field(default_factory=dict)
    expect: int = 200
    # Targets on this machine: minimum ratio to trivial per database, and max p99 (ms).
    min_ratio: dict = field(default_factory=dict)
    max_p99: float | None = None


def endpoints(static_path: str) -> list[Endpoint]:
    same_origin = {"Sec-Fetch-Site": "same-origin", "Content-Type": "application/x-www-form-urlencoded"}
    return [
        Endpoint("trivial", "trivial Flask JSON (bench only)", "cached", "/__bench/trivial"),
        Endpoint("hooks", "JSON through the product's hooks (bench only)", "cached", "/__bench/hooks"),
        Endpoint("static", f"static file, hashed name, gzip (`{static_path}`)", "cached", static_path,
                 headers={"Accept-Encoding": "gzip"}),
        Endpoint("home", "home page `/ar/`", "cached", "/ar/"),
        Endpoint("page", "campaign page, page cache on (default 1 s)", "cached", f"/ar/c/{SLUG}",
                 min_ratio={"sqlite": 0.9, "postgresql": 0.9}),
        Endpoint("page_nocache", "campaign page, PAGE_CACHE_SECONDS=0", "uncached", f"/ar/c/{SLUG}",
                 min_ratio={"sqlite": 0.25, "postgresql": 0.25}),
        Endpoint("sign", "sign POST (new address each, same-origin)", "cached", f"/ar/c/{SLUG}/sign", "POST",
                 same_origin, 303, {"sqlite": 0.5, "postgresql": 0.35}, 50.0),
        Endpoint("confirm", "confirm POST (a fresh token each)", "cached", "/ar/confirm/", "POST",
                 same_origin, 303),
        Endpoint("count", "count JSON `/api/v1/campaigns/<slug>/count`", "cached", f"/api/v1/campaigns/{SLUG}/count"),
        Endpoint("counter", "counter widget `/embed/<slug>/counter`", "cached", f"/embed/{SLUG}/counter?lang=ar"),
        Endpoint("badge", "badge SVG `/embed/<slug>/badge.svg`", "cached", f"/embed/{SLUG}/badge.svg?lang=ar"),
    ]


# --- processes ---

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], env: dict, log: Path | None = None) -> None:
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if log:
        log.write_text(out.stdout + out.stderr)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")


def flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "app", *args]


def wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/__bench/trivial", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.3)
    sys.exit(f"gunicorn on port {port} did not answer in {timeout} s")


class Gunicorn:
    def __init__(self, env: dict, port: int, log: Path):
        self.port = port
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "python:campaign.gunicorn_conf",
             "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "bench.wsgi:app"],
            # As production runs: two workers need REDIS_URL (campaign/gunicorn_conf.py
            # refuses to count rate limits per worker); without it, one worker.
            env={**env, "PORT": str(port), "WEB_CONCURRENCY": "2" if env.get("REDIS_URL") else "1"}, cwd=ROOT,
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def boots(self) -> int:
        return self.log.read_text(errors="replace").count("Booting worker with pid")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def memory(server: Gunicorn) -> list[tuple[str, float | None]]:
    rows = [("master", rss_mib(server.proc.pid))]
    rows += [(f"worker {i + 1}", rss_mib(pid)) for i, pid in enumerate(server.workers())]
    return rows


# --- the database ---

def reset_postgresql(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def reachable(url: str) -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return False


def redis_flush(url: str) -> bool:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
        return True
    except Exception:  # noqa: BLE001
        return False


def prepare_tokens(env: dict, sets: int, per_set: int, run_id: str) -> list[list[str]]:
    """Pending signatures with known confirmation tokens, ``sets`` lists of
    ``per_set`` (one list per round), inserted in batches; the stored counts are
    then set right by the service behind `flask campaigns reconcile`."""
    import sqlalchemy as sa

    from campaign import create_app
    from campaign.campaigns.models import Campaign
    from campaign.extensions import db
    from campaign.privacy.keys import new_token, utcnow
    from campaign.signatures.models import Signature, SignatureState, Visibility
    from campaign.signatures.services import reconcile_counts

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "SECRET_KEY": env["SECRET_KEY"],
                      "DATA_KEY": env["DATA_KEY"]})
    tokens: list[list[str]] = []
    with app.app_context():
        campaign_id = db.session.scalar(sa.select(Campaign.id).where(Campaign.slug == SLUG))
        now = utcnow()
        for s in range(sets):
            batch, rows = [], []
            for i in range(per_set):
                token, digest = new_token()
                batch.append(token)
                rows.append({
                    "campaign_id": campaign_id, "state": SignatureState.pending, "locale": "ar",
                    "name": "سلمى حداد", "search_name": "سلمي حداد", "country": "LB",
                    "visibility": Visibility.counted, "opt_in": False,
                    "email": f"confirm-{run_id}-{s}-{i}@example.org",
                    "email_key": f"bench-{run_id}-{s}-{i}", "email_domain": "example.org",
                    "verify_token_hash": digest, "verify_expires_at": now + dt.timedelta(hours=72),
                    "created_at": now,
                })
                if len(rows) == 5000:
                    db.session.execute(sa.insert(Signature.__table__), rows)
                    rows = []
            if rows:
                db.session.execute(sa.insert(Signature.__table__), rows)
            db.session.commit()
            tokens.append(batch)
        reconcile_counts(db.session)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return tokens


def wait_for_outbox(env: dict, timeout: float = 120) -> None:
    """Until the worker has nothing due left in the outbox (or ``timeout`` seconds)."""
    import sqlalchemy as sa

    engine = sa.create_engine(env["DATABASE_URL"])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                queued = conn.execute(sa.text(
                    "SELECT count(*) FROM outbox_messages WHERE state = 'queued'")).scalar()
            if not queued:
                return
            time.sleep(0.5)
        print(f"  warning: {queued} outbox messages still queued after {timeout:.0f} s", file=sys.stderr)
    finally:
        engine.dispose()


def check_counts(env: dict) -> dict:
    """After the run: are the folded counts right, and what did the worker leave?"""
    import sqlalchemy as sa

    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        cid, verified, pending = conn.execute(sa.text(
            "SELECT id, verified_count, pending_count FROM campaigns WHERE slug = :s"), {"s": SLUG}).one()
        actual = dict(conn.execute(sa.text(
            "SELECT state, count(*) FROM signatures WHERE campaign_id = :c GROUP BY state"), {"c": cid}).all())
        unfolded = conn.execute(sa.text("SELECT count(*) FROM campaign_count_changes")).scalar()
        queued = conn.execute(sa.text("SELECT count(*) FROM outbox_messages WHERE state = 'queued'")).scalar()
        sent = conn.execute(sa.text("SELECT count(*) FROM outbox_messages WHERE state <> 'queued'")).scalar()
    engine.dispose()
    return {"verified_folded": verified, "pending_folded": pending, "verified_rows": actual.get("verified", 0),
            "pending_rows": actual.get("pending", 0), "unfolded_changes": unfolded,
            "outbox_queued": queued, "outbox_done": sent}


# --- load ---

@dataclass
class Result:
    rps: float
    p50: float
    p99: float
    requests: int
    bad: int  # non-2xx/3xx answers, socket errors and timeouts


def wrk_script(ep: Endpoint, tmp: Path, run_id: str, round_no: int, tokens: list[str] | None) -> Path | None:
    if ep.method == "GET":
        return None
    script = tmp / f"{ep.key}-{round_no}.lua"
    lines = ['wrk.method = "POST"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in ep.headers.items()]
    if ep.key == "sign":
        # The id comes from Python: unique per run and round, whatever wrk's random does.
        lines += [
            "local n = 0",
            "request = function()",
            "  n = n + 1",
            f'  local body = "name={ARABIC_NAME}&email=s-{run_id}-{round_no}-" .. n .. '
            '"%40example.org&country=LB&visibility=counted&website=&comment="',
            "  return wrk.format(nil, nil, nil, body)",
            "end",
        ]
    elif ep.key == "confirm":
        listing = tmp / f"tokens-{round_no}.txt"
        listing.write_text("\n".join(tokens) + "\n")
        lines += [
            "local tokens = {}",
            f'for line in io.lines("{listing}") do tokens[#tokens + 1] = line end',
            "local n = 0",
            "request = function()",
            "  n = n + 1",
            f'  return wrk.format(nil, "{ep.path}" .. tokens[((n - 1) % #tokens) + 1], nil, "go=1")',
            "end",
        ]
    script.write_text("\n".join(lines) + "\n")
    return script


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def run_wrk(url: str, ep: Endpoint, script: Path | None, duration: int) -> Result:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", str(script)]
    else:
        for k, v in ep.headers.items():
            cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True).stdout
    try:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = _ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1))
        p99 = _ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1))
        requests = int(re.search(r"(\d+) requests in", out).group(1))
    except AttributeError:
        sys.exit(f"could not read wrk's output:\n{out}")
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        # A read error is gunicorn closing after its answer (sync workers, no keep-alive): normal.
        bad += int(errors.group(1)) + int(errors.group(3)) + int(errors.group(4))
    return Result(rps, p50, p99, requests, bad)


def run_python_load(url: str, ep: Endpoint, run_id: str, round_no: int, tokens: list[str] | None,
                    duration: int) -> Result:
    """The fallback when wrk is missing: 32 asyncio connections, one request each
    at a time (gunicorn's sync workers close the connection after every answer).
    It measures less precisely than wrk: its own CPU competes with the server's."""
    port = int(url.split(":")[2].split("/")[0])
    counter = {"n": 0}

    def request_bytes() -> bytes:
        counter["n"] += 1
        n = counter["n"]
        path, body = ep.path, b""
        if ep.key == "sign":
            body = (f"name={ARABIC_NAME}&email=s-{run_id}-{round_no}-{n}%40example.org"
                    "&country=LB&visibility=counted&website=&comment=").encode()
        elif ep.key == "confirm":
            path += tokens[(n - 1) % len(tokens)]
            body = b"go=1"
        head = [f"{ep.method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        head += [f"{k}: {v}" for k, v in ep.headers.items()]
        if ep.method == "POST":
            head.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    latencies: list[float] = []
    bad = {"n": 0}

    async def client(deadline: float) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request_bytes())
                await writer.drain()
                data = await reader.read()
                writer.close()
                status = int(data[9:12])
                if not 200 <= status < 400:
                    bad["n"] += 1
            except (OSError, ValueError):
                bad["n"] += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    async def main() -> float:
        started = time.monotonic()
        await asyncio.gather(*(client(started + duration) for _ in range(CONNECTIONS)))
        return time.monotonic() - started

    elapsed = asyncio.run(main())
    latencies.sort()
    if not latencies:
        return Result(0, 0, 0, 0, bad["n"])
    return Result(len(latencies) / elapsed, latencies[len(latencies) // 2],
                  latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], len(latencies), bad["n"])


def request_once(url: str, ep: Endpoint, body: bytes | None = None) -> int:
    """One request without following redirects: its status."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, data=body, headers=ep.headers, method=ep.method)
    try:
        with opener.open(req, timeout=10) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


# --- one database ---

def bench_database(name: str, url: str, redis_url: str | None, args, tmp: Path, run_id: str,
                   use_wrk: bool) -> dict:
    print(f"\n## {name}: preparing", file=sys.stderr, flush=True)
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "SECRET_KEY": "bench-secret-" + run_id,
        "DATA_KEY": "bench-data-" + run_id, "MAIL_BACKEND": "file", "MAIL_FILE_DIR": str(tmp / f"mail-{name}"),
        "RATELIMIT_ENABLED": "0", "FLASK_DEBUG": "0",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    if name == "postgresql":
        reset_postgresql(url)
    run(flask("db", "upgrade"), env, tmp / f"{name}-upgrade.log")
    run(flask("demo"), env, tmp / f"{name}-demo.log")
    per_set = max(20_000, 5_000 * args.duration)
    tokens = prepare_tokens(env, args.rounds + 1, per_set, run_id)  # one set for the check

    cached_port, uncached_port = free_port(), free_port()
    public = f"http://127.0.0.1:{cached_port}"
    servers = {
        "cached": Gunicorn({**env, "PUBLIC_URL": public}, cached_port, tmp / f"{name}-gunicorn.log"),
        "uncached": Gunicorn({**env, "PUBLIC_URL": public, "PAGE_CACHE_SECONDS": "0"}, uncached_port,
                             tmp / f"{name}-gunicorn-nocache.log"),
    }
    worker = subprocess.Popen(flask("worker"), env=env, cwd=ROOT, stdout=(tmp / f"{name}-worker.log").open("w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for server in servers.values():
            wait_ready(server.port)
        base = {"cached": public, "uncached": f"http://127.0.0.1:{uncached_port}"}
        eps = endpoints(args.static_path)
        # Warm up every endpoint (templates compiled, connections opened) and check
        # that each answers what it should.
        spare = tokens.pop()
        for ep in eps:
            for i in range(8):
                body = None
                path = ep.path
                if ep.key == "sign":
                    body = (f"name={ARABIC_NAME}&email=warm-{run_id}-{i}%40example.org&country=LB"
                            "&visibility=counted&website=&comment=").encode()
                elif ep.key == "confirm":
                    path += spare[i]
                    body = b"go=1"
                status = request_once(base[ep.server] + path, ep, body)
                if status != ep.expect:
                    sys.exit(f"{name}: {ep.method} {path} answered {status}, expected {ep.expect}")
        time.sleep(1)
        boots_before = {k: s.boots() for k, s in servers.items()}
        mem_before = {k: memory(s) for k, s in servers.items()}

        results: dict[str, list[Result]] = {ep.key: [] for ep in eps}
        ratios: dict[str, list[float]] = {ep.key: [] for ep in eps}
        for r in range(args.rounds):
            order = eps if r % 2 == 0 else list(reversed(eps))
            this_round = {}
            for ep in order:
                url = base[ep.server] + (ep.path if ep.key != "confirm" else "/")
                if use_wrk:
                    result = run_wrk(url if ep.key != "confirm" else base[ep.server],
                                     ep, wrk_script(ep, tmp, run_id, r, tokens[r] if ep.key == "confirm" else None),
                                     args.duration)
                else:
                    result = run_python_load(base[ep.server], ep, run_id, r,
                                             tokens[r] if ep.key == "confirm" else None, args.duration)
                if ep.key == "confirm" and result.requests > len(tokens[r]):
                    print(f"  warning: {result.requests} confirms for {len(tokens[r])} tokens", file=sys.stderr)
                results[ep.key].append(result)
                this_round[ep.key] = result
                print(f"  round {r + 1} {ep.key:<13} {result.rps:8.0f} req/s  p50 {result.p50:6.1f} ms  "
                      f"p99 {result.p99:6.1f} ms  bad {result.bad}", file=sys.stderr, flush=True)
                if ep.method == "POST":
                    # The worker renders and sends what the posts queued: let it finish,
                    # so that its CPU does not weigh on the next endpoint measured.
                    wait_for_outbox(env)
                time.sleep(0.5)
            for key, result in this_round.items():
                ratios[key].append(result.rps / this_round["trivial"].rps)
        mem_after = {k: memory(s) for k, s in servers.items()}
        restarts = {k: s.boots() - boots_before[k] for k, s in servers.items()}
        time.sleep(2.5)  # let the worker fold the last changes
        counts = check_counts(env)
    finally:
        for server in servers.values():
            server.stop()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    return {"name": name, "redis": bool(redis_url), "eps": eps, "results": results, "ratios": ratios,
            "mem_before": mem_before, "mem_after": mem_after, "restarts": restarts, "counts": counts}


# --- report ---

def table(run: dict, args) -> str:
    name = run["name"]
    lines = [
        f"### {'SQLite' if name == 'sqlite' else 'PostgreSQL'}"
        + (" (page cache and limiter storage in Redis)" if run["redis"] else " (page cache in-process)"),
        "",
        f"gunicorn sync × {2 if run['redis'] else 1}, {args.loader}, {CONNECTIONS} connections, {args.duration} s × {args.rounds} "
        "interleaved rounds, medians; ratio = req/s ÷ trivial req/s of the same round.",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | ÷ trivial | target | met |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for ep in run["eps"]:
        rs = run["results"][ep.key]
        rps = statistics.median(r.rps for r in rs)
        p50 = statistics.median(r.p50 for r in rs)
        p99 = statistics.median(r.p99 for r in rs)
        ratio = statistics.median(run["ratios"][ep.key])
        bad = sum(r.bad for r in rs)
        target, met = "", ""
        want = ep.min_ratio.get(name)
        if want is not None:
            target = f"≥ {want:.2f}×"
            ok = ratio >= want
            if ep.max_p99 is not None:
                target += f", p99 < {ep.max_p99:.0f} ms"
                ok = ok and p99 < ep.max_p99
            met = "yes" if ok else "**no**"
        label = ep.label + (f" ({bad} bad answers)" if bad else "")
        lines.append(f"| {label} | {rps:,.0f} | {p50:.1f} | {p99:.1f} | {ratio:.2f} | {target} | {met} |")
    lines += ["", "Memory of each web process (RSS, MiB; gunicorn with the page cache):", "",
              "| process | before load | after load |", "|---|---:|---:|"]
    before, after = run["mem_before"]["cached"], dict(run["mem_after"]["cached"])
    for proc, value in before:
        later = after.get(proc)
        lines.append(f"| {proc} | {value or 0:.1f} | {later or 0:.1f} |")
    c = run["counts"]
    lines += [
        "",
        f"Workers restarted during the load (max_requests in campaign/gunicorn_conf.py): "
        f"{run['restarts']['cached']} (page cache on), {run['restarts']['uncached']} (page cache off); "
        "an 'after' RSS may therefore be a young worker's.",
        f"After the run: stored counts verified {c['verified_folded']:,} / pending {c['pending_folded']:,} "
        f"against rows {c['verified_rows']:,} / {c['pending_rows']:,}; {c['unfolded_changes']} count changes "
        f"not folded yet; outbox: {c['outbox_done']:,} delivered, {c['outbox_queued']:,} still queued.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG),
                        help="a database whose tables are dropped and recreated")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
                        help="flushed, then used with PostgreSQL; 'none' to run without")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk exists")
    parser.add_argument("--out", help="also write the tables to this markdown file")
    args = parser.parse_args()

    use_wrk = shutil.which("wrk") is not None and not args.python_load
    args.loader = "wrk 1 thread" if use_wrk else "Python asyncio load generator (wrk missing)"
    run_id = f"{int(time.time()):x}{secrets.token_hex(3)}"
    tmp = Path(tempfile.mkdtemp(prefix="sawt-surge-"))
    print(f"run {run_id}; logs in {tmp}; load by {'wrk' if use_wrk else 'the Python fallback'}",
          file=sys.stderr)
    # What an install or `bin/serve` builds: the hashed static files, the Arabic catalogue.
    run(flask("digest", "compile"), {**os.environ, "PYTHONPATH": str(ROOT)}, tmp / "digest.log")
    run(flask("translate", "compile"), {**os.environ, "PYTHONPATH": str(ROOT)}, tmp / "translate.log")
    manifest = json.loads((ROOT / "static" / "cache_manifest.json").read_text())
    args.static_path = "/static/" + manifest["css/sawt.css"]

    runs = []
    for name in args.databases.split(","):
        if name == "sqlite":
            runs.append(bench_database("sqlite", f"sqlite:///{tmp / 'bench.sqlite3'}", None, args, tmp, run_id,
                                       use_wrk))
        elif name == "postgresql":
            if not reachable(args.pg_url):
                print(f"PostgreSQL at {args.pg_url} not reachable: skipped", file=sys.stderr)
                continue
            redis_url = None if args.redis_url == "none" else args.redis_url
            if redis_url and not redis_flush(redis_url):
                print(f"Redis at {redis_url} not reachable: page cache in-process", file=sys.stderr)
                redis_url = None
            runs.append(bench_database("postgresql", args.pg_url, redis_url, args, tmp, run_id, use_wrk))

    cpu = os.cpu_count()
    load = os.getloadavg()[0]
    head = (f"Surge benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, run `{run_id}`: {cpu} cores "
            f"(load average {load:.1f} at the end), load by {'wrk' if use_wrk else 'the Python fallback'}.")
    report = "\n\n".join([head] + [table(r, args) for r in runs]) + "\n"
    print(report)
    if args.out:
        Path(args.out).write_text(report)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
