"""Third-party identifiers: Kith keeps none, and each endpoint says so the way
its definition in administrative_contact.yaml, registration.yaml or
password_management.yaml documents."""

from __future__ import annotations

import httpx
import pytest

from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

V3 = "/_matrix/client/v3"
EMAIL = {"client_secret": "s3cret", "email": "alice@example.org", "send_attempt": 1}
PHONE = {"client_secret": "s3cret", "country": "GB", "phone_number": "07700900001",
         "send_attempt": 1}


async def test_the_list_is_empty(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    body = await alice.request("GET", "/account/3pid")
    validate_response("administrative_contact.yaml", "get", "/account/3pid", 200, body)
    assert body == {"threepids": []}
    response = await client.get(f"{V3}/account/3pid")
    assert response.status_code == 401


@pytest.mark.parametrize(("path", "api_file", "status", "errcode"), [
    ("/account/3pid/email/requestToken", "administrative_contact.yaml", 400,
     "M_THREEPID_MEDIUM_NOT_SUPPORTED"),
    ("/account/3pid/msisdn/requestToken", "administrative_contact.yaml", 400,
     "M_THREEPID_MEDIUM_NOT_SUPPORTED"),
    ("/register/email/requestToken", "registration.yaml", 403, "M_THREEPID_DENIED"),
    ("/register/msisdn/requestToken", "registration.yaml", 403, "M_THREEPID_DENIED"),
    ("/account/password/email/requestToken", "password_management.yaml", 403,
     "M_THREEPID_DENIED"),
    ("/account/password/msisdn/requestToken", "password_management.yaml", 403,
     "M_THREEPID_DENIED"),
])
async def test_no_validation_token_is_ever_sent(client: httpx.AsyncClient, path: str,
                                                api_file: str, status: int, errcode: str) -> None:
    body = EMAIL if "/email/" in path else PHONE
    response = await client.post(V3 + path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["errcode"] == errcode
    validate_response(api_file, "post", path, status, response.json())
    # A malformed request is still a 400 about its shape.
    incomplete = await client.post(V3 + path, json={"client_secret": "s3cret"})
    assert incomplete.status_code == 400
    assert incomplete.json()["errcode"] == "M_MISSING_PARAM"


async def test_adding_and_binding_are_refused(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    added = await alice.request("POST", "/account/3pid/add",
                                {"client_secret": "s3cret", "sid": "1"}, expect=400)
    assert added["errcode"] == "M_THREEPID_MEDIUM_NOT_SUPPORTED"
    creds = {"client_secret": "s3cret", "id_server": "id.example.org",
             "id_access_token": "abc", "sid": "1"}
    bound = await alice.request("POST", "/account/3pid/bind", creds, expect=403)
    assert bound["errcode"] == "M_THREEPID_AUTH_FAILED"
    legacy = await alice.request("POST", "/account/3pid", {"three_pid_creds": creds}, expect=403)
    validate_response("administrative_contact.yaml", "post", "/account/3pid", 403, legacy)
    assert legacy["errcode"] == "M_THREEPID_AUTH_FAILED"
    missing = await alice.request("POST", "/account/3pid/add", {"sid": "1"}, expect=400)
    assert missing["errcode"] == "M_MISSING_PARAM"
    assert (await alice.request("GET", "/account/3pid"))["threepids"] == []


@pytest.mark.parametrize("path", ["/account/3pid/delete", "/account/3pid/unbind"])
async def test_removing_finds_no_identity_server(client: httpx.AsyncClient, path: str) -> None:
    alice = await register(client, "alice")
    body = await alice.request("POST", path, {"medium": "email", "address": "a@example.org"})
    validate_response("administrative_contact.yaml", "post", path, 200, body)
    assert body == {"id_server_unbind_result": "no-support"}
    wrong = await alice.request("POST", path, {"medium": "pigeon", "address": "x"}, expect=400)
    assert wrong["errcode"] == "M_INVALID_PARAM"
