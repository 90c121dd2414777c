"""`flask translate …`: keep the catalogues in step with the code (as in microblog)."""
from __future__ import annotations

import subprocess
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from campaign.config import ROOT
from campaign.i18n import LANGUAGES

translate_cli = AppGroup("translate", help="Extract, update and compile translations.")
POT = ROOT / "translations" / "messages.pot"


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], cwd=ROOT, check=True)


def extract(output=POT) -> None:
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "--sort-output",
             "-o", str(output), ".")


@translate_cli.command("update")
def update_command() -> None:
    """Extract strings and merge them into every catalogue (new ones untranslated)."""
    extract()
    for lang in LANGUAGES:
        if lang == "en":
            continue
        po = ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po"
        if po.exists():
            _pybabel("update", "-i", str(POT), "-d", "translations", "-l", lang, "--no-wrap",
                     "--ignore-obsolete", "--no-fuzzy-matching")
        else:
            _pybabel("init", "-i", str(POT), "-d", "translations", "-l", lang, "--no-wrap")


@translate_cli.command("compile")
def compile_command() -> None:
    """Compile the catalogues to .mo files (done by bin/serve and bin/test too)."""
    _pybabel("compile", "-d", "translations", "--statistics")


def init_app(app: Flask) -> None:
    app.cli.add_command(translate_cli)
