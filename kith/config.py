"""Configuration: parsed once from kith.toml plus command-line overrides.

The first start in an empty data directory writes a commented kith.toml so that an
administrator sees every setting with its default in one place.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

Registration = Literal["closed", "token", "open"]
REGISTRATION_MODES: tuple[str, ...] = ("closed", "token", "open")
Encryption = Literal["private", "all", "off"]
ENCRYPTION_MODES: tuple[str, ...] = ("private", "all", "off")

DEFAULT_TOML = """\
# Kith configuration. Every setting shows its default; command-line flags of
# `kith serve` override what is written here.

# The name users and rooms are qualified with: @alice:SERVER_NAME.
# Choose it once: it cannot change after users exist.
server_name = "{server_name}"

# Where Kith listens for HTTP (Matrix Client-Server API and the web messenger).
listen = "{listen}"

# Public address clients use to reach this server, announced in
# /.well-known/matrix/client. Empty means http://<listen>.
public_baseurl = ""

# Who may create an account:
#   "closed" - only the administrator, with `kith user add`
#   "token"  - anyone holding a registration token (`kith invite create`)
#   "open"   - anyone who can reach the server
registration = "{registration}"

# Rate limiting of requests per user / per address.
rate_limit = {rate_limit}

# Largest request body accepted, in bytes (media uploads have their own limit).
max_request_bytes = 1048576

# Which new rooms are end-to-end encrypted from the start (m.room.encryption
# in their initial state; once on, encryption cannot be switched off):
#   "private" - private chats and direct messages
#   "all"     - every new room, public ones too
#   "off"     - none; clients may still enable it per room
encryption = "private"

# Presence (modules/presence.md): online / unavailable / offline, last active
# time and status message, shared with the users who share a room with you.
# Off: every user reads as offline and nothing is shared.
presence = false

# Messages waiting for one device to sync (room keys, verification requests):
# at most to_device_queue in all and to_device_queue_per_sender from any one
# user. Beyond a limit the oldest messages of the user with the most waiting
# are dropped, so no one user can push out the others' messages.
to_device_queue = 10000
to_device_queue_per_sender = 1000

[media]
# Largest file a user may upload, in bytes (advertised to clients as
# m.upload.size). Uploads are streamed to disk, never held in memory.
max_upload_bytes = 104857600

# Total bytes of media one user may store; 0 means no quota.
user_quota_bytes = 0

# Images that would decode to more pixels than this are never thumbnailed
# (413): a decoded image takes about 4 bytes per pixel of memory. JPEG photos
# (baseline) are decoded at a reduced scale and count at that scale.
max_thumbnail_pixels = 24000000

# Serve the deprecated unauthenticated /_matrix/media/v3/download and
# /thumbnail endpoints (old clients). Off: they answer 404 M_NOT_FOUND.
# `kith serve --legacy-media` switches them on too.
legacy = false

# URL previews (/_matrix/client/v1/media/preview_url) make the server fetch
# pages users link to; private and loopback addresses are always refused.
url_preview = false

[voip]
# TURN servers for calls (voip.yaml, GET /voip/turnServer), e.g.
# ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443?transport=tcp"].
# Credentials follow the TURN REST API convention (coturn's use-auth-secret):
# username "<expiry>:<user_id>", password base64(HMAC-SHA1(shared secret, username)).
# Empty uris or secret: no TURN server is offered.
turn_uris = []
turn_shared_secret = ""
# Lifetime of the credentials handed out, in seconds.
turn_ttl = 86400

[support]
# Published at /.well-known/matrix/support (support.yaml) when either is set:
# a help page for this server's users, and the Matrix ID to contact its
# administrator at (it may live on another server, reachable when this one
# is down). Neither set: the endpoint answers 404, "no support information".
page = ""
admin_matrix_id = ""

