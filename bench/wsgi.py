"""The WSGI entry point of the surge benchmark: the product's `app`, unchanged, plus
two paths that exist only here, never in the product.

- ``/__bench/trivial``: a separate, minimal Flask app answering ``{"ok": true}`` —
  the yardstick every figure of bench/surge.py is divided by (what gunicorn + Flask
  can do on this machine at that moment);
- ``/__bench/hooks``: the same JSON answered by a route added to the product's app,
  so it runs every before/after-request hook of the product (i18n, limiter,
  security headers, WhiteNoise): the fixed cost any page of ours pays.

Run as gunicorn does: ``gunicorn --config python:campaign.gunicorn_conf bench.wsgi:app``.
"""
from __future__ import annotations

from flask import Flask, jsonify

from app import app as product

trivial = Flask("bench_trivial")


@trivial.get("/__bench/trivial")
def trivial_json():
    return jsonify(ok=True)


def _hooks_json():
    return jsonify(ok=True)


product.add_url_rule("/__bench/hooks", "bench_hooks", _hooks_json)


def app(environ, start_response):
    """Route /__bench/trivial to the trivial app, everything else to the product."""
    if environ.get("PATH_INFO") == "/__bench/trivial":
        return trivial(environ, start_response)
    return product(environ, start_response)
