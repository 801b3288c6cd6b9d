"""Accounts: registration.yaml, registration_tokens.yaml, login.yaml, logout.yaml,
whoami.yaml, password_management.yaml, account_deactivation.yaml."""

from __future__ import annotations

import secrets
from typing import Any

from kith.api.fields import opt_bool, opt_dict, opt_str, req_str
from kith.auth.service import AccountService, Session
from kith.auth.uia import StageCheck, UserInteractiveAuth
from kith.config import Config
from kith.errors import MatrixError, bad_json, forbidden, invalid_param
from kith.http.types import Request, Route

LOGIN_PASSWORD = "m.login.password"
DUMMY = "m.login.dummy"
REG_TOKEN = "m.login.registration_token"


def _session_json(session: Session, server_name: str, base_url: str) -> dict[str, Any]:
    return {
        "user_id": session.user_id,
        "access_token": session.access_token,
        "device_id": session.device_id,
        "home_server": server_name,
        "well_known": {"m.homeserver": {"base_url": base_url}},
    }


def password_check(accounts: AccountService, user_id: str) -> StageCheck:
    """UIA stage m.login.password, bound to the requesting user."""

    async def check(auth: dict[str, Any]) -> bool:
        password = auth.get("password")
        if not isinstance(password, str):
            raise bad_json("auth.password must be a string")
        claimed = _identifier_user(accounts, auth)
        if claimed is not None and claimed != user_id:
            raise forbidden("You can only authenticate as yourself")
        return await accounts.check_password(user_id, password)

    return check


def _identifier_user(accounts: AccountService, body: dict[str, Any]) -> str | None:
    ident = body.get("identifier")
    if ident is None:
        legacy = body.get("user")  # deprecated top-level `user` (spec: login.yaml)
        return accounts.resolve_user(legacy) if isinstance(legacy, str) else None
    if not isinstance(ident, dict):
        raise bad_json("identifier must be an object")
    if ident.get("type") != "m.id.user":
        raise MatrixError(400, "M_UNKNOWN", "Only m.id.user identifiers are supported")
    user = ident.get("user")
    if not isinstance(user, str):
        raise bad_json("identifier.user must be a string")
    return accounts.resolve_user(user)


