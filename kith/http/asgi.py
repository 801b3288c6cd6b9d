"""The ASGI application: one place where requests become responses.

Responsibilities, in order: CORS (spec: "Web Browser Clients"), routing (404/405
M_UNRECOGNIZED for unknown endpoints), body size limit (413 M_TOO_LARGE; for
streamed uploads after authentication), authentication (401 M_MISSING_TOKEN /
M_UNKNOWN_TOKEN), rate limiting (429), and
turning every MatrixError into its JSON body; any other exception is logged and
becomes 500 M_UNKNOWN without details.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from kith.errors import MatrixError, limit_exceeded, missing_token, too_large, unknown, unknown_token, unrecognized
from kith.http.ratelimit import RateLimiter
from kith.http.router import Router
from kith.http.types import BodyIncomplete, Request, Requester, Response, Route, json_response
from kith.store.accounts import AccountStore

log = logging.getLogger("kith.http")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Fallback = Callable[[Request], Awaitable[Response | None]]

CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, PUT, DELETE, OPTIONS"),
    (b"access-control-allow-headers", b"X-Requested-With, Content-Type, Authorization"),
]


def hash_token(token: str) -> bytes:
    """Access tokens carry 256 random bits, so a plain SHA-256 is a safe lookup key."""
    return hashlib.sha256(token.encode()).digest()


class KithASGI:
    def __init__(
        self,
        routes: list[Route],
        accounts: AccountStore,
        max_body_bytes: int,
        rate_limiter: RateLimiter | None,
        fallback: Fallback | None = None,
        lifespan: Callable[[str], Awaitable[None]] | None = None,
        everyday_limiter: RateLimiter | None = None,
    ) -> None:
        self._router = Router(routes)
        self._accounts = accounts
        self._max_body = max_body_bytes
        self._limiter = rate_limiter
        self._everyday = everyday_limiter
        self._fallback = fallback
        self._lifespan = lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._run_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        response = await self._handle(scope, receive)
        headers = [(b"content-type", response.content_type.encode())]
        if response.stream is None:
            headers.append((b"content-length", str(len(response.body)).encode()))
        elif response.length is not None:
            headers.append((b"content-length", str(response.length).encode()))
        headers.extend(CORS_HEADERS)
        headers.extend(response.headers)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if response.stream is None:
            await send({"type": "http.response.body", "body": response.body})
        else:
            await _send_stream(response.stream, receive, send)

    async def _run_lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            kind = message["type"].rsplit(".", 1)[-1]
            try:
                if self._lifespan is not None:
                    await self._lifespan(kind)
            except Exception as exc:
                log.exception("lifespan %s failed", kind)
                await send({"type": f"lifespan.{kind}.failed", "message": str(exc)})
                return
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return

    async def _handle(self, scope: Scope, receive: Receive) -> Response:
        method: str = scope["method"]
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        path = path.split("?", 1)[0]
        if method == "OPTIONS":
            # CORS preflight: answered for every path (spec: "Web Browser Clients").
            return Response(status=204, body=b"", content_type="text/plain")
        try:
            return await self._dispatch(scope, receive, method, path)
        except MatrixError as err:
            return json_response(err.to_json(), err.status)
        except BodyIncomplete:
            # Nobody is left to read an answer; this one only completes the cycle.
            return json_response(unknown("Request body incomplete").to_json(), 400)
        except Exception:
            log.exception("unhandled error in %s %s", method, scope["path"])
            failure = unknown()
            return json_response(failure.to_json(), failure.status)

    async def _dispatch(self, scope: Scope, receive: Receive, method: str, path: str) -> Response:
        match = self._router.match(method, path)
        request = Request(
            method=method,
            path=scope["path"],
            query=_parse_query(scope.get("query_string", b"")),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            body=b"",
            client_ip=(scope.get("client") or (None,))[0],
        )
        if match is None:
            if self._fallback is not None and method in ("GET", "HEAD"):
                found = await self._fallback(request)
                if found is not None:
                    return found
            raise unrecognized(404)
        if match.route is None:
            raise unrecognized(405, f"Method {method} not allowed here")
        route = match.route
        request.path_params = match.params
        limit = route.max_body if route.max_body is not None else self._max_body
        if route.stream_body:
            request.stream = _stream_body(receive, limit)
        else:
            request.body = await self._read_body(request, receive, limit)
        if route.auth != "none":
            request.requester = await self._authenticate(request, route.auth == "required")
        if route.stream_body:
            # Nothing of a streamed body is read yet: a request without a valid
            # token is told that (401) before that its declared size is too large.
            _check_declared_length(request, limit)
        # client-server-api "Rate limiting": routes marked rate_limited
        # (credential checks, joins, uploads, ...) share a tight budget; every
        # other request a generous one, so no endpoint can be flooded.
        limiter = self._limiter if route.rate_limited else self._everyday
        if limiter is not None:
            key = request.requester.user_id if request.requester else (request.client_ip or "")
            wait_ms = limiter.check(key)
            if wait_ms:
                raise limit_exceeded(wait_ms)
        result = await route.handler(request)
        if isinstance(result, Response):
            return result
        return json_response(result)

    async def _read_body(self, request: Request, receive: Receive, limit: int) -> bytes:
        _check_declared_length(request, limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large()
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    async def _authenticate(self, request: Request, required: bool) -> Requester | None:
        # Spec: access tokens travel in the Authorization header; the query
        # parameter is deprecated but still accepted.
        token: str | None = None
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                token = value.strip()
        if token is None:
            token = request.arg("access_token")
        if token is None:
            if required:
                raise missing_token()
            return None
        token_hash = hash_token(token)
        owner = await self._accounts.lookup_token(token_hash)
        if owner is None:
            raise unknown_token()
        return Requester(owner.user_id, owner.device_id, owner.is_admin, token_hash)


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large()


async def _stream_body(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The request body chunk by chunk, failing as soon as it passes `limit`."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BodyIncomplete()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large()
        if chunk:
            yield chunk
        if not message.get("more_body"):
            return


async def _send_stream(stream: AsyncIterator[bytes], receive: Receive, send: Send) -> None:
    """Send a streamed body; stop early (and close the source) if the client
    goes away. uvicorn's send() waits while its write buffer is full, so at
    most a few chunks are in memory at a time."""
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(watch())
    try:
        async for chunk in stream:
            if gone.is_set():
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if not gone.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _parse_query(raw: bytes) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    if not raw:
        return {}
    return parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
