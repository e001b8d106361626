"""Where the JavaScript examples live, and the Node they need.

Their packages are installed once, outside the tests (`npm ci --prefix examples/js`, which
.ci/run does). Without them a test skips, saying so, unless WALLETQL_REQUIRE_NODE=1 (set by
CI), where a missing Node or node_modules is a failure rather than a silent skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

EXAMPLES_JS = Path(__file__).resolve().parents[1] / "examples" / "js"
INSTALL = "npm ci --prefix examples/js"


def node_with_examples() -> str:
    """The `node` executable, once examples/js/node_modules is installed; else skip or fail."""
    node = shutil.which("node")
    if node is None:
        reason = "node (20 or later) is not on PATH"
    elif not (EXAMPLES_JS / "node_modules").is_dir():
        reason = f"examples/js/node_modules is missing: run `{INSTALL}`"
    else:
        return node
    if os.environ.get("WALLETQL_REQUIRE_NODE") == "1":
        pytest.fail(f"{reason} (WALLETQL_REQUIRE_NODE=1)")
    pytest.skip(f"{reason} (WALLETQL_REQUIRE_NODE=1 turns this skip into a failure)")
