"""POST /_matrix/client/v3/refresh (refresh.yaml, added in v1.3).

Kith does not issue refresh tokens: login.yaml lets a server leave
`refresh_token` out of its answer even when the client says it supports them,
and Kith's access tokens do not expire, so there is nothing to refresh. Any
refresh token presented was therefore never issued here, which refresh.yaml
answers with 401 M_UNKNOWN_TOKEN ("The provided token was unknown, or has
already been used"). The endpoint exists so that this is what a client hears,
rather than being told the endpoint is unknown.
"""

from __future__ import annotations

from typing import Any

from kith.api.fields import req_str
from kith.errors import MatrixError
from kith.http.types import Request, Route


def routes() -> list[Route]:
    async def refresh(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/refresh"""
        req_str(request.json_object(), "refresh_token")
        raise MatrixError(401, "M_UNKNOWN_TOKEN", "Unknown refresh token", soft_logout=False)

    # refresh.yaml: "this endpoint does not require authentication via an
    # access token. Authentication is provided via the refresh token."
    return [Route("POST", "/_matrix/client/v3/refresh", refresh, auth="none",
                  rate_limited=True)]