def routes(config: Config, accounts: AccountService, uia: UserInteractiveAuth) -> list[Route]:
    server_name, base_url = config.server_name, config.base_url

    def registration_flows() -> list[list[str]]:
        if config.registration == "open":
            return [[DUMMY]]
        if config.registration == "token":
            return [[REG_TOKEN]]
        return []

    async def register(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/register"""
        kind = request.arg("kind") or "user"
        if kind == "guest":
            raise forbidden("Guest access is not enabled")
        if kind != "user":
            raise invalid_param("kind must be user or guest")
        body = request.json_object(allow_empty=True)
        username = opt_str(body, "username")
        password = opt_str(body, "password")
        device_id = opt_str(body, "device_id")
        device_name = opt_str(body, "initial_device_display_name")
        inhibit_login = opt_bool(body, "inhibit_login", False)
        if config.registration == "closed":
            raise forbidden("Registration is closed on this server; ask the administrator")
        if username is not None:
            accounts.user_id_for(username.lower())  # validate before any auth stage
            if await accounts.store.user_id_taken(accounts.user_id_for(username.lower())):
                raise MatrixError(400, "M_USER_IN_USE", "User ID already taken")
        if password is not None and len(password) > 512:
            raise MatrixError(400, "M_WEAK_PASSWORD", "Password is too long")

        async def dummy(auth: dict[str, Any]) -> bool:
            return True

        async def reg_token(auth: dict[str, Any]) -> bool:
            token = auth.get("token")
            if not isinstance(token, str):
                raise bad_json("auth.token must be a string")
            return await accounts.store.registration_token_valid(token)

        auth = await uia.authenticate(
            body, registration_flows(), {DUMMY: dummy, REG_TOKEN: reg_token}, binding="register"
        )
        if password is None:
            raise MatrixError(400, "M_MISSING_PARAM", "A password is required")
        if config.registration == "token":
            # Spend the token only when the account is actually created.
            if not await accounts.store.use_registration_token(str(auth.get("token"))):
                raise forbidden("Registration token is no longer valid")
        localpart = (username or _random_localpart()).lower()
        result = await accounts.register(
            localpart, password, device_id=device_id, device_name=device_name,
            issue_token=not inhibit_login,
        )
        if isinstance(result, str):
            return {"user_id": result, "home_server": server_name}
        await accounts.store.touch_device(result.user_id, result.device_id, request.client_ip)
        return _session_json(result, server_name, base_url)

    async def available(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/register/available"""
        username = request.require_arg("username")
        user_id = accounts.user_id_for(username.lower())
        if await accounts.store.user_id_taken(user_id):
            raise MatrixError(400, "M_USER_IN_USE", "User ID already taken")
        return {"available": True}

    async def token_validity(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v1/register/m.login.registration_token/validity"""
        token = request.require_arg("token")
        if config.registration != "token":
            raise forbidden("Registration tokens are not in use on this server")
        return {"valid": await accounts.store.registration_token_valid(token)}

    async def login_flows(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/login"""
        return {"flows": [{"type": LOGIN_PASSWORD}]}

    async def login(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/login"""
        body = request.json_object()
        if body.get("type") != LOGIN_PASSWORD:
            raise MatrixError(400, "M_UNKNOWN", "Unsupported login type")
        user_id = _identifier_user(accounts, body)
        if user_id is None:
            raise MatrixError(400, "M_MISSING_PARAM", "Missing identifier")
        password = req_str(body, "password")
        session = await accounts.login(
            user_id, password, opt_str(body, "device_id"), opt_str(body, "initial_device_display_name")
        )
        await accounts.store.touch_device(session.user_id, session.device_id, request.client_ip)
        return _session_json(session, server_name, base_url)

    async def logout(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/logout"""
        await accounts.delete_devices(request.user.user_id, [request.user.device_id])
        return {}

    async def logout_all(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/logout/all"""
        devices = [d.device_id for d in await accounts.store.get_devices(request.user.user_id)]
        await accounts.delete_devices(request.user.user_id, devices)
        return {}

    async def whoami(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/account/whoami"""
        return {"user_id": request.user.user_id, "device_id": request.user.device_id,
                "is_guest": False}

    async def change_password(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/account/password"""
        body = request.json_object()
        new_password = req_str(body, "new_password")
        logout_devices = opt_bool(body, "logout_devices", True)
        user = request.user
        await uia.authenticate(
            body, [[LOGIN_PASSWORD]], {LOGIN_PASSWORD: password_check(accounts, user.user_id)},
            binding=f"password:{user.user_id}",
        )
        await accounts.change_password(user.user_id, new_password, user.device_id, logout_devices)
        return {}

    async def deactivate(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/account/deactivate"""
        body = request.json_object(allow_empty=True)
        opt_dict(body, "auth")
        erase = opt_bool(body, "erase", False)
        user = request.user
        await uia.authenticate(
            body, [[LOGIN_PASSWORD]], {LOGIN_PASSWORD: password_check(accounts, user.user_id)},
            binding=f"deactivate:{user.user_id}",
        )
        await accounts.deactivate(user.user_id, erase=erase)
        return {"id_server_unbind_result": "no-support"}

    return [
        Route("POST", "/_matrix/client/v3/register", register, auth="none", rate_limited=True),
        Route("GET", "/_matrix/client/v3/register/available", available, auth="none",
              rate_limited=True),
        Route("GET", "/_matrix/client/v1/register/m.login.registration_token/validity",
              token_validity, auth="none", rate_limited=True),
        Route("GET", "/_matrix/client/v3/login", login_flows, auth="none"),
        Route("POST", "/_matrix/client/v3/login", login, auth="none", rate_limited=True),
        Route("POST", "/_matrix/client/v3/logout", logout),
        Route("POST", "/_matrix/client/v3/logout/all", logout_all),
        Route("GET", "/_matrix/client/v3/account/whoami", whoami),
        Route("POST", "/_matrix/client/v3/account/password", change_password, rate_limited=True),
        Route("POST", "/_matrix/client/v3/account/deactivate", deactivate, rate_limited=True),
    ]


def _random_localpart() -> str:
    return "u" + secrets.token_hex(6)
