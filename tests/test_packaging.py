"""A wheel, installed without the source tree (as `pip install walletql` or a container image
does), carries what it needs at run time: the migrations are package data, not files beside the
repository."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import asyncpg

from tests.conftest import _on_database
from walletql import db

ROOT = Path(__file__).resolve().parents[1]


def _build_wheel(into: Path) -> Path:
    """From a copy of what a wheel is made of: setuptools builds in the source directory, and
    a build/ folder left there would carry stale files into the next wheel."""
    source = into / "source"
    shutil.copytree(
        ROOT / "walletql", source / "walletql", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(into), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = into.glob("walletql-*.whl")
    return wheel


def _installed_apart(wheel: Path, where: Path) -> Path:
    """A fresh virtualenv holding the wheel, whose dependencies come from this test run's own
    environment: a path line in a .pth file adds its site-packages *after* the new one, without
    processing its .pth files, so the editable install of the source tree stays out of it."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + [str(wheel)],
        check=True,
        capture_output=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "walletql-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where / "bin"


async def test_a_wheel_installed_apart_from_the_source_migrates_a_database(database_url, tmp_path):
    bin_dir = await asyncio.to_thread(
        lambda: _installed_apart(_build_wheel(tmp_path / "dist"), tmp_path / "venv")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.pop("PYTHONPATH", None)
    name = f"walletql_wheel_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _on_database(database_url, name)
    try:
        where = await asyncio.to_thread(
            subprocess.run,
            [str(bin_dir / "python"), "-c", "from walletql import db; print(db.__file__)"],
            cwd=tmp_path,  # not the repository: nothing of the source tree on the path
            env=env,
            capture_output=True,
            text=True,
        )
        assert where.returncode == 0, where.stderr
        # The installed copy, not the source tree (its migrations are what is tested below).
        assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv"), where.stdout

        migrated = await asyncio.to_thread(
            subprocess.run,
            [str(bin_dir / "walletql"), "migrate"],
            cwd=tmp_path,
            env={**env, "WALLETQL_DATABASE_URL": url},
            capture_output=True,
            text=True,
        )
        assert migrated.returncode == 0, migrated.stderr
        expected = db.migration_files()  # the source tree's, all of them
        assert migrated.stdout.splitlines() == [
            f"applied {len(expected)} migration(s): {', '.join(expected)}"
        ]
        assert await db.pending_migrations(url) == []
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
