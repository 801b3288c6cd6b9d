"""Third-party identifiers: administrative_contact.yaml, and the requestToken
endpoints of registration.yaml and password_management.yaml.

Kith is anonymous by design: an account has no email address or phone number,
and Kith talks to no identity server. The capability m.3pid_changes is
therefore `false` (kith.api.discovery), and each endpoint answers with what
its own OpenAPI definition documents for that situation:

| endpoint                                    | answer                                  |
|---------------------------------------------|-----------------------------------------|
| GET  /account/3pid                          | 200, the (always empty) list            |
| POST /account/3pid/{email,msisdn}/requestToken | 400 M_THREEPID_MEDIUM_NOT_SUPPORTED: listed there as "The homeserver does not support adding email addresses" |
| POST /register/.../requestToken, /account/password/.../requestToken | 403 M_THREEPID_DENIED: the one refusal these list, "The homeserver does not permit the address to be bound" / "does not allow the third-party identifier as a contact option" |
| POST /account/3pid/add                      | 400 M_THREEPID_MEDIUM_NOT_SUPPORTED: no medium can be added, and no `sid` was ever issued |
| POST /account/3pid/bind, POST /account/3pid (deprecated, "equivalent to /3pid/bind") | 403 M_THREEPID_AUTH_FAILED, which POST /account/3pid lists: the credentials cannot be verified, Kith trusts no identity server |
| POST /account/3pid/delete, /account/3pid/unbind | 200 with id_server_unbind_result `no-support`, which both define for "the homeserver was not able to determine an identity server to unbind from"; the account holds no identifier, so nothing remains associated |

Request bodies are still checked first, so a malformed request is a 400 about
its shape, as for any endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from kith.api.fields import req_str
from kith.errors import MatrixError, bad_json, invalid_param, missing_param
from kith.http.types import Handler, Request, Route

V3 = "/_matrix/client/v3"
MEDIA = ("email", "msisdn")


def _medium_not_supported(medium: str) -> MatrixError:
    return MatrixError(400, "M_THREEPID_MEDIUM_NOT_SUPPORTED",
                       f"This server does not associate {medium} addresses with accounts")


def _denied() -> MatrixError:
    return MatrixError(403, "M_THREEPID_DENIED",
                       "This server does not use third-party identifiers")


def _auth_failed() -> MatrixError:
    return MatrixError(403, "M_THREEPID_AUTH_FAILED",
                       "This server does not verify identifiers with an identity server")


def check_request_token_body(body: dict[str, Any], medium: str) -> None:
    """request_email_validation.yaml / request_msisdn_validation.yaml shape."""
    req_str(body, "client_secret")
    for key in ("email",) if medium == "email" else ("country", "phone_number"):
        req_str(body, key)
    attempt = body.get("send_attempt")
    if attempt is None:
        raise missing_param("Missing send_attempt")
    if not isinstance(attempt, int) or isinstance(attempt, bool):
        raise bad_json("send_attempt must be an integer")


def check_identifier(body: dict[str, Any]) -> None:
    """The `medium`/`address` pair of /3pid/delete and /3pid/unbind."""
    medium = req_str(body, "medium")
    req_str(body, "address")
    if medium not in MEDIA:
        raise invalid_param("medium must be email or msisdn")


def routes() -> list[Route]:
    async def list_3pids(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/account/3pid"""
        return {"threepids": []}

    def request_token(medium: str, refusal: Callable[[], MatrixError]) -> Handler:
        async def handler(request: Request) -> dict[str, Any]:
            """POST .../{medium}/requestToken"""
            check_request_token_body(request.json_object(), medium)
            raise refusal()

        return handler

    async def add(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/account/3pid/add"""
        body = request.json_object()
        req_str(body, "client_secret")
        req_str(body, "sid")
        raise MatrixError(400, "M_THREEPID_MEDIUM_NOT_SUPPORTED",
                          "This server does not associate third-party identifiers with accounts")

    async def bind(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/account/3pid/bind"""
        body = request.json_object()
        for key in ("client_secret", "id_server", "id_access_token", "sid"):
            req_str(body, key)
        raise _auth_failed()

    async def post_3pids(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/account/3pid (deprecated)"""
        creds = request.json_object().get("three_pid_creds")
        if creds is None:
            raise missing_param("Missing three_pid_creds")
        if not isinstance(creds, dict):
            raise bad_json("three_pid_creds must be an object")
        for key in ("client_secret", "id_server", "sid"):
            req_str(creds, key)
        raise _auth_failed()

    async def remove(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/account/3pid/delete and /account/3pid/unbind"""
        check_identifier(request.json_object())
        return {"id_server_unbind_result": "no-support"}

    out = [
        Route("GET", f"{V3}/account/3pid", list_3pids),
        Route("POST", f"{V3}/account/3pid", post_3pids),
        Route("POST", f"{V3}/account/3pid/add", add),
        Route("POST", f"{V3}/account/3pid/bind", bind),
        Route("POST", f"{V3}/account/3pid/delete", remove),
        Route("POST", f"{V3}/account/3pid/unbind", remove),
    ]
    for medium in MEDIA:
        out += [
            Route("POST", f"{V3}/account/3pid/{medium}/requestToken",
                  request_token(medium, partial(_medium_not_supported, medium)), auth="none",
                  rate_limited=True),
            Route("POST", f"{V3}/register/{medium}/requestToken",
                  request_token(medium, _denied), auth="none", rate_limited=True),
            Route("POST", f"{V3}/account/password/{medium}/requestToken",
                  request_token(medium, _denied), auth="none", rate_limited=True),
        ]
    return out
