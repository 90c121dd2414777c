"""Static files: content-hashed names, far-future caching, served compressed.

`flask --app app digest compile` (Flask-Static-Digest; the build hook, bin/serve
and the Procfile's release step run it) writes a copy of every file under a name
that carries its MD5 (css/sawt-<md5>.css), a gzip of each, and a manifest;
templates ask `static_url_for` for the hashed name. WhiteNoise serves them ahead of
Flask: hashed names as immutable for a year (a proxy may keep them forever, since a
change makes a new name), gzip to clients that accept it, the rest for an hour.
Without a compiled manifest everything still works, with the plain names.
"""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from flask import Flask
from flask_static_digest import FlaskStaticDigest
from flask_static_digest.digester import DIGESTED_FILE_REGEX, clean, compile
from whitenoise import WhiteNoise

_HASHED = re.compile(DIGESTED_FILE_REGEX + r"\.[^/]+$")
# Files that other sites load into their own pages (the script hosts of the
# embedded sign form paste), by their plain and their hashed names.
_FOR_OTHER_SITES = re.compile(r"/embed-host(-[0-9a-f]{32})?\.js(\.gz)?$")
digest = FlaskStaticDigest()


def digest_static_folder(folder: Path) -> None:
    """Write the hashed copies, their gzip and the manifest (what `flask digest
    compile` does), after removing the previous build's."""
    path = str(folder).rstrip("/") + "/"
    with contextlib.redirect_stdout(io.StringIO()):  # the digester prints where it wrote
        clean(path, [], True, False)
        compile(path, path, [], True, False)


def _is_hashed(path: str, url: str) -> bool:
    return bool(_HASHED.search(url))


def _security_headers(headers, path: str, url: str) -> None:
    # Not documents, but nothing here is to be framed or run as a page either.
    headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "cross-origin" if _FOR_OTHER_SITES.search(url) else "same-origin"


def init_app(app: Flask) -> None:
    digest.init_app(app)
    app.wsgi_app = WhiteNoise(
        app.wsgi_app,
        root=app.static_folder,
        prefix=app.static_url_path.strip("/") + "/",
        max_age=3600,
        immutable_file_test=_is_hashed,
        add_headers_function=_security_headers,
    )
