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
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", *args], cwd=ROOT, check=True)


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


@translate_cli.command("fill")
@click.argument("json_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--lang", default="ar", show_default=True)
def fill_command(json_file: str, lang: str) -> None:
    """Extract, merge, then set translations from JSON {msgid: msgstr} (a list of
    forms for plural entries, keyed by the singular msgid). Holds a file lock so
    several people can fill the same catalogue at once."""
    import fcntl
    import json

    from babel.messages.pofile import read_po, write_po

    po_path = ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po"
    wanted = json.loads(open(json_file, encoding="utf-8").read())
    with open(ROOT / "translations" / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        update_command.callback()
        with open(po_path, "rb") as fh:
            catalog = read_po(fh, locale=lang)
        unknown = []
        for msgid, msgstr in wanted.items():
            message = catalog.get(msgid)
            if message is None:
                unknown.append(msgid)
                continue
            message.string = tuple(msgstr) if isinstance(message.id, (list, tuple)) else msgstr
            message.flags.discard("fuzzy")
        with open(po_path, "wb") as fh:
            write_po(fh, catalog, width=0, omit_header=False)
    for msgid in unknown:
        click.echo(f"not in the catalogue (check the msgid): {msgid}", err=True)
    click.echo(f"{len(wanted) - len(unknown)} translation(s) set in {po_path.relative_to(ROOT)}")
