"""Browser test fixtures: a live Sawt server and Debian's Chromium through Playwright.

Registered from tests/conftest.py (``pytest_plugins``). Mark browser tests with
``@pytest.mark.browser`` (any test using the ``browser`` fixture gets the mark anyway,
so ``-m "not browser"`` works); every browser test is also marked ``slow``, so
``-m "not slow"`` leaves them out. Like every test they run once per database backend.

Fixtures
--------
``live_server``
    The app (``make_app()``: file mail backend, rate limits off) served by werkzeug on
    ``127.0.0.1`` and a free port, from a background thread (``threaded=True``). One per
    test (starting one takes a few milliseconds). Attributes and methods:

    - ``.url``: ``"http://127.0.0.1:PORT"`` (no trailing slash); also the app's
      ``PUBLIC_URL``, so links in e-mails lead back to this server;
    - ``.app``: the Flask app being served (push ``live_server.app.app_context()`` to use
      ``db.session`` on it; objects made through the ``app`` fixture, e.g. with
      ``make_campaign``, are in the same database and are served too);
    - ``.deliver()``: runs the outbox worker once on the live app and returns the
      e-mails written since the last call, parsed, oldest first (as ``deliver`` in
      tests/fixtures/mail.py). Use ``body_text`` / ``link_in`` from there on them.

``make_live_server(**config)``
    The factory behind ``live_server``, for tests that need config overrides
    (e.g. ``server = make_live_server(RATELIMIT_ENABLED=True)``; then open pages with
    ``make_page(base_url=server.url)``, since ``page`` points at ``live_server``).

``browser``
    One Chromium for the whole session: Playwright's sync API driving Debian's
    ``/usr/bin/chromium-headless-shell`` (``/usr/bin/chromium`` where the shell is not
    installed; never ``playwright install``). Skipped when Chromium is
    missing, a failure under ``CI=true``.

``page``
    A fresh browser context and page per test, with ``base_url`` set to the live
    server, so ``page.goto("/en/c/slug")`` works. Every page made by these fixtures is
    watched, and the test fails at teardown if
      * it sent any request to a host other than 127.0.0.1/localhost (the request is
        aborted and recorded: a visit to Sawt must not tell anyone else),
      * the page logged a console error (this includes CSP violations) or threw an
        uncaught exception (``pageerror``),
      * a sub-resource (CSS, JS, font, image) of our own came back with a 4xx/5xx.
    A document answering 4xx (e.g. a form re-shown with 422) is expected and allowed.

``phone_page``
    Like ``page``, on a 360x740 touch phone viewport (``PHONE`` holds the options).

``make_page(**context_options)``
    Opens another watched page in its own context; options go to
    ``browser.new_context`` (e.g. ``make_page(java_script_enabled=False)``,
    ``make_page(**PHONE, locale="ar")``). ``base_url`` defaults to the live server.

``browser_watch``
    What the watchers saw (``.external_requests``, ``.errors``); call
    ``browser_watch.allow(r"regex")`` in a test that expects a matching console error.

Helpers (import from ``tests.browser_fixtures``)
------------------------------------------------
``PHONE``: context options of the 360x740 phone. ``assert_controls_labelled(page)``:
every form control has an accessible name, as Chromium computes it.
``unlabelled_controls(page)``: the list behind it. ``assert_no_horizontal_scroll(page,
width=360)``: the page is no wider than the screen.

Example::

    @pytest.mark.browser
    def test_something(page, live_server, make_campaign):
        slug = make_campaign().slug
        page.goto(f"/en/c/{slug}")
        ...
        [message] = live_server.deliver()
        page.goto(link_in(message, "/confirm/"))
"""
from __future__ import annotations

import email
import re
import shutil
import threading
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.fixtures.ci import skip_or_fail

# Debian's headless shell: Chromium's build for automation (what Playwright itself
# runs headless), half the CPU and time of the full browser for the same tests here.
# The full browser is the fallback where the shell is not installed.
CHROMIUM = "/usr/bin/chromium-headless-shell"
if not Path(CHROMIUM).exists():
    CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}

# Chromium logs a main-document 4xx as a console error; documents are judged by the
# test (a form re-shown with 422 is correct), sub-resources by the response watcher.
_STATUS_CONSOLE = re.compile(r"^Failed to load resource: the server responded with a status of \d+")


@dataclass
class LiveServer:
    url: str
    app: Flask
    mail_dir: Path
    _seen: set[Path] = field(default_factory=set)

    def deliver(self) -> list[email.message.EmailMessage]:
        """Run the outbox worker once on the live app; return the new e-mails."""
        from campaign.outbox.cli import run_worker

        with self.app.app_context():
            run_worker(self.app, once=True)
        files = sorted(
            (p for p in self.mail_dir.glob("*.eml") if p not in self._seen), key=lambda p: p.stat().st_mtime_ns
        )
        self._seen.update(files)
        return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


