"""Hostile input, into every input of every route: never a 500, never a payload
served as markup.

The routes are those of ``app.url_map`` (a new route is covered without touching this
file), each in both languages, reached as a visitor or as the owner the way the site
links to it; their inputs are found from the site itself (tests/hostile_helpers.py):
the path segments of the rule (slugs, tokens, ids, the language), the query
parameters its links and GET forms carry, the fields of the real forms that post to
it, and every name the view asks ``request.args``/``request.form`` for or reads
through a WTForms form while the run goes on.

Into those go the Big List of Naughty Strings and over ten thousand strings from
hypothesis (format and bidi characters, Arabic, NUL and other controls, lone
surrogates, which reach the server as broken UTF-8, bytes that are not UTF-8 at all,
strings of up to 5,000 characters; seeded, so every run sends the same ones), hostile
parameter names, raw bodies that are not what they say, and multipart variants: the
form as multipart, a text field sent as a file, real upload fields given hostile
files. Each route gets requests with every input hostile at once, and requests with
one hostile input among the values a browser would send (so that it goes past
validation), two of them the probes PostgreSQL is known to refuse (a NUL in a name,
a value longer than any column). Then every page is read again, with all that
stored. Any status >= 500 or exception fails the run, and so does a payload's tag (or
a quote opening an event handler inside a tag) found unescaped in a page.

The quick suite keeps one part: every field of every form sent as a file is refused
with a translated 400 (issue 13). The whole run is ``slow``; ``-m attack`` runs it
with the timing tests.
"""
from __future__ import annotations

import itertools
import re
import time
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from campaign.extensions import db
from campaign.outbox.cli import run_worker
from campaign.outbox.models import OutboxMessage
from tests.fixtures.web import new_client
from tests.hostile_helpers import (OWNER, VISITOR, HostileStream, Recorder, Route, build_world, clip, decoded, discover,
                                   multipart, naughty_strings, path_info, path_with, relogin, stored_markup, tags_in,
                                   unescaped_reflections, urlencode, wire)

pytestmark = pytest.mark.attack

LANGS = ("ar", "en")
REASON = {"en": "This form does not take files.", "ar": "لا يقبل هذا النموذج ملفات."}
# At least this many distinct hypothesis strings go out on each database backend.
HYPOTHESIS_STRINGS = 10_000
# hypothesis examples per route and language.
EXAMPLES_PER_ROUTE = 2
# Parameters with hostile names (and values) added to each request with every input hostile.
EXTRA_PARAMETERS = 10
# A NUL in a name, and 5,000 characters: see throw_probes.
PROBES = ("ليلى\x00 حداد", "Layla Haddad " * 385)
# What a value may take of a request line (gunicorn's limit_request_line is 4,094),
# percent-encoded.
URL_ROOM = 3_600
# Statuses >= 500 that a protocol asks for, not errors: oEmbed 1.0 (2.3.4) answers a
# format the provider does not implement with 501.
PROTOCOL_ANSWERS = {("oembed.oembed", 501)}
# Routes that end something (a session, a membership, a campaign's life) go last, so
# that the others still find what their addresses point at.
ENDINGS = ("logout", "remove", "delete", "decline", "archive", "close", "withdraw", "erase_confirm", "unsubscribe")


