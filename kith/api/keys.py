"""End-to-end encryption keys: keys.yaml (/keys/upload, /keys/query,
/keys/claim, /keys/changes) and cross_signing.yaml (/keys/device_signing/upload,
/keys/signatures/upload). The server stores public keys and hands them out;
it never sees a private key."""

from __future__ import annotations

from typing import Any

from kith.api.account import LOGIN_PASSWORD, password_check
from kith.auth.service import AccountService
from kith.auth.uia import UserInteractiveAuth
from kith.e2ee.claim import parse_claim_request
from kith.e2ee.cross_signing import (
    check_new_signatures, error_json, key_id, needs_uia, parse_device_signing_upload, public_key,
)
from kith.e2ee.service import E2EE
from kith.e2ee.validation import ED25519, check_device_keys, check_one_time_keys
from kith.errors import MatrixError, bad_json, not_found
from kith.http.types import Request, Route
from kith.ids import parse_user_id
from kith.store.e2ee_cross_signing import Signature
from kith.sync.tokens import parse_position

Json = dict[str, Any]


def _local(user_id: str, server_name: str) -> bool:
    try:
        return parse_user_id(user_id)[1] == server_name
    except ValueError:
        return False


def _merge(obj: Json, signatures: list[Signature], owner: str, viewer: str) -> Json:
    """Add stored signatures to a key object. Spec (cross-signing): a user sees
    the owner's signatures and their own, not third parties' signatures."""
    out = dict(obj)
    merged: dict[str, dict[str, str]] = {
        user: dict(sigs) for user, sigs in (obj.get("signatures") or {}).items()}
    for sig in signatures:
        if sig.signer_user in (owner, viewer):
            merged.setdefault(sig.signer_user, {})[sig.signer_key_id] = sig.signature
    if merged:
        out["signatures"] = merged
    return out