@pytest.hookimpl(tryfirst=True)  # before conftest's CI check looks for browser tests
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("browser") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def make_live_server(make_app):
    """Serve ``make_app(**config)`` on 127.0.0.1 and a free port; stopped after the test."""
    servers = []

    def factory(**config) -> LiveServer:
        app = make_app(**config)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        url = f"http://127.0.0.1:{server.server_port}"
        app.config["PUBLIC_URL"] = url
        # A short poll interval makes shutdown() at teardown quick (default 0.5 s).
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name=f"live-server-{server.server_port}", daemon=True)
        thread.start()
        servers.append((server, thread))
        return LiveServer(url=url, app=app, mail_dir=Path(app.config["MAIL_FILE_DIR"]))

    yield factory
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def live_server(make_live_server) -> LiveServer:
    """The app served on 127.0.0.1; see the module docstring."""
    return make_live_server()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium (its headless shell), launched once per session through
    Playwright's sync API."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        skip_or_fail(f"{CHROMIUM} is not installed (apt-get install chromium-headless-shell)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a test dependency
        skip_or_fail("the playwright package is not installed")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:
        playwright.stop()
        skip_or_fail(f"Chromium did not start: {exc}")
    yield chromium
    chromium.close()
    playwright.stop()


class BrowserWatch:
    """Collects what pages did that a test must not allow."""

    def __init__(self) -> None:
        self.external_requests: list[str] = []
        self.errors: list[str] = []
        self._allowed: list[re.Pattern] = []

    def allow(self, pattern: str) -> None:
        """Let console errors matching ``pattern`` pass in this test."""
        self._allowed.append(re.compile(pattern))

    def _error(self, text: str) -> None:
        if not any(p.search(text) for p in self._allowed):
            self.errors.append(text)

    def attach(self, context, page) -> None:
        def route(route):
            url = route.request.url
            if urlsplit(url).hostname in LOCAL_HOSTS:
                route.fallback()
            else:
                self.external_requests.append(f"{route.request.method} {url}")
                route.abort("blockedbyclient")

        def web_socket(ws):
            self.external_requests.append(f"WebSocket {ws.url}")
            ws.close()

        context.route("**/*", route)
        context.route_web_socket(re.compile(r"^wss?://(?!(127\.0\.0\.1|localhost)[:/])"), web_socket)
        self.watch(page)
        context.on("page", self.watch)  # pop-ups and target=_blank

    def watch(self, page) -> None:
        def console(message):
            if message.type == "error" and not _STATUS_CONSOLE.match(message.text):
                self._error(f"console error on {page.url}: {message.text}")

        def response(response):
            request = response.request
            if response.status >= 400 and request.resource_type != "document":
                self._error(f"{request.resource_type} {request.url} answered {response.status}")

        page.on("console", console)
        page.on("pageerror", lambda error: self._error(f"uncaught exception on {page.url}: {error}"))
        page.on("response", response)

    def problems(self) -> list[str]:
        found = [f"request to another host: {r}" for r in self.external_requests]
        return found + self.errors


CONTROL_ROLES = {"textbox", "searchbox", "combobox", "listbox", "radio", "checkbox", "switch", "button",
                 "spinbutton", "slider"}


def unlabelled_controls(page) -> list[str]:
    """Form controls on the page without an accessible name, as Chromium itself
    computes names (its accessibility tree, one CDP call; aria-hidden and hidden
    elements are not in it). Each entry describes the element."""
    cdp = page.context.new_cdp_session(page)
    try:
        found = []
        for node in cdp.send("Accessibility.getFullAXTree")["nodes"]:
            role = node.get("role", {}).get("value")
            if node.get("ignored") or role not in CONTROL_ROLES or (node.get("name", {}).get("value") or "").strip():
                continue
            element = cdp.send("DOM.describeNode", {"backendNodeId": node["backendDOMNodeId"]})["node"]
            attributes = element.get("attributes", [])
            described = " ".join(f'{k}="{v}"' for k, v in zip(attributes[::2], attributes[1::2]))
            found.append(f"{role}: <{element.get('localName')} {described}>")
        return found
    finally:
        cdp.detach()


def assert_controls_labelled(page) -> None:
    """Every control a person can reach has an accessible name (label, aria-label…)."""
    missing = unlabelled_controls(page)
    assert not missing, f"controls without a label on {page.url}: {missing}"


def assert_no_horizontal_scroll(page, width: int = PHONE["viewport"]["width"]) -> None:
    """Nothing on the page is wider than ``width`` (default: the 360 px phone)."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px screen"


@pytest.fixture
def browser_watch() -> BrowserWatch:
    """External requests and errors seen by this test's pages (see ``allow``)."""
    return BrowserWatch()


@pytest.fixture
def make_page(browser, live_server, browser_watch):
    """Open a watched page in a new context; keyword arguments go to new_context."""
    contexts = []

    def factory(**options):
        options.setdefault("base_url", live_server.url)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        browser_watch.attach(context, page)
        return page

    yield factory
    for context in contexts:
        context.close()
    problems = browser_watch.problems()
    if problems:
        pytest.fail("the browser saw:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def page(make_page):
    """A fresh watched page (desktop size) per test, base_url on the live server."""
    return make_page()


@pytest.fixture
def phone_page(make_page):
    """A fresh watched page on a 360x740 phone viewport."""
    return make_page(**PHONE)