[log]
# One of "debug", "info", "warning", "error".
level = "info"
"""


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: Path
    server_name: str = "localhost"
    listen_host: str = "127.0.0.1"
    listen_port: int = 8008
    public_baseurl: str = ""
    registration: Registration = "closed"
    rate_limit: bool = True
    max_request_bytes: int = 1024 * 1024
    encryption: Encryption = "private"
    presence: bool = False
    to_device_queue: int = 10_000
    to_device_queue_per_sender: int = 1_000
    log_level: str = "info"
    media_max_upload_bytes: int = 100 * 1024 * 1024
    media_user_quota_bytes: int = 0  # 0: no quota
    media_max_thumbnail_pixels: int = 24_000_000
    media_legacy: bool = False
    media_url_preview: bool = False
    turn_uris: tuple[str, ...] = ()
    turn_shared_secret: str = ""
    turn_ttl: int = 86400
    support_page: str = ""
    support_admin: str = ""

    @property
    def database_path(self) -> Path:
        return self.data_dir / "kith.db"

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / "signing.key"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "kith.toml"

    @property
    def base_url(self) -> str:
        if self.public_baseurl:
            return self.public_baseurl.rstrip("/")
        return f"http://{self.listen_host}:{self.listen_port}"


class ConfigError(Exception):
    pass


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"listen must be HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def _from_toml(data_dir: Path, raw: dict[str, Any]) -> Config:
    config = Config(data_dir=data_dir)
    if "server_name" in raw:
        config = replace(config, server_name=_str(raw, "server_name"))
    if "listen" in raw:
        host, port = parse_listen(_str(raw, "listen"))
        config = replace(config, listen_host=host, listen_port=port)
    if "public_baseurl" in raw:
        config = replace(config, public_baseurl=_str(raw, "public_baseurl"))
    if "registration" in raw:
        config = with_registration(config, _str(raw, "registration"))
    if "rate_limit" in raw:
        value = raw["rate_limit"]
        if not isinstance(value, bool):
            raise ConfigError("rate_limit must be true or false")
        config = replace(config, rate_limit=value)
    if "max_request_bytes" in raw:
        size = raw["max_request_bytes"]
        if not isinstance(size, int) or size < 65536:
            raise ConfigError("max_request_bytes must be an integer of at least 65536")
        config = replace(config, max_request_bytes=size)
    if "encryption" in raw:
        mode = _str(raw, "encryption")
        if mode not in ENCRYPTION_MODES:
            raise ConfigError(f"encryption must be one of {', '.join(ENCRYPTION_MODES)}")
        config = replace(config, encryption=mode)  # type: ignore[arg-type]
    for key in ("to_device_queue", "to_device_queue_per_sender"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key} must be an integer of at least 1")
            config = replace(config, **{key: value})  # type: ignore[arg-type]
    if "presence" in raw:
        if not isinstance(raw["presence"], bool):
            raise ConfigError("presence must be true or false")
        config = replace(config, presence=raw["presence"])
    media = raw.get("media", {})
    if not isinstance(media, dict):
        raise ConfigError("[media] must be a table")
    config = _media_from_toml(config, media)
    voip = raw.get("voip", {})
    if not isinstance(voip, dict):
        raise ConfigError("[voip] must be a table")
    config = _voip_from_toml(config, voip)
    support = raw.get("support", {})
    if not isinstance(support, dict):
        raise ConfigError("[support] must be a table")
    config = _support_from_toml(config, support)
    log = raw.get("log", {})
    if isinstance(log, dict) and "level" in log:
        config = replace(config, log_level=str(log["level"]))
    return config


def _media_from_toml(config: Config, media: dict[str, Any]) -> Config:
    for key, field_name, minimum in (("max_upload_bytes", "media_max_upload_bytes", 1),
                                     ("user_quota_bytes", "media_user_quota_bytes", 0),
                                     ("max_thumbnail_pixels", "media_max_thumbnail_pixels", 1)):
        if key in media:
            value = media[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"[media] {key} must be an integer of at least {minimum}")
            config = replace(config, **{field_name: value})  # type: ignore[arg-type]
    for key, field_name in (("legacy", "media_legacy"), ("url_preview", "media_url_preview")):
        if key in media:
            if not isinstance(media[key], bool):
                raise ConfigError(f"[media] {key} must be true or false")
            config = replace(config, **{field_name: media[key]})
    return config


def _voip_from_toml(config: Config, voip: dict[str, Any]) -> Config:
    uris = voip.get("turn_uris", [])
    if not isinstance(uris, list) or not all(
            isinstance(u, str) and u.startswith(("turn:", "turns:")) for u in uris):
        raise ConfigError("[voip] turn_uris must be a list of turn: or turns: URIs")
    secret = voip.get("turn_shared_secret", "")
    if not isinstance(secret, str):
        raise ConfigError("[voip] turn_shared_secret must be a string")
    ttl = voip.get("turn_ttl", config.turn_ttl)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 60:
        raise ConfigError("[voip] turn_ttl must be an integer of at least 60")
    return replace(config, turn_uris=tuple(uris), turn_shared_secret=secret, turn_ttl=ttl)


def _support_from_toml(config: Config, support: dict[str, Any]) -> Config:
    page = support.get("page", "")
    if not isinstance(page, str) or (page and not page.startswith(("https://", "http://"))):
        raise ConfigError("[support] page must be an http(s) URL or empty")
    admin = support.get("admin_matrix_id", "")
    if not isinstance(admin, str) or (admin and not (admin.startswith("@") and ":" in admin)):
        raise ConfigError("[support] admin_matrix_id must be a Matrix user ID or empty")
    return replace(config, support_page=page, support_admin=admin)


def _str(raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string")
    return value


def with_registration(config: Config, mode: str) -> Config:
    if mode not in REGISTRATION_MODES:
        raise ConfigError(f"registration must be one of {', '.join(REGISTRATION_MODES)}")
    return replace(config, registration=mode)  # type: ignore[arg-type]


def load(data_dir: Path, defaults: Config | None = None) -> Config:
    """Read DATA_DIR/kith.toml, writing a commented one first if there is none.

    `defaults` supplies the values written into a new file (from the flags of
    the first start), so `kith serve --server-name example.org` records its name.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "kith.toml"
    if not path.exists():
        base = defaults or Config(data_dir=data_dir)
        path.write_text(
            DEFAULT_TOML.format(
                server_name=base.server_name,
                listen=f"{base.listen_host}:{base.listen_port}",
                registration=base.registration,
                rate_limit=str(base.rate_limit).lower(),
            )
        )
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return _from_toml(data_dir, raw)
