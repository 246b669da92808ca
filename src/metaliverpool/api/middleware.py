"""ASGI middleware of the server: a request body limit, methods (405/OPTIONS with ``Allow``) and security
headers on every HTTP response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # MapLibre GL and Swagger UI set inline styles
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self'",  # MapLibre GL's worker is a file of the built client
        "child-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""Only the app's own origin: no inline script, no other site, no framing."""

SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    data = json.dumps(body).encode()
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start_headers + headers})
    await send({"type": "http.response.body", "body": data})


class BodyTooLarge(HTTPException):
    """The request body went past the limit while it was read (HTTP 413)."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(413, f"request body larger than {limit_bytes} bytes")


class BodyLimit:
    """Refuse request bodies over ``limit_bytes`` with 413: by ``Content-Length`` before anything is read,
    and by counting bytes as they arrive (chunked bodies), before the body is parsed."""

    def __init__(self, app: ASGIApp, limit_bytes: int) -> None:
        self.app = app
        self.limit_bytes = limit_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit_bytes):
                detail = f"request body larger than {self.limit_bytes} bytes"
                await _send_json(send, 413, {"detail": detail}, [(b"connection", b"close")])
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit_bytes:
                    raise BodyTooLarge(self.limit_bytes)
            return message

        await self.app(scope, counted, send)


def endpoints(routes: list[BaseRoute]) -> Iterator[Route]:
    """Every HTTP endpoint route, also inside included routers (FastAPI keeps an included router as one
    route holding ``original_router``; this app includes its routers without a prefix)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from endpoints(inner.routes)
        elif isinstance(route, Route):
            yield route


class Methods:
    """A path the API serves, asked with a method it does not serve: 405 with ``Allow`` listing every
    method of the path (over all its routes), and ``OPTIONS`` answered 204 with the same ``Allow``."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        matches = [(route.matches(scope)[0], route) for route in endpoints(self.router.routes)]
        if any(match == Match.FULL for match, _ in matches):
            await self.app(scope, receive, send)
            return
        allowed = {
            method for match, route in matches if match == Match.PARTIAL for method in route.methods or ()
        }
        if not allowed:
            await self.app(scope, receive, send)
            return
        allow = [(b"allow", ", ".join(sorted(allowed | {"OPTIONS"})).encode())]
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": allow})
            await send({"type": "http.response.body", "body": b""})
            return
        await _send_json(send, 405, {"detail": f"method {scope['method']} not allowed"}, allow)


class SecurityHeaders:
    """Add :data:`SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)