class Site:
    """The app under attack, its routes, and what the attack found."""

    def __init__(self, app, make_organiser, monkeypatch):
        self.app = app
        self.world = build_world(app, make_organiser)
        self.recorder = Recorder()
        self.recorder.install(app, monkeypatch)
        self.clients = {VISITOR: new_client(app), OWNER: new_client(app)}
        relogin(self.clients[OWNER], self.world)
        self.routes, tags = discover(app, self.clients, self.world)
        self.routes.sort(key=lambda r: (r.method != "GET", r.who == OWNER,
                                        any(word in r.endpoint for word in ENDINGS), r.rule.rule))
        self.our_tags = "\n".join(sorted(tags))
        self.extra_query: dict[str, set[str]] = {r.key: set() for r in self.routes}
        self.extra_form: dict[str, set[str]] = {r.key: set() for r in self.routes}
        self.problems: list[str] = []
        self.requests = 0
        self.logged_out = False
        self.sent_tags: set[str] = set()  # every tag a hostile value carried
        self.seconds: dict[str, float] = {}
        self.statuses: dict[str, Counter] = {}

    # --- one request ---

    def send(self, route: Route, lang: str, *, path: dict | None = None, query: list | None = None,
             form: list | None = None, body: bytes | None = None, content_type: str | None = None,
             hostile=(), what: str = ""):
        """Send one request to ``route`` in ``lang``: ``path`` replaces path segments,
        ``query``/``form`` are (name, value) pairs (default: what a browser sends), or
        ``body`` is the raw body. Notes any problem; returns the response or None."""
        encoded = path_with(route.path, route.rule, "lang_code", lang) if "lang_code" in route.rule.arguments \
            else route.path
        query = baseline_query(route, lang) if query is None else query
        # gunicorn refuses a request line over 4,094 bytes: longer values never reach
        # the app in a URL, so they are cut to fit (and left as broken UTF-8 if cut so).
        room = URL_ROOM // max(1, len(path or {}) + 2 * len(query))
        for argument, value in (path or {}).items():
            encoded = path_with(encoded, route.rule, argument, clip(value, room))
        query_string = urlencode([(clip(k, room), clip(v, room)) for k, v in query])
        if body is None and route.method == "POST":
            body = urlencode(route.form if form is None else form).encode()
            content_type = "application/x-www-form-urlencoded"
        client = self.clients[route.who]
        if route.who == OWNER and self.logged_out:
            relogin(client, self.world)
            self.logged_out = False
        self.requests += 1
        began = time.perf_counter()
        environ = {"PATH_INFO": path_info(encoded), "QUERY_STRING": query_string,
                   "REQUEST_URI": encoded + (f"?{query_string}" if query_string else "")}
        try:
            response = client.open("/", method=route.method, data=body, content_type=content_type,
                                   environ_overrides=environ, buffered=True)
        except Exception as exc:  # TESTING propagates what would be a 500
            self._problem(route, lang, what, hostile, f"{type(exc).__name__}: {str(exc)[:300]}")
            return None
        finally:
            self._note_asked(route)
            self.seconds[route.key] = self.seconds.get(route.key, 0) + time.perf_counter() - began
        self.statuses.setdefault(route.key, Counter())[response.status_code] += 1
        if response.status_code >= 500 and (route.endpoint, response.status_code) not in PROTOCOL_ANSWERS:
            self._problem(route, lang, what, hostile, f"status {response.status_code}")
        location = response.headers.get("Location", "")
        if route.who == OWNER and ("/manage/login" in location or "/manage/reauth" in location):
            self.logged_out = True
        if response.mimetype == "text/html":
            body = response.get_data(as_text=True)
            if hostile:
                self.sent_tags |= tags_in(hostile)
                found = unescaped_reflections(body, hostile, self.our_tags)
            else:
                found = stored_markup(body, self.sent_tags, self.our_tags)
            if found:
                self._problem(route, lang, what, hostile, f"markup of a payload served unescaped: {found[:3]!r}")
        return response

    def _note_asked(self, route: Route) -> None:
        """Names the view asked for that no link or form showed become inputs too."""
        asked, fields = self.recorder.take()
        if route.method == "GET":
            self.extra_query[route.key] |= {n for n in asked if isinstance(n, str)} - set(route.query)
        else:
            known = {n for n, _ in route.form} | route.form_names | route.file_names
            self.extra_form[route.key] |= {n for n in asked | fields if isinstance(n, str)} - known

    def _problem(self, route, lang, what, hostile, message):
        values = ", ".join(repr(decoded(v))[:80] for v in list(hostile)[:4])
        message = message.splitlines()[0] if message else message
        self.problems.append(f"{route.key} [{lang}] {what}: {message} <- {values}")

    # --- the inputs of a route ---

    def slots(self, route: Route) -> list[tuple[str, str]]:
        """Every input of ``route``: ("path", argument), ("query", name), ("form", name).
        Of rows that repeat (demands-0-title, demands-1-title…; rate-1, rate-2…) the
        first two stand for the rest."""
        slots = [("path", a) for a in sorted(route.rule.arguments)]
        slots += [("query", n) for n in _first_rows(set(route.query) | self.extra_query[route.key])]
        if route.method == "POST":
            names = {n for n, _ in route.form} | route.form_names | self.extra_form[route.key]
            slots += [("form", n) for n in _first_rows(names - route.file_names)]
        return slots

    def every_input(self, route, lang, values: list, *, as_multipart: bool = False, what: str = "every input"):
        """Every query parameter and form field of ``route`` hostile at once, then as
        many parameters as there are values left, with hostile names and values. The
        path and the CSRF token stay as found: either, hostile, stops the request
        before anything reads the rest (they get ``one_input``)."""
        slots = [slot for slot in self.slots(route) if slot[0] != "path" and slot[1] != "csrf_token"]
        values = list(values) or [""]
        values += values[:max(0, len(slots) + 2 - len(values))]
        query = [(name, v) for (kind, name), v in zip(slots, values) if kind == "query"]
        form = [(name, v) for (kind, name), v in zip(slots, values) if kind == "form"]
        form += [(name, v) for name, v in route.form if name == "csrf_token"]
        left = values[len(slots):]
        extra = list(zip(left[::2], left[1::2]))
        if route.method == "GET":
            return self.send(route, lang, query=query + extra, hostile=values, what=what)
        form += extra
        if as_multipart or route.file_names:
            files = {name: (wire(v), v) for name, v in zip(sorted(route.file_names), values)}
            body, content_type = multipart(form, files)
            return self.send(route, lang, query=query, body=body, content_type=content_type,
                             hostile=values, what=what + " (multipart)")
        return self.send(route, lang, query=query, form=form, hostile=values, what=what)

    def one_input(self, route, lang, slot: tuple[str, str], value):
        """One input hostile; the others as a browser sends them."""
        kind, name = slot
        what = f"{kind} {name!r}"
        if kind == "path":
            return self.send(route, lang, path={name: value}, hostile=[value], what=what)
        if kind == "query":
            query = [(n, v) for n, v in baseline_query(route, lang) if n != name] + [(name, value)]
            return self.send(route, lang, query=query, hostile=[value], what=what)
        form = [(n, v) for n, v in route.form if n != name] + [(name, value)]
        return self.send(route, lang, form=form, hostile=[value], what=what)

    def as_file(self, route, lang, name: str, content=b"=1+1", filename="notes.txt"):
        """The form as a browser sends it, with field ``name`` sent as a file."""
        form = [(n, v) for n, v in route.form if n != name]
        body, content_type = multipart(form, {name: (wire(content), filename)})
        return self.send(route, lang, body=body, content_type=content_type, hostile=[content, filename],
                         what=f"field {name!r} sent as a file")

    def raw_body(self, route, lang, body: bytes, content_type: str):
        return self.send(route, lang, body=body, content_type=content_type, hostile=[body],
                         what=f"raw body ({content_type})")


