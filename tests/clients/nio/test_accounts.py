"""Accounts, devices and profile through matrix-nio against a real `kith serve`.

Spec: client-server-api "Account registration and management", "Login",
"Device management", "Profiles".
"""

from __future__ import annotations

from nio import (
    DevicesResponse,
    LoginError,
    LoginResponse,
    LogoutResponse,
    ProfileGetAvatarResponse,
    ProfileGetDisplayNameResponse,
    ProfileGetResponse,
    ProfileSetAvatarResponse,
    ProfileSetDisplayNameResponse,
    UpdateDeviceResponse,
    WhoamiError,
    WhoamiResponse,
)

from nio_helpers import PASSWORD, Clients, change_password, errcode, expect, http_status


async def test_register_gives_a_working_access_token(clients: Clients) -> None:
    alice = await clients.register("alice")
    who = expect(await alice.whoami(), WhoamiResponse)
    assert who.user_id == alice.user_id
    assert who.device_id == alice.device_id
    assert who.is_guest is False
    assert alice.user_id.startswith("@alice-") and ":" in alice.user_id


async def test_password_login_creates_a_new_device(clients: Clients) -> None:
    alice = await clients.register("alice")
    laptop = clients.new(alice.user_id)
    login = expect(await laptop.login(PASSWORD, device_name="laptop"), LoginResponse)
    assert login.user_id == alice.user_id
    assert login.device_id != alice.device_id
    assert login.access_token != alice.access_token
    who = expect(await laptop.whoami(), WhoamiResponse)
    assert (who.user_id, who.device_id) == (alice.user_id, login.device_id)


async def test_login_by_localpart_only(clients: Clients) -> None:
    alice = await clients.register("alice")
    localpart = alice.user_id[1:].split(":", 1)[0]
    by_localpart = clients.new(localpart)
    login = expect(await by_localpart.login(PASSWORD), LoginResponse)
    assert login.user_id == alice.user_id


async def test_wrong_password_is_forbidden(clients: Clients) -> None:
    alice = await clients.register("alice")
    intruder = clients.new(alice.user_id)
    response = await intruder.login("not the password")
    assert isinstance(response, LoginError)
    assert errcode(response) == "M_FORBIDDEN"
    assert http_status(response) == 403
    assert not intruder.access_token


async def test_devices_list_and_rename(clients: Clients) -> None:
    alice = await clients.register("alice")
    phone = await clients.login(alice.user_id, device_name="phone")
    devices = expect(await alice.devices(), DevicesResponse).devices
    by_id = {d.id: d for d in devices}
    assert set(by_id) == {alice.device_id, phone.device_id}
    assert by_id[phone.device_id].display_name == "phone"

    expect(await alice.update_device(phone.device_id, {"display_name": "old phone"}), UpdateDeviceResponse)
    renamed = {d.id: d.display_name for d in expect(await phone.devices(), DevicesResponse).devices}
    assert renamed[phone.device_id] == "old phone"
    assert renamed[alice.device_id] == "alice's nio"


async def test_logout_invalidates_the_token(clients: Clients) -> None:
    alice = await clients.register("alice")
    second = await clients.login(alice.user_id)
    old_token, old_device = second.access_token, second.device_id
    expect(await second.logout(), LogoutResponse)
    assert second.access_token == ""

    stale = clients.restore(alice.user_id, old_device, old_token)
    response = await stale.whoami()
    assert isinstance(response, WhoamiError)
    assert errcode(response) == "M_UNKNOWN_TOKEN"
    assert http_status(response) == 401
    # Logging out removes the device; the other session is untouched.
    devices = expect(await alice.devices(), DevicesResponse).devices
    assert [d.id for d in devices] == [alice.device_id]
    assert expect(await alice.whoami(), WhoamiResponse).user_id == alice.user_id


async def test_password_change(clients: Clients) -> None:
    alice = await clients.register("alice")
    other = await clients.login(alice.user_id, device_name="other")
    status, body = await change_password(alice, PASSWORD, "a brand new password")
    assert (status, body) == (200, {})

    # The old password no longer works, the new one does.
    response = await clients.new(alice.user_id).login(PASSWORD)
    assert isinstance(response, LoginError) and errcode(response) == "M_FORBIDDEN"
    expect(await clients.new(alice.user_id).login("a brand new password"), LoginResponse)

    # logout_devices defaults to true: other sessions end, the requester's stays.
    assert expect(await alice.whoami(), WhoamiResponse).user_id == alice.user_id
    response = await other.whoami()
    assert isinstance(response, WhoamiError) and errcode(response) == "M_UNKNOWN_TOKEN"


async def test_password_change_needs_the_old_password(clients: Clients) -> None:
    alice = await clients.register("alice")
    status, body = await change_password(alice, "wrong old password", "whatever new")
    assert status == 401, body
    assert body.get("errcode") == "M_FORBIDDEN"
    expect(await clients.new(alice.user_id).login(PASSWORD), LoginResponse)


async def test_display_name(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    expect(await alice.set_displayname("Alice Liddell"), ProfileSetDisplayNameResponse)
    mine = expect(await alice.get_displayname(), ProfileGetDisplayNameResponse)
    assert mine.displayname == "Alice Liddell"
    # Profiles are readable by other users.
    theirs = expect(await bob.get_displayname(alice.user_id), ProfileGetDisplayNameResponse)
    assert theirs.displayname == "Alice Liddell"


async def test_avatar_url(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    avatar = "mxc://example.org/SEsfnsuifSDFSSEF"
    expect(await alice.set_avatar(avatar), ProfileSetAvatarResponse)
    assert expect(await alice.get_avatar(), ProfileGetAvatarResponse).avatar_url == avatar
    assert expect(await bob.get_avatar(alice.user_id), ProfileGetAvatarResponse).avatar_url == avatar

    expect(await alice.set_displayname("Alice"), ProfileSetDisplayNameResponse)
    profile = expect(await bob.get_profile(alice.user_id), ProfileGetResponse)
    assert (profile.displayname, profile.avatar_url) == ("Alice", avatar)
