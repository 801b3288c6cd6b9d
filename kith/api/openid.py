"""OpenID: POST /_matrix/client/v3/user/{userId}/openid/request_token
(client-server openid.yaml) and GET /_matrix/federation/v1/openid/userinfo
(server-server openid.yaml).

Spec: client-server-api/modules/openid.md. A user obtains a short-lived token
to prove their identity to a third party (widgets, integration managers); the
third party exchanges it at this server's federation endpoint for
{"sub": user_id}. The token is valid for nothing else: it is not an access
token, so it cannot call /sync or ask for another OpenID token.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from kith.errors import MatrixError, forbidden
from kith.http.types import Request, Route
from kith.store.openid import OpenIdStore

EXPIRES_IN_S = 3600


def _now_ms() -> int:
    return int(time.time() * 1000)


def routes(store: OpenIdStore, server_name: str) -> list[Route]:
    async def request_token(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/user/{userId}/openid/request_token"""
        user_id = request.user.user_id
        if request.path_params["userId"] != user_id:
            raise forbidden("You can only request an OpenID token for yourself")
        # openid.yaml: the body is "An empty object. Reserved for future expansion."
        request.json_object(allow_empty=True)
        token = secrets.token_urlsafe(32)
        now = _now_ms()
        await store.add(token, user_id, now + EXPIRES_IN_S * 1000, now)
        return {"access_token": token, "token_type": "Bearer",
                "matrix_server_name": server_name, "expires_in": EXPIRES_IN_S}

    async def userinfo(request: Request) -> dict[str, Any]:
        """GET /_matrix/federation/v1/openid/userinfo"""
        token = request.arg("access_token")
        owner = await store.owner(token, _now_ms()) if token else None
        if owner is None:
            # server-server openid.yaml 401: "The token was not recognized or has expired."
            raise MatrixError(401, "M_UNKNOWN_TOKEN", "Access token unknown or expired")
        return {"sub": owner}

    return [
        Route("POST", "/_matrix/client/v3/user/{userId}/openid/request_token", request_token,
              rate_limited=True),
        # Not a client endpoint: the OpenID token travels as the query
        # parameter, and is never taken for an access token (auth="none").
        Route("GET", "/_matrix/federation/v1/openid/userinfo", userinfo, auth="none",
              rate_limited=True),
    ]
