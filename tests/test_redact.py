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
