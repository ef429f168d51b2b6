"""The door: who may talk to `coach serve`.

- With a token (the server listens beyond this machine, for a phone), every request must
  carry it: in the `token` query parameter (the URL the server prints), the `X-Coach-Token`
  header, or the cookie the page gets on its first load. Without it, 403.
- A request sent by another site's page is refused whatever it carries: a browser names
  that site in `Origin` and says `cross-site` or `same-site` in `Sec-Fetch-Site`.
- Without a token (loopback only), the Host must name this machine, so a site whose name was
  pointed at 127.0.0.1 (DNS rebinding) still cannot read the answers.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.datastructures import Headers, QueryParams
from starlette.requests import cookie_parser
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "coach_token"
HEADER = "x-coach-token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    return secrets.token_urlsafe(18)


class Guard:
    """ASGI middleware: refuses with 403 and one line, or passes the request on."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            why = self.refusal(scope)
            if why:
                await PlainTextResponse(why + "\n", 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> str:
        """Why the request is refused; "" when it may pass."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        origin = headers.get("origin")
        if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            return "forbidden: this request comes from another site"
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return "forbidden: this request comes from another site"
        if self.token is None:
            if _hostname(host) not in LOOPBACK_NAMES:
                return "forbidden: open the coach at the address it printed"
            return ""
        given = (
            QueryParams(scope.get("query_string", b"")).get("token")
            or headers.get(HEADER)
            or cookie_parser(headers.get("cookie", "")).get(COOKIE)
            or ""
        )
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            return "forbidden: open the address with the token that `coach serve` printed"
        return ""


def _hostname(host: str) -> str:
    """The name in a Host header, without its port."""
    if host.startswith("["):
        return host[: host.find("]") + 1].lower()
    return host.rsplit(":", 1)[0].lower()
