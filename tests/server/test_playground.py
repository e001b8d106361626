"""The playground (GraphiQL at /graphql) in a real headless Chromium, offline.

The browser resolves no host but 127.0.0.1 and records every request the page makes: the page
must render from the server's own files only, with no Content-Security-Policy violation, then
run a query over HTTP and a subscription over the websocket, both with the Authorization header
typed in GraphiQL's Headers tab.
"""

from __future__ import annotations

import json
import re

from tests.server.browser import Page

QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
RESULT = "document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
# The Headers tab's editor (GraphiQL keeps the Variables editor beside it, hidden).
HEADERS_EDITOR = (
    "[...document.querySelectorAll('.graphiql-editor-tool .graphiql-editor')]"
    ".find((e) => !e.classList.contains('hidden')).querySelector('.CodeMirror').CodeMirror"
)


def off_server(page: Page, origin: str) -> list[str]:
    """What the page asked for anywhere but the server under test (data: URLs are inline)."""
    http, ws = origin, origin.replace("http", "ws", 1)
    return [url for url in page.requests if not url.startswith((http + "/", ws + "/", "data:"))]


async def open_playground(page: Page, origin: str, token: str) -> None:
    await page.goto(f"{origin}/graphql")
    await page.wait_for("!!document.querySelector('.graphiql-query-editor .CodeMirror')")
    headers = json.dumps({"Authorization": f"Bearer {token}"}, indent=2)
    await page.evaluate(f"{HEADERS_EDITOR}.setValue({json.dumps(headers)})")


async def run(page: Page, document: str, operation: str) -> None:
    await page.evaluate(f"{QUERY_EDITOR}.setValue({json.dumps(document)})")
    # GraphiQL parses the edit asynchronously; once its tab is named after the operation, a
    # run sends this document (before, it may send the previous operation's name).
    await page.wait_for(
        f"document.querySelector('.graphiql-tab-button').textContent === {json.dumps(operation)}"
    )
    await page.evaluate("document.querySelector('.graphiql-execute-button').click()")


async def result(page: Page, expected: str) -> dict:
    """The result pane once it shows `expected` (bounded), parsed."""
    text = await page.wait_for(
        f"(() => {{ const v = {RESULT}; return v.includes({json.dumps(expected)}) && v; }})()"
    )
    return json.loads(text)


async def test_the_playground_renders_offline_and_runs_a_query_and_a_subscription(
    server, api, page
):
    user = await api.signup()
    wallet = await api.create_wallet(user["token"])
    await open_playground(page, server.url, user["token"])

    await run(page, "query Me { me { id wallets { id balance } } }", "Me")
    answer = await result(page, user["id"])
    assert answer == {
        "data": {"me": {"id": user["id"], "wallets": [{"id": wallet["id"], "balance": "0.00"}]}}
    }

    await run(page, "subscription Live { balanceUpdates { walletId balance version } }", "Live")
    await api.wait_subscribers(1)  # the page's websocket is signed in and subscribed
    await api.deposit(user["token"], wallet["id"], "12.50")
    update = await result(page, "12.50")
    assert update == {
        "data": {"balanceUpdates": {"walletId": wallet["id"], "balance": "12.50", "version": 1}}
    }

    assert f"{server.ws_url}" in page.requests  # the subscription went over the websocket
    assert off_server(page, server.url) == []
    assert await page.csp_violations() == []
    assert page.problems == []


async def test_the_pages_carry_a_content_security_policy_without_other_origins(server, api):
    response = await api.http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    # Every script and stylesheet the page names is a path on this server.
    assert re.findall(r'(?:src|href)="([^"]+)"', response.text) == [
        "data:,",
        "playground/vendor/graphiql.min.css",
        "playground/graphiql.css",
        "playground/vendor/react.production.min.js",
        "playground/vendor/react-dom.production.min.js",
        "playground/vendor/graphiql.min.js",
        "playground/vendor/graphql-ws.min.js",
        "playground/graphiql.js",
    ]
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "http" not in policy  # no other origin, by scheme or by host
    assets = await api.http.get("/playground/vendor/graphiql.min.js")
    assert assets.status_code == 200
    assert assets.headers["content-type"].startswith("text/javascript")
