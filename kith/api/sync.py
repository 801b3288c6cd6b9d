"""GET /_matrix/client/v3/sync (sync.yaml)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from kith.errors import MatrixError, invalid_param
from kith.http.types import Request, Route
from kith.sync.filter_errors import FilterError
from kith.sync.filters import DEFAULT_FILTER, SyncFilter, parse_filter
from kith.sync.handler import SyncHandler
from kith.sync.tokens import parse_sync_token

FilterLookup = Callable[[str, str], Awaitable[SyncFilter | None]]


def routes(handler: SyncHandler, lookup_filter: FilterLookup | None) -> list[Route]:
    async def resolve_filter(user_id: str, raw: str | None) -> SyncFilter:
        if raw is None:
            return DEFAULT_FILTER
        if raw.lstrip().startswith("{"):
            try:
                return parse_filter(json.loads(raw))
            except ValueError as err:
                if isinstance(err, FilterError):
                    raise MatrixError(400, err.errcode, err.message) from None
                raise MatrixError(400, "M_NOT_JSON", "filter is not valid JSON") from None
        found = await lookup_filter(user_id, raw) if lookup_filter else None
        if found is None:
            raise MatrixError(400, "M_INVALID_PARAM", "Unknown filter")
        return found

    async def sync(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/sync"""
        user = request.user
        since_raw = request.arg("since")
        since = parse_sync_token(since_raw) if since_raw else None
        timeout = request.int_arg("timeout", 0, minimum=0) or 0
        full_state = (request.arg("full_state") or "false").lower()
        if full_state not in ("true", "false"):
            raise invalid_param("full_state must be true or false")
        presence = request.arg("set_presence")
        if presence is not None and presence not in ("offline", "online", "unavailable"):
            raise invalid_param("set_presence must be offline, online or unavailable")
        sync_filter = await resolve_filter(user.user_id, request.arg("filter"))
        return await handler.sync(user, since, timeout, full_state == "true", sync_filter,
                                  presence)

    return [Route("GET", "/_matrix/client/v3/sync", sync)]
