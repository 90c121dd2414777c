"""The build hook; everything else about the package is in pyproject.toml.

Every way of installing Sawt runs build_py: a wheel, `pip install .` (the Procfile
deploy) and `pip install -e .` (bin/serve, bin/test). It

1. compiles translations/*/LC_MESSAGES/*.po into .mo files next to them, so a
   checkout run in place (editable install, `flask --app app` behind the Procfile)
   serves the Arabic interface, and writes the content-hashed, gzipped copies of
   static/ (campaign/static_files.py); both are build output, ignored by git;
2. for a wheel, copies templates/, static/, translations/ (the .mo files only) and
   migrations/ into the package, where campaign/config.py's ROOT finds them when
   Sawt runs from site-packages, away from any checkout.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKAGE = "campaign"
SITE_DIRECTORIES = ("templates", "static", "translations", "migrations")


def _wanted(directory: str, path: Path) -> bool:
    if "__pycache__" in path.parts or path.suffix == ".pyc":
        return False
    # Only compiled catalogues run; a .po beside them would also look newer than its
    # .mo after pip unpacks both, and the app would report a stale catalogue.
    return path.suffix == ".mo" if directory == "translations" else True


def digest_static() -> None:
    # Hashed copies and gzip of static/ (campaign/static_files.py serves them).
    from flask_static_digest.digester import clean, compile

    path = str(HERE / "static") + "/"
    clean(path, [], True, False)
    compile(path, path, [], True, False)


def compile_catalogues() -> None:
    status = CommandLineInterface().run(["pybabel", "-q", "compile", "-d", str(HERE / "translations")])
    if status:
        raise SystemExit("pybabel compile found errors in translations/ (see above)")


class BuildWithSite(build_py):
    def run(self) -> None:
        compile_catalogues()
        digest_static()
        super().run()
        # An editable install runs from the checkout: nothing to copy.
        if not self.editable_mode:
            self._site_files = self._copy_site()

    def _copy_site(self) -> list[str]:
        copied = []
        for directory in SITE_DIRECTORIES:
            source = HERE / directory
            if not source.is_dir():
                raise SystemExit(f"{directory}/ is missing: build from a checkout or an sdist (MANIFEST.in)")
            target = Path(self.build_lib) / PACKAGE / directory
            # build/ outlives a build: a template deleted since the last one must not ship.
            shutil.rmtree(target, ignore_errors=True)
            for path in sorted(source.rglob("*")):
                if path.is_file() and _wanted(directory, path.relative_to(source)):
                    destination = target / path.relative_to(source)
                    self.mkpath(str(destination.parent))
                    self.copy_file(str(path), str(destination))
                    copied.append(str(destination))
        return copied

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return super().get_outputs(include_bytecode) + getattr(self, "_site_files", [])


setup(cmdclass={"build_py": BuildWithSite})
