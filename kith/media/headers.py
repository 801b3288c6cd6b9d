"""Which headers media is served with: Content-Type, Content-Disposition and the
fixed security and caching headers (spec: "Serving inline content")."""

from __future__ import annotations

import re
from urllib.parse import quote

# Spec, "Serving inline content": the only types served with `inline`.
INLINE_TYPES = frozenset({
    "text/css", "text/plain", "text/csv", "application/json", "application/ld+json",
    "image/jpeg", "image/gif", "image/png", "image/apng", "image/webp", "image/avif",
    "video/mp4", "video/webm", "video/ogg", "video/quicktime",
    "audio/mp4", "audio/webm", "audio/aac", "audio/mpeg", "audio/ogg", "audio/wave",
    "audio/wav", "audio/x-wav", "audio/x-pn-wav", "audio/flac", "audio/x-flac",
})

DEFAULT_TYPE = "application/octet-stream"

# Spec: the recommended policy, for every piece of served content.
CONTENT_SECURITY_POLICY = ("sandbox; default-src 'none'; script-src 'none'; "
                           "plugin-types application/pdf; style-src 'unsafe-inline'; "
                           "object-src 'self';")

_FIXED_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-resource-policy", b"cross-origin"),
    (b"accept-ranges", b"bytes"),
]

# Content at an mxc:// URI never changes: cacheable for a year. Content served
# to an access token only privately (RFC 9111 3.5: a shared cache may reuse a
# `public` response to an authorized request for requests without any), the
# deprecated unauthenticated endpoints publicly.
PRIVATE_CACHE = b"private, max-age=31536000, immutable"
PUBLIC_CACHE = b"public, max-age=31536000, immutable"


def media_headers(authenticated: bool) -> list[tuple[bytes, bytes]]:
    """The fixed security and caching headers of served content."""
    return [*_FIXED_HEADERS, (b"cache-control", PRIVATE_CACHE if authenticated else PUBLIC_CACHE)]


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"^{_TOKEN}/{_TOKEN}$")


def essence(content_type: str) -> str:
    """'Text/Plain; charset=utf-8' -> 'text/plain'."""
    return content_type.split(";", 1)[0].strip().lower()


def clean_content_type(value: str | None) -> str | None:
    """An uploaded Content-Type as it may be stored and echoed back: a
    well-formed type/subtype with optional parameters, or None."""
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 255 or any(not 0x20 <= ord(c) < 0x7F for c in value):
        return None
    if not _MEDIA_TYPE.match(essence(value)):
        return None
    return value


def served_content_type(stored: str | None) -> str:
    return stored or DEFAULT_TYPE


def is_inline(content_type: str) -> bool:
    return essence(content_type) in INLINE_TYPES


def content_disposition(content_type: str, filename: str | None) -> str:
    """`inline` only for the spec's safe types, `attachment` otherwise, with the
    file name encoded per RFC 6266 (RFC 8187 `filename*` when not plain ASCII)."""
    disposition = "inline" if is_inline(content_type) else "attachment"
    if not filename:
        return disposition
    if all(0x20 <= ord(c) < 0x7F for c in filename):
        escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
        return f'{disposition}; filename="{escaped}"'
    return f"{disposition}; filename*=utf-8''{quote(filename, safe='')}"


# Unicode bidirectional controls (UAX #9: LRM, RLM, ALM, the embeddings and
# overrides, the isolates). In a file name they make "gpj.exe" read as
# "exe.jpg" in a client's download prompt; no honest name needs them.
_BIDI_CONTROLS = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})


def clean_filename(value: str | None) -> str | None:
    """A file name as stored or served (uploaded, or the download path's
    {fileName}): without control characters nor bidirectional controls (it
    is only ever echoed in Content-Disposition, never used as a path)."""
    if value is None:
        return None
    value = "".join(c for c in value
                    if ord(c) >= 0x20 and ord(c) != 0x7F and ord(c) not in _BIDI_CONTROLS).strip()
    return value[:255] or None
