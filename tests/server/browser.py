"""A headless Chromium driven over the DevTools protocol (CDP), with the `websockets` client the
suite already has: no selenium, no driver binary.

`Browser.launch()` starts Debian's `chromium` with name resolution switched off for every host
but 127.0.0.1 (so a page that reaches for a CDN fails, as it would offline) and connects to its
DevTools websocket. `browser.page()` opens a tab that records what the page attempts: every
request and websocket it opens (`requests`), Content-Security-Policy violations, uncaught
exceptions and console errors (`problems`). Every wait is bounded by WAIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

WAIT = 10.0  # seconds; only turns a hang into a failure

# Collected in the page itself, before any of its scripts run: CSP refusals are not network
# events (the request is never made), but the page sees them as securitypolicyviolation.
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class PageError(AssertionError):
    pass


class Page:
    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser = browser
        self.target = target
        self.session = session
        self.requests: list[str] = []  # every URL the page asked for (HTTP and websockets)
        self.problems: list[str] = []  # uncaught exceptions and console errors
        self._loaded = asyncio.Event()

    async def send(self, method: str, **params: Any) -> dict:
        return await self.browser.send(method, params, session=self.session)

    def on_event(self, method: str, params: dict) -> None:
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Network.webSocketCreated":
            self.requests.append(params["url"])
        elif method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            exception = details.get("exception", {}).get("description") or details.get("text")
            self.problems.append(f"exception: {exception}")
        elif method == "Runtime.consoleAPICalled" and params["type"] == "error":
            args = [a.get("value", a.get("description", "")) for a in params["args"]]
            self.problems.append(f"console.error: {' '.join(map(str, args))}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.problems.append(f"log: {params['entry']['text']}")

    async def goto(self, url: str) -> None:
        self._loaded.clear()
        answer = await self.send("Page.navigate", url=url)
        if answer.get("errorText"):
            raise PageError(f"{url}: {answer['errorText']}")
        await asyncio.wait_for(self._loaded.wait(), WAIT)

    async def evaluate(self, expression: str) -> Any:
        """The expression's value (awaited if it is a promise), as JSON."""
        answer = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise PageError(details.get("exception", {}).get("description") or details["text"])
        return answer["result"].get("value")

    async def wait_for(self, expression: str, wait: float = WAIT) -> Any:
        """Poll until the expression is truthy; its value. Fails after `wait` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if loop.time() > deadline:
                raise PageError(f"still falsy after {wait}s: {expression}\n{self.problems}")
            await asyncio.sleep(0.05)

    async def csp_violations(self) -> list[str]:
        return await self.evaluate("window.__csp")

    async def close(self) -> None:
        await self.browser.close_page(self)


class Browser:
    def __init__(self, process: subprocess.Popen, ws: ClientConnection, profile: str) -> None:
        self.process = process
        self.ws = ws
        self.profile = profile
        self.pages: dict[str, Page] = {}
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def launch(cls, executable: str) -> Browser:
        profile = tempfile.mkdtemp(prefix="walletql-chromium-")
        process = _spawn(executable, profile)
        try:
            url = await asyncio.wait_for(asyncio.to_thread(_devtools_url, process), WAIT)
            ws = await connect(url, max_size=None, open_timeout=WAIT)
        except BaseException:
            _kill(process)
            shutil.rmtree(profile, ignore_errors=True)
            raise
        return cls(process, ws, profile)

    async def send(self, method: str, params: dict | None = None, session: str | None = None):
        message_id = next(self._ids)
        message: dict = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = future
        await self.ws.send(json.dumps(message))
        return await asyncio.wait_for(future, WAIT)

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                message = json.loads(raw)
                if "id" in message:
                    future = self._waiting.pop(message["id"], None)
                    if future is None or future.done():
                        continue
                    if "error" in message:
                        future.set_exception(PageError(f"CDP: {message['error']}"))
                    else:
                        future.set_result(message.get("result", {}))
                elif (page := self.pages.get(message.get("sessionId", ""))) is not None:
                    page.on_event(message["method"], message.get("params", {}))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(PageError("the browser went away"))

    async def page(self) -> Page:
        """A new tab on about:blank, recording from its first request."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self, target["targetId"], attached["sessionId"])
        self.pages[page.session] = page
        for domain in ("Page", "Network", "Runtime", "Log"):
            await page.send(f"{domain}.enable")
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=RECORD_CSP)
        return page

    async def close_page(self, page: Page) -> None:
        self.pages.pop(page.session, None)
        with contextlib.suppress(PageError, asyncio.TimeoutError):
            await self.send("Target.closeTarget", {"targetId": page.target})

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.send("Browser.close")
        await self.ws.close()
        self._reader.cancel()
        try:
            await asyncio.to_thread(self.process.wait, WAIT)
        except subprocess.TimeoutExpired:
            _kill(self.process)
        shutil.rmtree(self.profile, ignore_errors=True)


def _spawn(executable: str, profile: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            executable,
            "--headless=new",
            "--no-sandbox",  # the suite runs as root here
            "--disable-gpu",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            # Offline but for the servers under test: any other host does not resolve.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-extensions",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _devtools_url(process: subprocess.Popen) -> str:
    """The DevTools websocket URL Chromium prints on stderr once it listens."""
    assert process.stderr is not None
    seen = []
    for raw in process.stderr:
        line = raw.decode(errors="replace")
        seen.append(line)
        if match := re.search(r"DevTools listening on (ws://\S+)", line):
            # Keep draining stderr so Chromium never blocks on a full pipe.
            threading.Thread(target=_drain, args=(process,), daemon=True).start()
            return match.group(1)
    raise RuntimeError(f"chromium exited with {process.wait()}: {''.join(seen)[-2000:]}")


def _drain(process: subprocess.Popen) -> None:
    assert process.stderr is not None
    for _ in process.stderr:
        pass


def _kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
