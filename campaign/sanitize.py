"""Organiser-written Markdown → safe HTML. The one place HTML is cleaned: markdown-it
renders (raw HTML off, bare addresses linked), then nh3 keeps only the allow-list."""
from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "blockquote", "code", "pre",
        "ul", "ol", "li", "h2", "h3", "h4", "a", "bdi", "span",
    }
)
# Every attribute the output may carry; nh3 writes `rel` itself (LINK_REL) and refuses
# to be told to keep an author's.
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"], "ol": ["start"], "span": ["dir"], "bdi": ["dir"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"

_CLEAN_ATTRIBUTES = {tag: set(names) - {"rel"} for tag, names in ALLOWED_ATTRIBUTES.items()}


def _link_allowed(url: str) -> bool:
    """A link markdown-it may make, whether written or found bare in the text: a
    relative address or one of ALLOWED_PROTOCOLS. Refusing the rest here leaves
    `ftp://…` as text instead of an empty <a> after cleaning."""
    scheme, colon, _ = url.strip().partition(":")
    if not colon or "/" in scheme:
        return True
    return scheme.lower() in ALLOWED_PROTOCOLS


_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    .enable("linkify")
    .disable("image")
)
_markdown.validateLink = _link_allowed
# Bare e-mail addresses stay text, as they were before: a signer's address quoted in
# an update should not become a mailto link nobody wrote.
_markdown.linkify.set({"fuzzy_email": False})


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes=_CLEAN_ATTRIBUTES,
        url_schemes=set(ALLOWED_PROTOCOLS),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Markdown (raw HTML disabled, images off, bare addresses linked) rendered, then
    sanitised."""
    return sanitize_html(_markdown.render(text or ""))
