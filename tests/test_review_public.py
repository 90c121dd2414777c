"""Review of the public side: the Markdown sanitiser's XSS corpus, and defects found
in review that no other test file covers."""
from __future__ import annotations

import re

import pytest

from campaign.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_PROTOCOLS,
    ALLOWED_TAGS,
    render_markdown,
)

# Organiser-written Markdown that must not yield script, style, frames, images or a
# link outside the allow-list (http, https, mailto).
XSS_CORPUS = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    '<img src=x onerror="alert(1)">',
    "![x](https://tracker.example/pixel.png)",
    '<span style="background:url(https://tracker.example/)">x</span>',
    "<iframe src=https://evil.example></iframe>",
    '<svg onload="alert(1)">',
    # Bare addresses are turned into links after cleaning: they must obey the same list.
    # (bare names are linked only under TLDs the linkifier knows: .com, not .example.)
    "see data://text/html,<script>alert(1)</script>",
    "see data://evil.com/x",
    "webcal://evil.com/calendar",
    "ssh://evil.com",
    "ftp://evil.com/file",
    "feed://evil.com/rss",
]


def hrefs(html: str) -> list[str]:
    """The href of every link: text that shows `href="…"` to the reader is no link
    (nh3 writes the quotes of text as `"`, not `&quot;`)."""
    return re.findall(r'<a\s[^>]*\bhref="([^"]*)"', html)


@pytest.mark.parametrize("markdown", XSS_CORPUS)
def test_markdown_never_yields_script_or_a_link_outside_the_allow_list(markdown):
    html = render_markdown(markdown)
    for tag, attributes in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>", html):
        assert tag.lower() in ALLOWED_TAGS, html
        names = re.findall(r'([^\s=]+)="', attributes)
        assert set(names) <= set(ALLOWED_ATTRIBUTES.get(tag.lower(), [])), html
    for href in hrefs(html):
        scheme = href.split(":", 1)[0].lower() if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href) else None
        assert scheme is None or scheme in ALLOWED_PROTOCOLS, html


@pytest.mark.parametrize("markdown", [
    "[Amnesty](https://www.amnesty.org/)",
    "<https://www.amnesty.org/>",
    "see www.amnesty.org today",
    "[write to us](mailto:team@example.org)",
])
def test_every_link_is_nofollow_noopener_noreferrer(markdown):
    html = render_markdown(markdown)
    links = re.findall(r"<a [^>]*>", html)
    assert links, html
    for link in links:
        assert 'rel="nofollow noopener noreferrer"' in link, html


@pytest.mark.parametrize("page", ["/ar/c/{slug}", "/ar/c/{slug}/check-email", "/ar/erase"])
def test_email_fields_are_left_to_right_on_arabic_pages(make_app, make_campaign, page):
    """An address is Latin text: in an RTL field 'layla@example.org' is shown as
    'example.org@layla' while typing, and the signer cannot check what they typed."""
    app = make_app()
    with app.app_context():
        slug = make_campaign().slug
    html = app.test_client().get(page.format(slug=slug)).get_data(as_text=True)
    [field] = re.findall(r'<input[^>]*type="email"[^>]*>', html)
    assert 'dir="ltr"' in field, field
    assert 'autocomplete="email"' in field, field
