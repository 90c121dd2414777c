"""Periodic jobs, registered by the features that own them and run by `flask worker`.

A feature calls ``register_job(app, …)`` from its ``init_app``; the worker (in
campaign/outbox/cli.py) runs each job when it is due and knows none of them by name.
Every job is idempotent, takes the database session and commits nothing itself
unless it says so: the worker commits after each job.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Flask
from sqlalchemy.orm import Session

_KEY = "sawt.jobs"


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Session], object]
    # Seconds between runs; 0 runs it on every pass of the worker's loop.
    every: float


def register_job(app: Flask, name: str, run: Callable[[Session], object], *, every: float) -> None:
    jobs = app.extensions.setdefault(_KEY, {})
    if name in jobs:
        raise ValueError(f"job {name!r} is registered twice")
    jobs[name] = Job(name, run, every)


def jobs_of(app: Flask) -> list[Job]:
    """The app's jobs in the order they were registered."""
    return list(app.extensions.get(_KEY, {}).values())


def run_due_jobs(app: Flask, session: Session, last_run: dict[str, float], *, now: float,
                 everything: bool = False) -> dict[str, object]:
    """Run every job whose interval has passed since ``last_run`` (all of them with
    ``everything``), committing after each; ``last_run`` is updated in place.
    Returns what each job that ran returned, by name."""
    results: dict[str, object] = {}
    for job in jobs_of(app):
        if not everything and now - last_run.get(job.name, float("-inf")) < job.every:
            continue
        results[job.name] = job.run(session)
        session.commit()
        last_run[job.name] = now
    return results
