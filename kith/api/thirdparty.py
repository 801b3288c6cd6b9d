"""Third-party networks: third_party_lookup.yaml (/_matrix/client/v3/thirdparty/*).

Spec: client-server-api/modules/third_party_networks.md. Protocols are
provided by application services (bridges); Kith runs none, so it knows no
protocol:

- /thirdparty/protocols is the empty map of protocols;
- the per-protocol endpoints answer 404 M_NOT_FOUND, which each documents
  ("The protocol is unknown", "No portal rooms were found", "The Matrix User
  ID was not found");
- the reverse lookups from a Matrix room alias or user ID answer with the
  empty list of third-party locations or users when the alias or user exists
  here, and 404 M_NOT_FOUND (as documented) when it does not.
"""

from __future__ import annotations

from typing import Any

from kith.errors import not_found
from kith.http.types import Request, Response, Route, json_response
from kith.store.accounts import AccountStore
from kith.store.aliases import AliasStore

V3 = "/_matrix/client/v3"


def routes(aliases: AliasStore, accounts: AccountStore) -> list[Route]:
    async def protocols(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/thirdparty/protocols"""
        return {}

    async def unknown_protocol(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/thirdparty/{protocol,location,user}/{protocol}"""
        raise not_found(f"Unknown protocol {request.path_params['protocol'][:100]!r}")

    async def location_by_alias(request: Request) -> Response:
        """GET /_matrix/client/v3/thirdparty/location"""
        alias = request.require_arg("alias")
        if await aliases.lookup(alias) is None:
            raise not_found("Room alias not found")
        return json_response([])

    async def user_by_id(request: Request) -> Response:
        """GET /_matrix/client/v3/thirdparty/user"""
        user = await accounts.get_user(request.require_arg("userid"))
        if user is None:
            raise not_found("User not found")
        return json_response([])

    return [
        Route("GET", f"{V3}/thirdparty/protocols", protocols),
        Route("GET", f"{V3}/thirdparty/protocol/{{protocol}}", unknown_protocol),
        Route("GET", f"{V3}/thirdparty/location/{{protocol}}", unknown_protocol),
        Route("GET", f"{V3}/thirdparty/user/{{protocol}}", unknown_protocol),
        Route("GET", f"{V3}/thirdparty/location", location_by_alias),
        Route("GET", f"{V3}/thirdparty/user", user_by_id),
    ]
