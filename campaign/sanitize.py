"""Organiser-written Markdown → safe HTML. The one place HTML is cleaned: swapping
bleach (unmaintained) for nh3 stays a change to this file."""
from __future__ import annotations

import bleach
from bleach.linkifier import Linker, build_url_re
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "blockquote", "code", "pre",
        "ul", "ol", "li", "h2", "h3", "h4", "a", "bdi", "span",
    }
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"], "ol": ["start"], "span": ["dir"], "bdi": ["dir"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")


def _external_link_rel(attrs, new=False):
    href_key = (None, "href")
    if href_key in attrs:
        attrs[(None, "rel")] = "nofollow noopener noreferrer"
    return attrs


# Bare addresses become links after cleaning, so linkify needs the allow-list too:
# its own default also links data:, ftp:, ssh:, webcal: and a dozen more.
_URL_RE = build_url_re(protocols=ALLOWED_PROTOCOLS)


def sanitize_html(html: str) -> str:
    cleaned = bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )
    # A Linker per call, as bleach.linkify() does: its HTML parser keeps state.
    linker = Linker(url_re=_URL_RE, callbacks=[_external_link_rel], skip_tags={"pre", "code"}, parse_email=False)
    return linker.linkify(cleaned)


def render_markdown(text: str) -> str:
    """Markdown (raw HTML disabled, images off) rendered, then sanitised."""
    return sanitize_html(_markdown.render(text or ""))
