"""Server discovery: versions.yaml, wellknown.yaml, capabilities.yaml."""

from __future__ import annotations

from typing import Any

from kith.events.room_versions import DEFAULT_ROOM_VERSION, KNOWN_ROOM_VERSIONS
from kith.http.types import Request, Route

# Only versions whose features Kith implements are advertised (spec: versions.yaml).
SPEC_VERSIONS = ["v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10",
                 "v1.11"]


def routes(base_url: str) -> list[Route]:
    async def versions(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/versions"""
        return {"versions": SPEC_VERSIONS, "unstable_features": {}}

    async def well_known(request: Request) -> dict[str, Any]:
        """GET /.well-known/matrix/client"""
        return {"m.homeserver": {"base_url": base_url}}

    async def capabilities(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/capabilities"""
        return {
            "capabilities": {
                "m.change_password": {"enabled": True},
                "m.room_versions": {
                    "default": DEFAULT_ROOM_VERSION.identifier,
                    "available": {v: "stable" for v in KNOWN_ROOM_VERSIONS},
                },
                "m.set_displayname": {"enabled": True},
                "m.set_avatar_url": {"enabled": True},
                "m.3pid_changes": {"enabled": False},
                "m.get_login_token": {"enabled": False},
            }
        }

    return [
        Route("GET", "/_matrix/client/versions", versions, auth="none"),
        Route("GET", "/.well-known/matrix/client", well_known, auth="none"),
        Route("GET", "/_matrix/client/v3/capabilities", capabilities),
    ]
