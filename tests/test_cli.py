"""The `kith` command as an administrator runs it against a data directory:
`kith user add NAME [--admin]` and `kith invite create --uses N --expires D`,
then a real `kith serve` on the same directory honours what they wrote."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]

V3 = "/_matrix/client/v3"


def kith(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kith.cli", "--data-dir", str(data), *args],
                          input=stdin, capture_output=True, text=True, cwd=REPO, timeout=60)


def login(base: str, name: str, password: str) -> httpx.Response:
    return httpx.post(base + V3 + "/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": name},
        "password": password})


def register_with(base: str, name: str, token: str) -> httpx.Response:
    return httpx.post(base + V3 + "/register", json={
        "username": name, "password": "pw",
        "auth": {"type": "m.login.registration_token", "token": token}})


def test_user_add_creates_accounts_that_can_log_in(tmp_path: Path, start_server_fn: Any) -> None:
    data = tmp_path / "data"
    added = kith(data, "user", "add", "Alice", "--admin", "--password", "s3cret")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "Created @alice:localhost (admin)."
    # Without --password, a non-interactive stdin gives the password.
    piped = kith(data, "user", "add", "bob", stdin="from-stdin\n")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.strip() == "Created @bob:localhost."
    taken = kith(data, "user", "add", "alice", "--password", "other")
    assert taken.returncode == 1 and "Could not add alice" in taken.stderr
    bad = kith(data, "user", "add", "no spaces", "--password", "pw")
    assert bad.returncode == 1
    empty = kith(data, "user", "add", "carol")
    assert empty.returncode == 1 and "password is required" in empty.stderr
    db = sqlite3.connect(data / "kith.db")
    admins = dict(db.execute("SELECT user_id, is_admin FROM users").fetchall())
    db.close()
    assert admins == {"@alice:localhost": 1, "@bob:localhost": 0}

    server = start_server_fn(data)
    try:
        assert login(server.base_url, "alice", "s3cret").status_code == 200
        assert login(server.base_url, "alice", "other").status_code == 403
        assert login(server.base_url, "bob", "from-stdin").status_code == 200
        # kith.toml was written on first use with registration closed.
        closed = register_with(server.base_url, "dave", "anything")
        assert closed.status_code == 403
    finally:
        assert server.stop() == 0


def test_invite_create_makes_a_limited_registration_token(tmp_path: Path,
                                                          start_server_fn: Any) -> None:
    data = tmp_path / "data"
    before = time.time()
    created = kith(data, "invite", "create", "--uses", "1", "--expires", "2h")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token and "\n" not in token
    assert f"/#/invite/{token}" in created.stderr
    assert 'registration is not set to "token"' in created.stderr
    unlimited = kith(data, "invite", "create").stdout.strip()
    assert unlimited != token
    db = sqlite3.connect(data / "kith.db")
    rows = {r[0]: r[1:] for r in db.execute(
        "SELECT token, uses_allowed, expiry_ts FROM registration_tokens")}
    db.close()
    uses, expiry = rows[token]
    assert uses == 1
    assert before + 7200 - 5 <= expiry / 1000 <= time.time() + 7200 + 5
    assert rows[unlimited] == (None, None)
    assert kith(data, "invite", "create", "--expires", "soon").returncode == 2

    server = start_server_fn(data, "--registration", "token")
    base = server.base_url
    try:
        valid = httpx.get(base + "/_matrix/client/v1/register/m.login.registration_token/validity",
                          params={"token": token})
        assert valid.json() == {"valid": True}
        first = register_with(base, "alice", token)
        assert first.status_code == 200, first.text
        spent = register_with(base, "bob", token)
        assert spent.status_code == 401 and spent.json()["errcode"] == "M_FORBIDDEN"
        assert register_with(base, "bob", unlimited).status_code == 200
        assert register_with(base, "carol", unlimited).status_code == 200
    finally:
        assert server.stop() == 0


def test_an_expired_invite_is_refused(tmp_path: Path, start_server_fn: Any) -> None:
    data = tmp_path / "data"
    token = kith(data, "invite", "create", "--expires", "1s").stdout.strip()
    time.sleep(1.2)
    server = start_server_fn(data, "--registration", "token")
    try:
        expired = register_with(server.base_url, "alice", token)
        assert expired.status_code == 401 and expired.json()["errcode"] == "M_FORBIDDEN"
    finally:
        assert server.stop() == 0
