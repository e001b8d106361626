"""examples/first_session.py, the README's "A first session", run end to end against a real
server as a newcomer runs it: a customer, a merchant and an operator (made with the CLI, found
as the script finds it), every id and token taken from answers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from walletql.ledger.verify import verify

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "first_session.py"


async def test_the_first_session_runs_end_to_end(server, database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.update(WALLETQL_DATABASE_URL=database_url, WALLETQL_DATA_DIR=str(tmp_path))
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(SCRIPT), "--url", f"{server.url}/graphql"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,  # not the repository: the script finds the CLI on its own
    )
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(run.stdout.splitlines()[-1])
    # 50.00 deposited - 4.50 charged - 12.00 captured + 2.00 refunded
    assert summary["customerBalance"] == "35.50"
    assert summary["merchantBalance"] == "14.50"
    assert summary["customerPoints"] == "1"  # DAILY_REWARD, +1 CREDIT by default
    assert summary["historyEntries"] == 6  # deposit, charge, hold, capture, release, refund
    assert summary["frozen"] == "FROZEN"
    assert "created OPERATOR" in run.stdout
    assert "WALLET_INACTIVE" in run.stdout
    assert "a long secret" not in run.stdout + run.stderr  # the password never printed
    assert await verify() == []
