"""Social backends. Each takes a rendered post ({"text", "locale"}) and either
returns or raises TemporaryFailure (retry later) or PermanentFailure (give up),
the same failures as the mail backends so the outbox treats both alike."""
from __future__ import annotations

import sys
from typing import Protocol

import requests
from flask import Flask

from campaign.mail.backends import TIMEOUT_SECONDS, PermanentFailure, TemporaryFailure

X_API = "https://api.twitter.com"


class SocialBackend(Protocol):
    def post(self, message: dict) -> None: ...


class ConsoleSocial:
    """Prints each post: for trying milestones out without an account."""

    def __init__(self, app: Flask, stream=None):
        self.stream = stream

    def post(self, message: dict) -> None:
        stream = self.stream or sys.stdout
        stream.write(f"\n[post] {message['text']}\n")
        stream.flush()


class _XSession(requests.Session):
    """tweepy's session, with a timeout (tweepy sets none: a hung connection would
    stop the worker) and, when X_API_URL says so, another host — tweepy hard-codes
    the API's; tests point it at a local stub and keep the real OAuth 1 signing."""

    def __init__(self, base: str):
        super().__init__()
        self.base = base.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if self.base != X_API and url.startswith(X_API):
            url = self.base + url[len(X_API):]
        kwargs.setdefault("timeout", TIMEOUT_SECONDS)
        return super().request(method, url, *args, **kwargs)


class XSocial:
    """Posts through X's API v2 (tweepy), as the platform's account (OAuth 1.0a user context)."""

    def __init__(self, app: Flask):
        import tweepy

        cfg = app.config
        self.client = tweepy.Client(
            consumer_key=cfg["X_API_KEY"], consumer_secret=cfg["X_API_SECRET"],
            access_token=cfg["X_ACCESS_TOKEN"], access_token_secret=cfg["X_ACCESS_TOKEN_SECRET"],
        )
        self.client.session = _XSession(cfg["X_API_URL"])

    def post(self, message: dict) -> None:
        import tweepy

        try:
            self.client.create_tweet(text=message["text"], user_auth=True)
        except (tweepy.TooManyRequests, tweepy.TwitterServerError) as exc:
            raise TemporaryFailure(f"X {exc.response.status_code}") from exc
        except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
            # Our keys, or a duplicate text: an operator looks; retrying the same text cannot help.
            raise PermanentFailure(f"X {exc.response.status_code}") from exc
        except tweepy.HTTPException as exc:
            raise PermanentFailure(f"X {exc.response.status_code}") from exc
        except requests.RequestException as exc:
            raise TemporaryFailure(f"X connection: {type(exc).__name__}") from exc


BACKENDS = {"console": ConsoleSocial, "x": XSocial}


def backend_for(app: Flask) -> SocialBackend | None:
    """The configured backend, or None when SOCIAL_BACKEND is 'none' (nothing posts)."""
    name = app.config["SOCIAL_BACKEND"]
    if name == "none":
        return None
    if name not in BACKENDS:
        raise RuntimeError(f"SOCIAL_BACKEND must be none, {', '.join(BACKENDS)}, not {name!r}")
    return BACKENDS[name](app)
