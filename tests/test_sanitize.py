"""The Markdown sanitiser: what readers see of code, ampersands and links. Its XSS
corpus is in test_review_public.py."""
from __future__ import annotations

import pytest

from campaign.sanitize import render_markdown


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        # Readers must see `a < b`: the HTML says &lt; once, never &amp;lt;.
        ("Use `a < b`", "<p>Use <code>a &lt; b</code></p>\n"),
        ("`x && y > 1`", "<p><code>x &amp;&amp; y &gt; 1</code></p>\n"),
        ("`&amp;`", "<p><code>&amp;amp;</code></p>\n"),
        (
            "```\nif a < b && c > d:\n    print('<ok>')\n```",
            "<pre><code>if a &lt; b &amp;&amp; c &gt; d:\n    print('&lt;ok&gt;')\n</code></pre>\n",
        ),
        ("    indented <code> & more", "<pre><code>indented &lt;code&gt; &amp; more\n</code></pre>\n"),
    ],
)
def test_code_is_escaped_once(markdown, html):
    assert render_markdown(markdown) == html


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("Tom & Jerry < 3", "<p>Tom &amp; Jerry &lt; 3</p>\n"),
        ("AT&amp;T", "<p>AT&amp;T</p>\n"),
        ("حقوق & حريات", "<p>حقوق &amp; حريات</p>\n"),
    ],
)
def test_ampersands_in_text_are_escaped_once(markdown, html):
    assert render_markdown(markdown) == html


def test_an_address_in_code_stays_code_and_is_not_linked():
    html = render_markdown("Run `curl https://example.org/?a=1&b=2` and ```www.amnesty.org```")
    assert "<a " not in html, html
    assert "<code>curl https://example.org/?a=1&amp;b=2</code>" in html


def test_a_bare_address_becomes_a_link_with_its_query_escaped_once():
    html = render_markdown("see https://www.amnesty.org/en/?a=1&b=2 today")
    assert html == (
        '<p>see <a href="https://www.amnesty.org/en/?a=1&amp;b=2" rel="nofollow noopener noreferrer">'
        "https://www.amnesty.org/en/?a=1&amp;b=2</a> today</p>\n"
    )


def test_a_bare_email_address_is_not_linked():
    """Signers' and organisers' addresses in a text are not turned into mailto links
    unless written as one: `<mailto:…>` or `[…](mailto:…)`."""
    assert render_markdown("write to team@example.org") == "<p>write to team@example.org</p>\n"


@pytest.mark.parametrize("markdown", ["ftp://evil.com/file", "see data://evil.com/x", "[x](webcal://evil.com/calendar)"])
def test_addresses_outside_the_allow_list_stay_text(markdown):
    assert "<a" not in render_markdown(markdown)


def test_arabic_text_with_a_link_keeps_both():
    html = render_markdown("وقّعوا على [العريضة](https://example.org/ar) اليوم")
    assert html == (
        '<p>وقّعوا على <a href="https://example.org/ar" rel="nofollow noopener noreferrer">العريضة</a>'
        " اليوم</p>\n"
    )
