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
