"""Organiser sessions: start, look up, expire; decorators for views.

The session stores only ids and times. It ends after ORGANISER_IDLE_MINUTES without
a request, after ORGANISER_SESSION_HOURS in any case, and at once when the
organiser's session_generation moves (password change, logout everywhere).
"""
from __future__ import annotations

import functools
import time

from flask import abort, current_app, g, redirect, request, session, url_for

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.organiser.access import Permission, require_campaign
from campaign.organiser.models import Organiser


def start_session(organiser: Organiser, *, two_factor: bool) -> None:
    """Log ``organiser`` in (after password, and TOTP when they have it)."""
    now = int(time.time())
    session.clear()
    session.permanent = True
    session["organiser_id"] = organiser.id
    session["generation"] = organiser.session_generation
    session["auth_at"] = now
    session["seen_at"] = now
    if two_factor:
        session["two_factor_at"] = now
    g.pop("organiser", None)


def end_session() -> None:
    session.clear()
    g.pop("organiser", None)


def mark_two_factor_fresh() -> None:
    session["two_factor_at"] = int(time.time())


def two_factor_is_fresh() -> bool:
    at = session.get("two_factor_at")
    window = current_app.config["ORGANISER_FRESH_2FA_MINUTES"] * 60
    return at is not None and time.time() - at <= window


def current_organiser() -> Organiser | None:
    if "organiser" in g:
        return g.organiser
    g.organiser = _load()
    return g.organiser


def _load() -> Organiser | None:
    organiser_id = session.get("organiser_id")
    if organiser_id is None:
        return None
    now = time.time()
    config = current_app.config
    if (
        now - session.get("seen_at", 0) > config["ORGANISER_IDLE_MINUTES"] * 60
        or now - session.get("auth_at", 0) > config["ORGANISER_SESSION_HOURS"] * 3600
    ):
        session.clear()
        return None
    organiser = db.session.get(Organiser, organiser_id)
    if organiser is None or not organiser.active or session.get("generation") != organiser.session_generation:
        session.clear()
        return None
    session["seen_at"] = int(now)
    return organiser


# Pages an organiser who must set up two-factor may still open.
TWO_FACTOR_SETUP_ENDPOINTS = {"manage_organiser.two_factor", "manage_organiser.logout"}


def _two_factor_setup_due(organiser: Organiser) -> bool:
    from campaign.organiser.access import needs_two_factor

    return (
        needs_two_factor(organiser)
        and not organiser.has_two_factor
        and request.endpoint not in TWO_FACTOR_SETUP_ENDPOINTS
    )


def login_required(view):
    """Logged in, and (for owners and admins) with two-factor set up: until it is,
    every workspace page leads to the two-factor setup."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        organiser = current_organiser()
        if organiser is None:
            return redirect(url_for("manage_organiser.login", next=request.full_path.rstrip("?")))
        if _two_factor_setup_due(organiser):
            return redirect(url_for("manage_organiser.two_factor", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def fresh_two_factor_required(view):
    """For exports of personal data: a TOTP code entered in the last few minutes."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        organiser = current_organiser()
        if organiser is None:
            return redirect(url_for("manage_organiser.login", next=request.full_path.rstrip("?")))
        if _two_factor_setup_due(organiser):
            return redirect(url_for("manage_organiser.two_factor", next=request.full_path.rstrip("?")))
        if not two_factor_is_fresh():
            return redirect(url_for("manage_organiser.reauth", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths, so a login link cannot send someone elsewhere. No
    control characters either: the Location header (urllib's urlsplit), like
    browsers, drops tabs and line breaks, so "/<tab>/evil.example" would become
    "//evil.example"."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ch < " " or ch == "\x7f" for ch in target)
    ):
        return target
    return default


def campaign_for(campaign_id: int, permission: Permission) -> Campaign:
    """The campaign a workspace URL names, if the logged-in organiser may do
    ``permission`` on it: 404 when there is none, 403 when they may not."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    require_campaign(current_organiser(), permission, campaign)
    return campaign
