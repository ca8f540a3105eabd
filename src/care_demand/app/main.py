"""``care-demand-app``: start the browser app on this computer.

It listens on 127.0.0.1 (this computer only) unless told otherwise. Listening on any other
address makes the app reachable from other machines, so it then needs an access token in
``CARE_DEMAND_APP_TOKEN``: the page asks for it (or takes ``?token=``) and keeps it in a
cookie for the session. Without the token the app refuses to start and says why.
"""

from __future__ import annotations

import argparse
import hmac
import html
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

from care_demand.app.settings import LOCAL_HOSTS, TOKEN_ENV, AppSettings

__all__ = ["TokenGate", "main", "refusal"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "care_demand_app_token"

_ASK = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Care demand: access token</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 4rem auto">
<h1>Care demand</h1><p>{message}</p>
<form method="get"><label>Access token <input type="password" name="token" autofocus></label>
<button type="submit">Open</button></form></body></html>"""


class TokenGate:
    """ASGI middleware: every request and websocket needs the access token.

    The token comes as ``?token=`` (then kept in an HTTP-only cookie and dropped from the
    address) or from that cookie; without it a page asking for it is shown.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    def _valid(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on when it carries the token; otherwise ask for it."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cookies = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookies.load(value.decode("latin-1"))
        cookie = cookies[COOKIE].value if COOKIE in cookies else None
        if self._valid(cookie):
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.pop("token", [None])[0]
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if self._valid(given):
            rest = urlencode(query, doseq=True)
            location = scope.get("path", "/") + (f"?{rest}" if rest else "")
            headers = [
                (b"location", location.encode("latin-1")),
                (
                    b"set-cookie",
                    f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode(),
                ),
            ]
            await send({"type": "http.response.start", "status": 303, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        message = "This app needs its access token." if given is None else "Wrong access token."
        body = _ASK.format(message=html.escape(message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def refusal(host: str, token: str | None) -> str | None:
    """Why the app must not start on ``host`` (one line), or ``None`` when it may."""
    if host in LOCAL_HOSTS or token:
        return None
    return (
        f"care-demand-app: not starting on {host}: other machines could reach it there, so "
        f"set an access token in {TOKEN_ENV} first (or leave --host at 127.0.0.1)."
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="care-demand-app",
        description="The care-demand browser app: check data, run scenarios, read results.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--outputs", help="folder of run folders (default outputs)")
    parser.add_argument("--cache-dir", help="calibration cache (default: the configured one)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for every run, as on the care-demand command line (repeatable)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Start the app; returns the exit status (2 when it refuses to start)."""
    args = _parser().parse_args(argv)
    token = os.environ.get(TOKEN_ENV) or None
    reason = refusal(args.host, token)
    if reason is not None:
        print(reason, file=sys.stderr)
        return 2
    import uvicorn

    from care_demand.app.ui import create_app

    settings = AppSettings.from_environment(args.outputs, args.cache_dir, tuple(args.set))
    app: Any = create_app(settings)
    if args.host not in LOCAL_HOSTS:
        app = TokenGate(app, str(token))
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"care-demand-app: open http://{shown}:{args.port} in a browser (Ctrl+C stops it)")
    sys.stdout.flush()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def entry() -> None:
    """Console-script wrapper for :func:`main` that sets the exit status."""
    sys.exit(main())
