"""Filters: filter.yaml (POST /user/{userId}/filter, GET .../filter/{filterId})."""

from __future__ import annotations

from typing import Any

from kith.errors import MatrixError, forbidden, not_found
from kith.http.types import Request, Route
from kith.store.filters import FilterStore
from kith.sync.filter_errors import FilterError
from kith.sync.filters import parse_filter


def routes(store: FilterStore) -> list[Route]:
    def own(request: Request, verb: str) -> str:
        user_id = request.path_params["userId"]
        if user_id != request.user.user_id:
            raise forbidden(f"Cannot {verb} filters for other users")
        return user_id

    async def create_filter(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/user/{userId}/filter"""
        user_id = own(request, "create")
        body = request.json_object()
        try:
            parse_filter(body)
        except FilterError as err:
            raise MatrixError(400, err.errcode, err.message) from None
        # The definition is kept as uploaded, so GET returns what was sent.
        return {"filter_id": await store.add(user_id, body)}

    async def get_filter(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/user/{userId}/filter/{filterId}"""
        user_id = own(request, "read")
        definition = await store.get_json(user_id, request.path_params["filterId"])
        if definition is None:
            raise not_found("No such filter")
        return definition

    return [
        Route("POST", "/_matrix/client/v3/user/{userId}/filter", create_filter),
        Route("GET", "/_matrix/client/v3/user/{userId}/filter/{filterId}", get_filter),
    ]
