"""balanceUpdates through the `graphql-ws` npm client (what frontend apps use), on Node.

Skipped, with the reason, when node/npm are missing or the pinned packages (package.json and
package-lock.json beside the script) cannot be installed, e.g. without network access.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server.clients import WAIT

JS = Path(__file__).resolve().parent / "js"
INSTALL_TIMEOUT = 300


def _install() -> None:
    if (JS / "node_modules" / "graphql-ws").is_dir():
        return
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.skip("node and npm are needed for the graphql-ws (JavaScript) client test")
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"npm ci could not run in {JS}: {exc}")
    if done.returncode != 0:
        pytest.skip(f"npm ci failed in {JS} (offline?): {(done.stdout + done.stderr)[-800:]}")


@pytest.fixture(scope="module")
def node_client():
    if shutil.which("node") is None:
        pytest.skip("node is needed for the graphql-ws (JavaScript) client test")
    _install()
    return shutil.which("node")


async def _run(node: str, url: str, token: str, wallet_id: str, count: int):
    env = {**os.environ, "WALLETQL_TOKEN": token}
    return await asyncio.create_subprocess_exec(
        node, str(JS / "subscribe.mjs"), url, wallet_id, str(count),
        cwd=JS, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _line(process) -> dict:
    raw = await asyncio.wait_for(process.stdout.readline(), 3 * WAIT)
    assert raw, f"the node client ended early: {(await process.stderr.read()).decode()[-2000:]}"
    return json.loads(raw)


async def _finish(process) -> int:
    try:
        return await asyncio.wait_for(process.wait(), 3 * WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_graphql_ws_client_receives_balance_updates(node_client, server, api):
    user = await api.signup()
    wallet = await api.create_wallet(user["token"], "USD")
    process = await _run(node_client, server.ws_url, user["token"], wallet["id"], 3)
    try:
        assert await _line(process) == {"connected": True}
        await api.wait_subscribers(1)
        deposits = [
            await api.deposit(user["token"], wallet["id"], a) for a in ("1.1", "2.2", "0.05")
        ]
        updates = [(await _line(process))["update"] for _ in deposits]
    finally:
        code = await _finish(process)
    assert code == 0
    balances = ("1.10", "3.30", "3.35")
    assert updates == [
        {
            "walletId": wallet["id"],
            "balance": balances[n],
            "version": n + 1,
            "transaction": {"id": deposit["transaction"]["id"], "kind": "DEPOSIT"},
        }
        for n, deposit in enumerate(deposits)
    ]
    await api.wait_subscribers(0)


async def test_graphql_ws_client_with_a_bad_token_is_refused(node_client, server, api):
    process = await _run(node_client, server.ws_url, "not-a-token", "1", 1)
    try:
        answer = await _line(process)
    finally:
        code = await _finish(process)
    assert code == 1
    assert answer["error"]["code"] == 4403, answer
