"""GET /_matrix/client/v3/voip/turnServer (voip.yaml).

Spec: client-server-api/modules/voip_events.md, "Server behaviour": the
homeserver MAY provide a TURN server. When [voip] in kith.toml names TURN URIs
and a shared secret, credentials are made the way TURN servers such as coturn
check them (the "TURN REST API" convention, coturn's use-auth-secret): the
username is "<expiry unix time>:<user ID>" and the password the base64 of
HMAC-SHA1(shared secret, username), so the TURN server verifies them without
asking Kith, and they stop working at the expiry.

Without a TURN server: voip.yaml documents only 200 (with credentials) and 429,
so there is no error to answer with. Kith answers 200 with an empty object,
which clients take as "no TURN server" (matrix-js-sdk only uses the answer
when it has `uris`) and then call over direct or STUN connectivity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from kith.http.types import Request, Route


def turn_credentials(user_id: str, uris: tuple[str, ...], secret: str, ttl: int,
                     now_s: int) -> dict[str, Any]:
    """The turnServer answer for `user_id` at unix time `now_s` (pure)."""
    username = f"{now_s + ttl}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return {"username": username, "password": base64.b64encode(digest).decode(),
            "uris": list(uris), "ttl": ttl}


def routes(uris: tuple[str, ...], secret: str, ttl: int) -> list[Route]:
    async def turn_server(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/voip/turnServer"""
        if not uris or not secret:
            return {}
        return turn_credentials(request.user.user_id, uris, secret, ttl, int(time.time()))

    return [Route("GET", "/_matrix/client/v3/voip/turnServer", turn_server, rate_limited=True)]
