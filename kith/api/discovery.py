"""Server discovery: versions.yaml, wellknown.yaml, support.yaml, capabilities.yaml."""

from __future__ import annotations

from typing import Any

from kith.errors import not_found
from kith.events.room_versions import DEFAULT_ROOM_VERSION, KNOWN_ROOM_VERSIONS
from kith.http.types import Request, Route

# Only versions whose features Kith implements are advertised (spec: versions.yaml).
SPEC_VERSIONS = ["v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10",
                 "v1.11"]


def support_info(page: str, admin_matrix_id: str) -> dict[str, Any] | None:
    """support.yaml: at least one of `contacts` or `support_page`; None when
    there is neither."""
    info: dict[str, Any] = {}
    if admin_matrix_id:
        info["contacts"] = [{"matrix_id": admin_matrix_id, "role": "m.role.admin"}]
    if page:
        info["support_page"] = page
    return info or None


def routes(base_url: str, support_page: str = "", support_admin: str = "") -> list[Route]:
    support = support_info(support_page, support_admin)

    async def versions(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/versions"""
        return {"versions": SPEC_VERSIONS, "unstable_features": {}}

    async def well_known(request: Request) -> dict[str, Any]:
        """GET /.well-known/matrix/client"""
        return {"m.homeserver": {"base_url": base_url}}

    async def well_known_support(request: Request) -> dict[str, Any]:
        """GET /.well-known/matrix/support"""
        if support is None:
            # support.yaml 404: "No server support information available."
            raise not_found("No server support information available")
        return support

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
        Route("GET", "/.well-known/matrix/support", well_known_support, auth="none"),
        Route("GET", "/_matrix/client/v3/capabilities", capabilities),
    ]
