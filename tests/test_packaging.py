"""Arabic in every install: the build compiles the catalogues and a wheel carries the
templates, static files, catalogues and migrations; the app says so at start-up when
a catalogue is missing or stale."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from campaign.config import ROOT

ARABIC_CAMPAIGNS = "الحملات"  # msgid "Campaigns"
ARABIC_ADD_YOUR_VOICE = "أضِف صوتك"  # msgid "Add your voice"
ARABIC_OUR_DEMANDS = "مطالبنا"  # msgid "Our demands"

# Runs inside the installed package, outside the checkout; prints what it found.
_VISIT = """
import json, campaign, campaign.config
app = campaign.create_app({"TESTING": True})
client = app.test_client()
home = client.get("/ar/")
appeal = client.get("/ar/c/no-forced-returns")
css = client.get("/static/css/sawt.css")
print(json.dumps({
    "campaign": campaign.__file__,
    "root": str(campaign.config.ROOT),
    "instance": app.instance_path,
    "home": [home.status_code, home.get_data(as_text=True)],
    "appeal": [appeal.status_code, appeal.get_data(as_text=True)],
    "css": css.status_code,
}))
"""


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    # Without PYTHONPATH: the checkout on it would be where `campaign` comes from, and
    # pip would take a sawt.egg-info there for the installed package.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "FLASK_APP", "SECRET_KEY", "DATA_KEY"}}
    env.update(kwargs.pop("env", {}))
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def _is_within(path: str | Path, directory: Path) -> bool:
    return Path(path).resolve().is_relative_to(directory.resolve())


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_serves_the_arabic_interface(tmp_path):
    # Build from a copy without compiled catalogues (the test session compiled the
    # checkout's): the .mo in the wheel must come from the build itself, and the
    # build's own files (build/, *.egg-info) stay out of the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "instance", "build", "dist", "*.egg-info", "*.mo", "__pycache__",
        "node_modules", "test-artifacts", "tests", "bench",
    ))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--disable-pip-version-check", "--wheel-dir", str(tmp_path / "dist"), str(source)])
    [wheel] = (tmp_path / "dist").glob("sawt-*.whl")

    # A fresh venv that borrows this interpreter's packages (Flask and the rest)
    # through a .pth, which comes after its own site-packages on sys.path.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = str(env_dir / "bin" / "python")
    site_packages = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    borrowed = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages / "borrowed-dependencies.pth").write_text("\n".join(borrowed) + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
          "--disable-pip-version-check", str(wheel)])

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {"DATABASE_URL": f"sqlite:///{run_dir / 'sawt.sqlite3'}"}
    flask = [python, "-m", "flask", "--app", "campaign:create_app"]
    upgrade = _run([*flask, "db", "upgrade"], cwd=run_dir, env=env)
    _run([*flask, "demo"], cwd=run_dir, env=env)
    visit = _run([python, "-c", _VISIT], cwd=run_dir, env=env)
    found = json.loads(visit.stdout.strip().splitlines()[-1])

    assert _is_within(found["campaign"], site_packages), found["campaign"]
    assert not _is_within(found["campaign"], ROOT), found["campaign"]
    assert Path(found["root"]) == Path(found["campaign"]).parent
    # The keys generated at first start live in Flask's instance folder for an
    # installed package, not in site-packages.
    assert _is_within(found["instance"], env_dir / "var"), found["instance"]
    for output in (upgrade.stderr, visit.stderr):
        assert "catalogue" not in output, output

    status, home = found["home"]
    assert status == 200
    assert ARABIC_CAMPAIGNS in home and ARABIC_ADD_YOUR_VOICE in home
    assert 'dir="rtl"' in home
    status, appeal = found["appeal"]
    assert status == 200
    assert "أوقفوا ترحيل المعتقلين السياسيين" in appeal  # the demo campaign's own text
    assert ARABIC_OUR_DEMANDS in appeal and "Our demands" not in appeal
    assert found["css"] == 200


def _copy_of_translations(tmp_path: Path) -> Path:
    directory = tmp_path / "translations"
    shutil.copytree(ROOT / "translations", directory, ignore=shutil.ignore_patterns("messages.pot", ".lock"))
    return directory


def _catalogue_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "campaign.i18n" and r.levelno == logging.ERROR]


def test_start_up_is_quiet_when_the_catalogues_are_compiled(make_app, caplog):
    make_app()
    assert _catalogue_errors(caplog) == []


def test_start_up_logs_an_error_when_a_catalogue_is_missing(make_app, tmp_path, caplog):
    translations = _copy_of_translations(tmp_path)
    (translations / "ar" / "LC_MESSAGES" / "messages.mo").unlink()
    make_app(BABEL_TRANSLATION_DIRECTORIES=str(translations))
    [error] = _catalogue_errors(caplog)
    assert "No compiled catalogue for 'ar'" in error and str(translations) in error


def test_start_up_logs_an_error_when_a_catalogue_is_older_than_its_po(make_app, tmp_path, caplog):
    translations = _copy_of_translations(tmp_path)
    catalogue = translations / "ar" / "LC_MESSAGES"
    compiled = (catalogue / "messages.mo").stat().st_mtime
    os.utime(catalogue / "messages.po", (compiled + 60, compiled + 60))
    make_app(BABEL_TRANSLATION_DIRECTORIES=str(translations))
    [error] = _catalogue_errors(caplog)
    assert "messages.mo is older than messages.po" in error
