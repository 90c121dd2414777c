"""A logging filter that never lets a raw IP address, e-mail address or link token
reach a log."""
from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+\.[^\s@<>\"'(),;:]+")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# Full eight-group addresses, or compressed ones (with "::"). Clock times such as
# 22:40:11 have neither, so they stay readable.
_H = r"[0-9a-fA-F]{1,4}"
_IPV6 = re.compile(
    rf"(?<![\w:])(?:(?:{_H}:){{7}}{_H}|(?:{_H}:){{0,6}}(?:{_H})?::(?:{_H}:){{0,6}}(?:{_H})?)(?![\w:])"
)
# A path segment shaped like our link tokens (32+ URL-safe characters with a capital
# or an underscore), not like a slug: a logged confirm, withdraw, unsubscribe or
# erase link would still work for whoever reads the log.
_TOKEN = re.compile(r"(?<=/)(?=[A-Za-z0-9_-]*[A-Z_])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])")


def redact(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    text = _TOKEN.sub("[token]", text)
    text = _IPV4.sub("[ip]", text)
    return _IPV6.sub("[ip]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        # A traceback is printed after the message, and an exception's text can hold
        # a row's values (SQLAlchemy lists the parameters): format it now, cleaned.
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(*logger_names: str) -> None:
    """Attach the filter to the named loggers and to every handler of the root logger."""
    flt = RedactingFilter()
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(flt)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