def baseline_query(route: Route, lang: str) -> list[tuple[str, str]]:
    """The query a link to ``route`` carries, in ``lang``: an address without a
    language in its path (/embed/…?lang=ar) says it in a parameter."""
    return [(name, lang if value in LANGS else value) for name, value in route.query.items()]


def _first_rows(names: set[str], rows: int = 2) -> list[str]:
    kept, seen = [], defaultdict(set)
    for name in sorted(names, key=lambda n: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", n)]):
        match = re.fullmatch(r"(.*?)-(\d+)(-.*)?", name)
        if match:
            shape = (match.group(1), match.group(3))
            if match.group(2) not in seen[shape] and len(seen[shape]) >= rows:
                continue
            seen[shape].add(match.group(2))
        kept.append(name)
    return kept


# Why a queued message may end unsent without anything having failed: the flows the
# attack drives (erase, withdraw, unsubscribe, a second click) cancel mail on purpose.
CANCELLED = ("anonymised", "deleted", "erased", "invalidated", "repeat", "unsubscribed", "withdrawn")


@pytest.fixture
def site(app, make_organiser, monkeypatch) -> Site:
    return Site(app, make_organiser, monkeypatch)


def form_fields(route: Route) -> set[str]:
    return ({n for n, _ in route.form} | route.form_names) - route.file_names


def test_every_field_of_every_form_sent_as_a_file_is_refused(site):
    """A text field sent as a file upload is invalid input (400 with the translated
    reason), never a 500: every field of every form that posts, and a name of no
    form, in both languages. And the routes are found from the site itself: every
    rule, most of them through the site's own links and forms, with their real fields."""
    assert {id(route.rule) for route in site.routes} == {id(rule) for rule in site.app.url_map.iter_rules()}
    missing = sorted(route.key for route in site.routes if not route.found)
    assert len(missing) <= 0.1 * len(site.routes), missing
    sign = next(r for r in site.routes if r.endpoint == "signatures.sign")
    assert {"name", "email", "country", "comment", "visibility", "opt_in", "website"} <= sign.form_names
    edit = next(r for r in site.routes if r.endpoint == "manage_campaigns.edit" and r.method == "POST")
    assert {"en-title", "demands-0-ar-title", "goal"} <= edit.form_names

    checked = 0
    for lang in LANGS:
        for route in site.routes:
            if route.method != "POST":
                continue
            for name in sorted(form_fields(route) | {"not_a_field"}):
                response = site.as_file(route, lang, name)
                assert response is not None, site.problems[-1]
                assert response.status_code in (400, 422), (route.key, name, response.status_code)
                if name != "csrf_token":
                    # An address that names no language answers in the visitor's.
                    said = "lang_code" in route.rule.arguments or any(v in LANGS for v in route.query.values())
                    reasons = [REASON[lang]] if said else REASON.values()
                    assert any(r in response.get_data(as_text=True) for r in reasons), (route.key, name)
                checked += 1
    assert checked > 400
    assert not site.problems, site.problems


def throw_probes(site: Site, route: Route, lang: str) -> None:
    """Into each query parameter and form field, one at a time among a browser's
    values, what PostgreSQL refuses wherever a field lets it through: a NUL inside an
    ordinary name (in Arabic pages), a value longer than any column (in English)."""
    probe = PROBES[LANGS.index(lang)]
    for slot in site.slots(route):
        if slot[0] != "path" and slot[1] != "csrf_token":  # a token's own check refuses it first
            site.one_input(route, lang, slot, probe)


def throw_naughty_strings(site: Site, route: Route, lang: str, naughty: list[str], cursor, sent: set) -> None:
    """The Big List of Naughty Strings: into every input at once (and as the names and
    values of EXTRA_PARAMETERS more), and into each path segment (in one language or
    the other); each time the next part of the list, so that every string goes out
    many times over a run, each time somewhere else."""
    values = [naughty[next(cursor) % len(naughty)] for _ in range(len(site.slots(route)) + 2 * EXTRA_PARAMETERS)]
    sent.update(values)
    site.every_input(route, lang, values, what="every input (naughty strings)")
    paths = [slot for slot in site.slots(route) if slot[0] == "path"]
    for slot in paths[LANGS.index(lang)::len(LANGS)] if len(paths) > 1 else paths:  # shared by the languages
        value = naughty[next(cursor) % len(naughty)]
        sent.add(value)
        site.one_input(route, lang, slot, value)


def throw_hypothesis_strings(site: Site, route: Route, lang: str, stream: HostileStream, sent: set) -> None:
    """EXAMPLES_PER_ROUTE times a hostile value from hypothesis for every input (and
    the names and values of EXTRA_PARAMETERS more): all of them at once (urlencoded,
    or every other time multipart), then some of them one at a time among a browser's
    values, so that over the examples each input gets its turn (half of the inputs in
    each language); and one text field sent as a hostile file."""
    slots = site.slots(route)
    mine = [i for i in range(len(slots)) if i % len(LANGS) == LANGS.index(lang)]
    per_example = -(-len(mine) // EXAMPLES_PER_ROUTE)
    turn = itertools.count()
    for example in range(EXAMPLES_PER_ROUTE):
        values = stream.take(len(slots) + 2 * EXTRA_PARAMETERS)
        sent.update(wire(v) for v in values)
        site.every_input(route, lang, values, as_multipart=example % 2 == 1)
        for _ in range(per_example):
            n = next(turn)
            if n < len(mine):
                site.one_input(route, lang, slots[mine[n]], values[mine[n]])
    fields = sorted(form_fields(route))
    if route.method == "POST" and fields:
        content, filename = stream.take(2)
        sent.update((wire(content), wire(filename)))
        site.as_file(route, lang, fields[LANGS.index(lang) % len(fields)], content, filename)


BODIES = [  # (body, content type): half in each language
    (b"\xff\xfe\x00name=\xed\xa0\x80&&==%%%", "application/x-www-form-urlencoded"),
    (b'--x\r\nContent-Disposition: form-data; name="a\r\n\r\n\xff', "multipart/form-data; boundary=x"),
    (b'--x\r\nContent-Disposition: form-data; name="csrf_token"; filename="\xff"\r\n\r\n',
     "multipart/form-data; boundary=x"),
    (b'{"email": "\\u0000"}', "application/json"),
]


def throw_bodies(site: Site, route: Route, lang: str) -> None:
    """Bodies that are not what they say: broken UTF-8 unencoded, broken multipart, JSON."""
    for body, content_type in BODIES[LANGS.index(lang)::len(LANGS)]:
        site.raw_body(route, lang, body, content_type)


@pytest.mark.slow
def test_hostile_strings_in_every_input_of_every_route(site, backend):
    started, cpu = time.perf_counter(), time.process_time()
    naughty = naughty_strings()
    cursor = itertools.count()
    stream = HostileStream()
    sent_naughty: set[str] = set()
    sent_hypothesis: set[bytes] = set()
    for route in site.routes:  # both languages before the next route: the endings go last
        for lang in LANGS:
            throw_probes(site, route, lang)  # first: an action done once is done with them
            throw_naughty_strings(site, route, lang, naughty, cursor, sent_naughty)
            throw_hypothesis_strings(site, route, lang, stream, sent_hypothesis)
            if route.method == "POST":
                throw_bodies(site, route, lang)
    # What the forms queued, the worker carries out (signatures, their mails, look-ups):
    # nothing hostile may make it fail, and the pages then show what it stored.
    worked = run_worker(site.app, once=True)
    failed = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.last_error.is_not(None), OutboxMessage.last_error.not_in(CANCELLED))).all()
    assert not failed, [(m.kind.value, m.template, m.state.value, m.last_error) for m in failed]
    for route in site.routes:  # every page again, with all that stored
        if route.method == "GET":
            for lang in LANGS:
                site.send(route, lang, what="read back")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu

    print(f"\nhostile input on {backend}: {len(site.routes)} routes x {len(LANGS)} languages, {site.requests} "
          f"requests, {len(sent_naughty)} naughty strings, {len(sent_hypothesis)} hypothesis strings, "
          f"{worked} mails sent by the worker, "
          f"{elapsed:.1f} s ({cpu:.1f} s of CPU), {len(site.problems)} problems")
    for key, seconds in sorted(site.seconds.items(), key=lambda item: -item[1])[:5]:
        print(f"  {seconds:5.1f} s  {key}")
    assert not site.problems, "\n".join(site.problems[:40])
    assert len(sent_naughty) == len(set(naughty))
    assert len(sent_hypothesis) >= HYPOTHESIS_STRINGS
    # The attack reached the views, not only the 404 and 400 pages in front of them.
    shallow = [key for key, statuses in site.statuses.items()
               if not set(statuses) - {400, 403, 404, 405, 413}]
    assert len(shallow) <= 0.1 * len(site.routes), shallow


def test_the_reflection_check_tells_markup_from_text():
    """The attack's own judge: a payload's tag, or a quote that opens an event
    handler inside a tag, is markup; the same escaped, or as text, is not."""
    ours = "<p>\n<div class=\"x\">"
    assert unescaped_reflections("<p><script>alert(1)</script></p>", ["a<script>alert(1)</script>"], ours)
    assert unescaped_reflections("<p><svg/onload=alert(1)</p>", ["<svg/onload=alert(1)"], ours)
    assert unescaped_reflections('<input value="" onfocus=alert(1) x="">', ['" onfocus=alert(1) x="'], ours)
    assert not unescaped_reflections("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", ["<script>alert(1)</script>"],
                                     ours)
    assert not unescaped_reflections('<p>" onfocus=alert(1) x=</p>', ['" onfocus=alert(1) x="'], ours)
    assert not unescaped_reflections("<p>x</p>", ["<p>"], ours)
    sent = tags_in(["<img src=x onerror=alert(1)>"])
    assert stored_markup("<div><img src=x onerror=alert(1)></div>", sent, ours)
    assert not stored_markup("<div>&lt;img src=x onerror=alert(1)&gt;</div>", sent, ours)