def routes(e2ee: E2EE, accounts: AccountService, uia: UserInteractiveAuth) -> list[Route]:
    keys, cross, lists = e2ee.keys, e2ee.cross_signing, e2ee.device_lists
    server_name = accounts.server_name

    async def upload(request: Request) -> Json:
        """POST /_matrix/client/v3/keys/upload"""
        user = request.user
        body = request.json_object(allow_empty=True)
        device_keys = body.get("device_keys")
        checked = None
        if device_keys is not None:
            checked = check_device_keys(device_keys, user.user_id, user.device_id)
            ed25519 = checked["keys"][f"{ED25519}:{user.device_id}"]
        else:
            stored = await keys.device_keys(user.user_id, user.device_id)
            ed25519 = stored["keys"].get(f"{ED25519}:{user.device_id}") if stored else None
        one_time = check_one_time_keys(body.get("one_time_keys") or {}, user.user_id,
                                       user.device_id, ed25519, fallback=False)
        fallback = check_one_time_keys(body.get("fallback_keys") or {}, user.user_id,
                                       user.device_id, ed25519, fallback=True)
        if await keys.upload(user.user_id, user.device_id, checked, one_time, fallback):
            await lists.wake_for(user.user_id)
        counts = await keys.one_time_key_counts(user.user_id, user.device_id)
        return {"one_time_key_counts": {"signed_curve25519": 0, **counts}}

    async def query(request: Request) -> Json:
        """POST /_matrix/client/v3/keys/query"""
        viewer = request.user.user_id
        body = request.json_object()
        wanted = body.get("device_keys")
        if not isinstance(wanted, dict) or not all(
                isinstance(v, list) and all(isinstance(d, str) for d in v)
                for v in wanted.values()):
            raise bad_json("device_keys must map user IDs to lists of device IDs")
        local = {u: list(d) for u, d in wanted.items() if _local(u, server_name)}
        found = await keys.query(local)
        result: Json = {"device_keys": {}, "master_keys": {}, "self_signing_keys": {},
                        "user_signing_keys": {}, "failures": {}}
        for user_id, devices in found.items():
            sigs = await cross.signatures_on(user_id, devices)
            result["device_keys"][user_id] = {
                d: _merge(obj, sigs.get(d, []), user_id, viewer) for d, obj in devices.items()}
            stored = await cross.keys(user_id)
            for usage, section in (("master", "master_keys"), ("self_signing", "self_signing_keys"),
                                   ("user_signing", "user_signing_keys")):
                if usage not in stored or (usage == "user_signing" and user_id != viewer):
                    continue
                public = public_key(stored[usage])
                on_key = (await cross.signatures_on(user_id, [public])).get(public, [])
                result[section][user_id] = _merge(stored[usage], on_key, user_id, viewer)
        return result

    async def claim(request: Request) -> Json:
        """POST /_matrix/client/v3/keys/claim"""
        body = request.json_object()
        timeout = body.get("timeout", 0)  # keys.yaml: an integer; no remote servers to wait on
        if not isinstance(timeout, int) or isinstance(timeout, bool):
            raise bad_json("timeout must be an integer")
        try:
            wanted = parse_claim_request(body.get("one_time_keys"))
        except ValueError as err:
            raise bad_json(str(err)) from None
        claimed = await keys.claim([w for w in wanted if _local(w[0], server_name)])
        return {"one_time_keys": claimed, "failures": {}}

    async def changes(request: Request) -> Json:
        """GET /_matrix/client/v3/keys/changes"""
        since = parse_position(request.require_arg("from"))
        upto = min(parse_position(request.require_arg("to")), e2ee.current_position())
        delta = await lists.delta(request.user.user_id, since, max(since, upto))
        return {"changed": sorted(delta.changed), "left": sorted(delta.left)}

    async def device_signing_upload(request: Request) -> Json:
        """POST /_matrix/client/v3/keys/device_signing/upload"""
        user = request.user
        body = request.json_object()
        existing = await cross.keys(user.user_id)
        device_ids = {d.device_id for d in await accounts.store.get_devices(user.user_id)}
        upload_keys = parse_device_signing_upload(body, user.user_id, existing, device_ids)
        if needs_uia(upload_keys, existing):
            await uia.authenticate(
                body, [[LOGIN_PASSWORD]], {LOGIN_PASSWORD: password_check(accounts, user.user_id)},
                binding=f"device_signing:{user.user_id}")
        elif all(existing.get(usage) == key for usage, (_, key) in upload_keys.items()):
            return {}  # the same keys again: nothing changes
        await cross.set_keys(user.user_id, upload_keys)
        await lists.wake_for(user.user_id)
        return {}

    async def signatures_upload(request: Request) -> Json:
        """POST /_matrix/client/v3/keys/signatures/upload"""
        signer = request.user.user_id
        body = request.json_object()
        mine = await cross.keys(signer)
        failures: dict[str, dict[str, Json]] = {}
        accepted: list[Signature] = []
        changes: list[tuple[str, str | None]] = []
        # cross_signing.yaml: user ID -> key ID -> signed object. The shape of
        # the whole request is checked before anything is looked up or stored.
        for targets in body.values():
            if not isinstance(targets, dict) or not all(
                    isinstance(obj, dict) for obj in targets.values()):
                raise bad_json("Each user must map key IDs to signed objects")
        for target_user, targets in body.items():
            for target_key, submitted in targets.items():
                try:
                    stored, allowed, viewer = await _target(target_user, target_key, signer, mine)
                    new = check_new_signatures(signer, submitted, stored, allowed)
                except MatrixError as err:
                    failures.setdefault(target_user, {})[target_key] = error_json(err)
                    continue
                accepted += [Signature(target_user, target_key, signer, k, s) for k, s in new.items()]
                changes.append((target_user, viewer))
        await cross.add_signatures(accepted, changes)
        for target_user, viewer in dict.fromkeys(changes):
            if viewer is None:
                await lists.wake_for(target_user)
            else:
                e2ee.notifier.wake([viewer])
        return {"failures": failures}

    async def _target(target_user: str, target_key: str, signer: str, mine: dict[str, Json]
                      ) -> tuple[Json, dict[str, str], str | None]:
        """The stored key being signed, the signer's keys allowed to sign it, and
        who sees the change (None: everyone sharing a room with the owner)."""
        theirs = await cross.keys(target_user) if target_user != signer else mine
        master = theirs.get("master")
        if target_user == signer:
            device = await keys.device_keys(signer, target_key)
            if device is not None and "self_signing" in mine:
                public = public_key(mine["self_signing"])
                return device, {key_id(public): public}, None
            if master is not None and public_key(master) == target_key:
                own: dict[str, str] = {}
                for device_obj in (await keys.query({signer: []})).get(signer, {}).values():
                    for kid, value in device_obj["keys"].items():
                        if kid.startswith(f"{ED25519}:"):
                            own[kid] = value
                return master, own, None
        elif master is not None and public_key(master) == target_key and "user_signing" in mine:
            public = public_key(mine["user_signing"])
            return master, {key_id(public): public}, signer
        raise not_found("Unknown key, or not one you may sign")

    return [
        Route("POST", "/_matrix/client/v3/keys/upload", upload),
        Route("POST", "/_matrix/client/v3/keys/query", query),
        Route("POST", "/_matrix/client/v3/keys/claim", claim),
        Route("GET", "/_matrix/client/v3/keys/changes", changes),
        Route("POST", "/_matrix/client/v3/keys/device_signing/upload", device_signing_upload),
        Route("POST", "/_matrix/client/v3/keys/signatures/upload", signatures_upload),
    ]
