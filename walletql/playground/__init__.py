"""The browser pages: GraphiQL (the playground, at /graphql for a browser's GET) and the example
wallet page (examples/web/, at /wallet/ when the source tree is at hand).

Every script and style they load is served from here (vendor/, refreshed from npm by
scripts/refresh-graphiql, listed with versions and hashes in vendor/MANIFEST.json), so the pages
work without internet, and their Content-Security-Policy allows no other origin.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).resolve().parent
WALLET_PAGE = HERE.parents[1] / "examples" / "web"  # in a source checkout; not in a wheel

# 'self' only: scripts and styles from this server, fetch and websockets (graphql-ws) to it.
# Inline styles stay allowed: GraphiQL's editors (CodeMirror) and popovers position themselves
# with style attributes. No inline script: the pages' own scripts are files too.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def graphiql_page() -> Response:
    """What a browser gets for GET /graphql: GraphiQL, on the vendored assets."""
    return FileResponse(HERE / "graphiql.html", headers=HEADERS, media_type="text/html")


class WithHeaders:
    """An ASGI app's HTTP responses, with the pages' security headers added."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def routes() -> list[BaseRoute]:
    """/playground/ (the page's script and the vendored assets) and, in a source checkout,
    /wallet/ (examples/web)."""
    mounted: list[BaseRoute] = [
        Mount("/playground", WithHeaders(StaticFiles(directory=HERE / "static")), name="playground")
    ]
    if WALLET_PAGE.is_dir():
        pages = StaticFiles(directory=WALLET_PAGE, html=True)
        mounted.append(Mount("/wallet", WithHeaders(pages), name="wallet"))
    return mounted
