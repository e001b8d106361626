"""What a migration takes from the ones before it: their modules (a later migration reuses the
SQL an earlier one wrote, to restore it on downgrade or to change one line of it), and an exact
one-place replacement in that SQL. Migrations have no package (aerich loads each file by its
path), so an earlier one is loaded by its file name."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from walletql.db import MIGRATIONS


def earlier(pattern: str) -> ModuleType:
    """The migration whose file name matches `pattern` (`"12_*_sign_ins_under_way.py"`)."""
    (path,) = (MIGRATIONS / "models").glob(pattern)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def replaced(text: str, old: str, new: str) -> str:
    """`text` with its one occurrence of `old` replaced: an edit that finds nothing, or more
    than one place, is a mistake in the migration, not something to let pass."""
    assert text.count(old) == 1, old
    return text.replace(old, new)
