"""Request, response and route values shared by every API module."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import msgspec
import orjson

from kith.errors import MatrixError, bad_json, invalid_param, missing_param, not_json

S = TypeVar("S")

INT64_MAX = 2**63 - 1
_INT_ARG = re.compile(r"-?[0-9]{1,19}")


@dataclass(frozen=True, slots=True)
class Requester:
    """Who is making an authenticated request (spec: "Using access tokens")."""

    user_id: str
    device_id: str
    is_admin: bool
    token_hash: bytes


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    client_ip: str | None
    path_params: dict[str, str] = field(default_factory=dict)
    requester: Requester | None = None
    # On routes with stream_body=True: the body as it arrives, in chunks; the
    # route's size limit is enforced while iterating (413 M_TOO_LARGE), and a
    # client that goes away mid-body raises BodyIncomplete. `body` stays b"".
    stream: AsyncIterator[bytes] | None = None

    @property
    def user(self) -> Requester:
        """The authenticated requester; only on routes with auth="required"."""
        assert self.requester is not None
        return self.requester

    def json(self) -> Any:
        if not self.body:
            raise not_json("Request body is empty")
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise not_json() from None

    def json_object(self, allow_empty: bool = False) -> dict[str, Any]:
        """The body as a JSON object; an empty body is {} where the spec allows it."""
        if allow_empty and not self.body.strip():
            return {}
        value = self.json()
        if not isinstance(value, dict):
            raise bad_json("Request body must be a JSON object")
        return value

    def parse(self, struct: type[S], allow_empty: bool = False) -> S:
        """Validate the body into a typed struct; type errors are M_BAD_JSON."""
        try:
            return msgspec.convert(self.json_object(allow_empty), struct)
        except msgspec.ValidationError as exc:
            raise bad_json(str(exc)) from None

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def int_arg(self, name: str, default: int | None = None, *, minimum: int = 0,
                maximum: int | None = None) -> int | None:
        raw = self.arg(name)
        if raw is None:
            return default
        # ASCII digits only (int() would also take "1_000", " 7" or "٣"), and
        # at most 19 of them: every integer argument fits the database's int64.
        if not _INT_ARG.fullmatch(raw):
            raise invalid_param(f"{name} must be an integer")
        value = int(raw)
        if value < minimum:
            raise invalid_param(f"{name} must be at least {minimum}")
        return min(value, maximum if maximum is not None else INT64_MAX)

    def require_arg(self, name: str) -> str:
        value = self.arg(name)
        if value is None:
            raise missing_param(f"Missing query parameter {name}")
        return value


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    # A streamed body, sent chunk by chunk (`body` is then ignored); `length` is
    # its Content-Length when known. The iterator is closed (aclose) when the
    # client goes away early.
    stream: AsyncIterator[bytes] | None = None
    length: int | None = None


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status=status, body=orjson.dumps(value))


Handler = Callable[[Request], Awaitable[Response | dict[str, Any]]]
Auth = Literal["required", "optional", "none"]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint; `path` uses the spec's template syntax, e.g. /rooms/{roomId}/send."""

    method: str
    path: str
    handler: Handler
    auth: Auth = "required"
    rate_limited: bool = False
    # stream_body: the handler reads request.stream instead of request.body;
    # max_body: this route's body limit in bytes (None: config.max_request_bytes).
    stream_body: bool = False
    max_body: int | None = None


class BodyIncomplete(Exception):
    """The client disconnected before sending the whole request body."""


def require(condition: bool, error: MatrixError) -> None:
    if not condition:
        raise error
