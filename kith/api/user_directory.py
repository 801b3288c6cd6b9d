"""User directory: users.yaml."""

from __future__ import annotations

from typing import Any

from kith.api.fields import opt_int, req_str
from kith.errors import invalid_param
from kith.http.types import Request, Route
from kith.store.user_directory import UserDirectoryStore

DEFAULT_LIMIT = 10  # users.yaml: limit defaults to 10
MAX_LIMIT = 50


def routes(store: UserDirectoryStore) -> list[Route]:
    async def search(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/user_directory/search"""
        body = request.json_object()
        term = req_str(body, "search_term")
        limit = opt_int(body, "limit")
        if limit is None:
            limit = DEFAULT_LIMIT
        if limit < 0:
            raise invalid_param("limit must not be negative")
        limit = min(limit, MAX_LIMIT)
        # One extra row tells whether the list was truncated (`limited`).
        found = await store.search(request.user.user_id, term.strip(), limit + 1)
        results = []
        for entry in found[:limit]:
            result: dict[str, Any] = {"user_id": entry.user_id}
            if entry.displayname is not None:
                result["display_name"] = entry.displayname
            if entry.avatar_url is not None:
                result["avatar_url"] = entry.avatar_url
            results.append(result)
        return {"results": results, "limited": len(found) > limit}

    return [Route("POST", "/_matrix/client/v3/user_directory/search", search,
                  rate_limited=True)]
