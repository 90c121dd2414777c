"""The log filter removes addresses but leaves ordinary text (clock times) alone."""
import pytest

from campaign.privacy.redact import redact


@pytest.mark.parametrize("text", [
    "203.0.113.77", "2001:db8::1", "fe80::1ff:fe23:4567:890a", "::1",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::ffff:192.0.2.1", "someone+tag@example.org",
])
def test_addresses_are_removed(text):
    cleaned = redact(f"GET /ar/ from {text} done")
    assert text not in cleaned
    assert cleaned.startswith("GET /ar/ from [") and cleaned.endswith(" done")


def test_clock_times_and_paths_survive():
    line = '"POST /ar/c/x/sign HTTP/1.1" 303 - [22/Nov/2026 22:40:11]'
    assert redact(line) == line


TOKEN = "Xy3_kQ9vLm2Rt8Wz-Pa5Nc7Bd1Fg6Hj0Ks4Uv9Yq2E"  # the shape of secrets.token_urlsafe(32)


@pytest.mark.parametrize("line", [
    f"Exception on /en/confirm/{TOKEN} [POST]",  # Flask's own line before a traceback
    f"Exception on /ar/withdraw/{TOKEN} [GET]",
    f'"GET /en/unsubscribe/{TOKEN} HTTP/1.1" 200',
    f"GET /en/erase/{TOKEN}?x=1",
])
def test_link_tokens_are_masked(line):
    # A logged confirm, withdraw, unsubscribe or erase link would still work.
    cleaned = redact(line)
    assert TOKEN not in cleaned
    assert "[token]" in cleaned


def test_slugs_and_ordinary_paths_survive():
    line = "GET /en/c/free-the-journalists-of-the-southern-provinces-2026 200"
    assert redact(line) == line


def test_tracebacks_are_redacted_too():
    """An exception's text (a database error lists the row's values) goes to the log
    after the message: it must be cleaned as well."""
    import io
    import logging

    from campaign.privacy.redact import RedactingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("sawt.test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError(f"[parameters: ('layla@example.org', '203.0.113.77', '/en/confirm/{TOKEN}')]")
        except ValueError:
            logger.exception("Exception on /en/confirm/%s [POST]", TOKEN)
        logger.warning("stack", stack_info=True)
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "Traceback (most recent call last)" in written and "ValueError" in written
    for secret in ("layla@example.org", "203.0.113.77", TOKEN):
        assert secret not in written
