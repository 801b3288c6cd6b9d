"""/versions advertises only what works (versions.yaml).

Every operation of the client-server OpenAPI files (data/api/client-server)
that belongs to a spec version Kith advertises must be routed: a request with
a token and a well-formed path must not be answered 404/405 M_UNRECOGNIZED,
which is how Kith says "no such endpoint". An operation's version is its
`x-addedInMatrixVersion`, else the changelog entry that added it, else it is
older than v1.1 (the first version of the current numbering), so it is part of
every advertised version.

The few operations Kith deliberately does not provide are listed in EXCLUDED
with the reason; the test also checks that each of them really is unrouted,
so the list cannot silently go stale.

URL previews (GET .../preview_url) exist but are an administrator's choice,
off by default (`[media] url_preview`: the server would fetch the pages users
link to); while off they answer M_UNRECOGNIZED. The test runs with them on.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from kith.config import Config
from matrix import register  # type: ignore[import-not-found]
from spec_schema import load_spec_file, spec_dir  # type: ignore[import-not-found]

METHODS = ("get", "put", "post", "delete")
_ADDED = re.compile(r"Add `(GET|PUT|POST|DELETE) (/_matrix/[^`\s]+)`")

APPSERVICE = ("Application services: Kith registers none, and this endpoint accepts only an"
              " application service's as_token (application-service-api.md)")
SSO = ("SSO login is an optional module; Kith's GET /login offers no m.login.sso flow, so"
       " clients never send users here")
EXCLUDED: dict[tuple[str, str], str] = {
    ("POST", "/_matrix/client/v1/appservice/{appserviceId}/ping"): APPSERVICE,
    ("PUT", "/_matrix/client/v3/directory/list/appservice/{networkId}/{roomId}"): APPSERVICE,
    ("POST", "/_matrix/client/v1/login/get_token"):
        "login_token.yaml: \"Optional endpoint - the server is not required to implement"
        " this endpoint\"; the m.get_login_token capability says false",
    ("GET", "/_matrix/client/v3/login/sso/redirect"): SSO,
    ("GET", "/_matrix/client/v3/login/sso/redirect/{idpId}"): SSO,
}


@pytest.fixture
def app_config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "data", registration="open", rate_limit=False,
                  media_url_preview=True)


def version_key(version: str) -> tuple[int, int]:
    major, _, minor = version.lstrip("v").partition(".")
    return int(major), int(minor or 0)


@lru_cache(maxsize=1)
def changelog_additions() -> dict[tuple[str, str], str]:
    """(METHOD, full path) -> the first version whose changelog adds it."""
    found: dict[tuple[str, str], str] = {}
    files = sorted((spec_dir() / "content" / "changelog").glob("v*.md"),
                   key=lambda p: version_key(p.stem))
    for path in files:
        for method, url in _ADDED.findall(path.read_text(encoding="utf-8")):
            found.setdefault((method, url), path.stem.lstrip("v"))
    return found


def base_path(doc: dict[str, Any]) -> str:
    server = (doc.get("servers") or [{}])[0]
    url = str(server.get("url", ""))
    for name, var in (server.get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(var.get("default", "")))
    return re.sub(r"^[a-z]+://[^/]*", "", url)


def operations() -> list[tuple[str, str, str]]:
    """(METHOD, full path template, version added) of every operation."""
    out = []
    for path in sorted((spec_dir() / "data" / "api" / "client-server").glob("*.yaml")):
        doc = load_spec_file(path)
        base = base_path(doc)
        for template, ops in (doc.get("paths") or {}).items():
            full = base + template.strip()
            for method in METHODS:
                op = ops.get(method)
                if op is None:
                    continue
                added = op.get("x-addedInMatrixVersion") or changelog_additions().get(
                    (method.upper(), full)) or "1.0"
                out.append((method.upper(), full, str(added)))
    return out


def concrete(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), template)


def destructive(path: str) -> bool:
    return any(word in path for word in ("/leave", "/forget", "/logout", "/deactivate"))


def is_unrecognized(response: httpx.Response) -> bool:
    if response.status_code not in (404, 405):
        return False
    try:
        return bool(response.json().get("errcode") == "M_UNRECOGNIZED")
    except ValueError:
        return False


async def test_every_advertised_operation_is_routed(client: httpx.AsyncClient) -> None:
    versions = (await client.get("/_matrix/client/versions")).json()["versions"]
    newest = max(version_key(v) for v in versions)
    alice = await register(client, "alice")
    room = await alice.create_room(preset="public_chat")
    event = await alice.send(room, "hello")
    values = {"roomId": room, "roomIdOrAlias": room, "userId": alice.user_id,
              "eventId": event, "deviceId": alice.device_id, "eventType": "m.room.message",
              "txnId": "t1", "serverName": "localhost", "mediaId": "none"}
    wanted = [(m, p) for m, p, added in operations() if version_key(added) <= newest]
    assert len(wanted) > 140  # the spec files were found and read
    unrouted, routed_exclusions = [], []
    for method, template in sorted(wanted, key=lambda op: destructive(op[1])):
        path = concrete(template, values)
        response = await client.request(
            method, path, headers=alice.auth, params={"timeout": "0"},
            json={} if method in ("POST", "PUT") else None)
        if (method, template) in EXCLUDED:
            if not is_unrecognized(response):
                routed_exclusions.append(f"{method} {template}")
        elif is_unrecognized(response):
            unrouted.append(f"{method} {template}")
    assert unrouted == [], "advertised but not routed: " + ", ".join(unrouted)
    assert routed_exclusions == [], "now routed, drop from EXCLUDED: " + ", ".join(
        routed_exclusions)


def test_exclusions_name_real_operations() -> None:
    known = {(m, p) for m, p, _ in operations()}
    assert set(EXCLUDED) <= known
    assert all(reason for reason in EXCLUDED.values())


def test_versions_are_read_from_the_spec() -> None:
    ops = {(m, p): added for m, p, added in operations()}
    assert ops[("GET", "/_matrix/client/v1/rooms/{roomId}/hierarchy")] == "1.2"
    # No x-addedInMatrixVersion: known from the changelog.
    assert ops[("GET", "/_matrix/client/v1/mutual_rooms")] == "1.19"
    assert ops[("GET", "/_matrix/client/v3/sync")] == "1.0"
    assert Path(spec_dir()).is_dir()
