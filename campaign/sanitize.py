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


def markdown_to_text(text: str) -> str:
    """Organiser-written Markdown as plain text, for the text part of an e-mail:
    no ``**`` or ``[…](…)`` left; a link keeps its address in brackets, a list
    item its bullet or number, paragraphs a blank line between them."""
    lines: list[str] = []
    current: list[str] = []
    lists: list[list] = []  # per open list: [ordered, next number]
    quote = 0

    def flush() -> None:
        if current:
            prefix = "> " * quote
            lines.append(prefix + "".join(current).strip())
            current.clear()

    for token in _markdown.parse(text or ""):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append([kind == "ordered_list_open", int(token.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists:
                lines.append("")
        elif kind == "list_item_open":
            ordered, number = lists[-1]
            current.append("  " * (len(lists) - 1) + (f"{number}. " if ordered else "• "))
            lists[-1][1] += 1
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "inline":
            current.append(_inline_text(token.children or []))
        elif kind in ("fence", "code_block"):
            lines.append(token.content.rstrip("\n"))
            lines.append("")
        elif kind == "hr":
            lines.extend(["* * *", ""])
        elif kind in ("paragraph_close", "heading_close"):
            flush()
            if not lists:
                lines.append("")
    flush()
    return "\n".join(lines).strip() + "\n"


def _inline_text(children) -> str:
    parts: list[str] = []
    href = None
    label_start = 0
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "link_open":
            href, label_start = child.attrGet("href"), len(parts)
        elif child.type == "link_close" and href:
            label = "".join(parts[label_start:])
            if label != href:
                parts.append(f" ({href})")
            href = None
    return "".join(parts)
