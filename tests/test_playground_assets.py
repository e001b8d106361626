"""The playground's vendored assets: exactly what vendor/MANIFEST.json lists (same bytes), each
package with its licence, at the versions scripts/refresh-graphiql pins, and all of them in the
wheel (pyproject's package-data)."""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.machinery
import importlib.util
import json
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLAYGROUND = REPO / "walletql" / "playground"
VENDOR = PLAYGROUND / "static" / "vendor"


def manifest() -> dict:
    return json.loads((VENDOR / "MANIFEST.json").read_text())


def listed() -> dict[str, str]:
    return {
        name: entry["sha256"]
        for package in manifest()["packages"]
        for name, entry in package["files"].items()
    }


def test_the_vendored_files_are_the_manifest_s_bytes():
    for name, digest in listed().items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_nothing_is_vendored_without_being_listed():
    present = {str(path.relative_to(VENDOR)) for path in VENDOR.rglob("*") if path.is_file()} - {
        "MANIFEST.json"
    }
    assert present == set(listed())


def test_every_package_comes_with_its_licence():
    for package in manifest()["packages"]:
        licences = [name for name in package["files"] if name.startswith("licenses/")]
        assert licences, package["package"]
        assert package["license"], package["package"]


def test_the_manifest_has_the_versions_the_refresh_script_pins():
    loader = importlib.machinery.SourceFileLoader(
        "refresh", str(REPO / "scripts" / "refresh-graphiql")
    )
    spec = importlib.util.spec_from_loader("refresh", loader)
    assert spec is not None
    script = importlib.util.module_from_spec(spec)
    loader.exec_module(script)
    pinned = {name: version for name, version, _files, _licence in script.PACKAGES}
    assert {p["package"]: p["version"] for p in manifest()["packages"]} == pinned


def test_the_wheel_takes_every_playground_file():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["walletql"]
    package = REPO / "walletql"
    for path in PLAYGROUND.rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            relative = str(path.relative_to(package))
            # setuptools globs do not cross "/" with "*": compare segment counts too.
            assert any(
                fnmatch.fnmatch(relative, p) and relative.count("/") == p.count("/")
                for p in patterns
            ), relative
