"""Serve the web messenger built from web/ (see README: "The web messenger").

`make` builds the assets into kith/web/static/ (package data, so a wheel built
on a machine with node carries them). Everything that is not an API route and
is fetched with GET or HEAD lands here: /assets/* are the bundle, the crypto
WebAssembly and styles, named by content hash and cached for a year; / is the
single-page app's index.html, whose hash routes (/#/room/..., /#/invite/TOKEN)
the browser handles; any other path stays 404 M_UNRECOGNIZED. Every answer
carries a strict Content-Security-Policy: scripts only from this origin (plus
WebAssembly compilation for the Rust crypto), no inline scripts or styles.
"""

from __future__ import annotations

import gzip
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from kith.http.types import Request, Response

STATIC_DIR = Path(__file__).resolve().parent / "static"

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "font-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), geolocation=(), microphone=(self)"),
]

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
}

COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".wasm", ".json", ".svg", ".webmanifest", ".txt"}

NOT_BUILT_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kith</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Kith is running</h1>
<p>The web messenger has not been built. Build it once on a machine with
Node.js 20 or newer, in the Kith source folder:</p>
<pre>make web</pre>
<p>(<code>make run</code> and <code>make test</code> build it too.) Any Matrix app
(Element, FluffyChat, ...) can use this server meanwhile.</p>
</body></html>
"""

# The app's own files outside /assets/ (its routes live in the URL's #fragment).
TOP_LEVEL_FILES = frozenset({"/favicon.svg", "/favicon.ico", "/manifest.webmanifest"})

# Paths that belong to the Matrix APIs: never answered with the app.
API_PREFIXES = ("/_matrix/", "/_synapse/", "/.well-known/")


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    mtime_ns: int


class StaticAssets:
    """The fallback for KithASGI: GET/HEAD requests that match no API route."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self._root = root.resolve()
        self._cache: dict[Path, _Asset] = {}

    async def __call__(self, request: Request) -> Response | None:
        path = request.path
        if path.startswith(API_PREFIXES) or path == "/_matrix":
            return None
        if path.startswith("/assets/"):
            return self._file(request, path.removeprefix("/"), immutable=True)
        if path in TOP_LEVEL_FILES:
            return self._file(request, path.removeprefix("/"), immutable=False)
        if path not in ("/", "/index.html"):
            return None  # an unknown path stays 404 M_UNRECOGNIZED
        index = self._file(request, "index.html", immutable=False)
        if index is not None:
            return index
        return self._respond(request, NOT_BUILT_PAGE, None, MIME_TYPES[".html"], False, 200)

    def _file(self, request: Request, relative: str, immutable: bool) -> Response | None:
        asset = self._load(relative)
        if asset is None:
            return None
        return self._respond(request, asset.body, asset.gzipped, asset.content_type, immutable, 200)

    def _load(self, relative: str) -> _Asset | None:
        if not relative or "\\" in relative or "\x00" in relative:
            return None
        candidate = (self._root / relative).resolve()
        if not candidate.is_relative_to(self._root) or not candidate.is_file():
            return None
        stat = candidate.stat()
        cached = self._cache.get(candidate)
        if cached is not None and cached.mtime_ns == stat.st_mtime_ns:
            return cached
        body = candidate.read_bytes()
        suffix = candidate.suffix.lower()
        content_type = MIME_TYPES.get(suffix) or mimetypes.guess_type(candidate.name)[0] \
            or "application/octet-stream"
        gzipped = gzip.compress(body, 6) if suffix in COMPRESSIBLE and len(body) > 1024 else None
        asset = _Asset(body, gzipped, content_type, stat.st_mtime_ns)
        self._cache[candidate] = asset
        return asset

    @staticmethod
    def _respond(request: Request, body: bytes, gzipped: bytes | None, content_type: str,
                 immutable: bool, status: int) -> Response:
        headers = list(SECURITY_HEADERS)
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        headers.append((b"cache-control", cache.encode()))
        headers.append((b"vary", b"accept-encoding"))
        accepts = request.headers.get("accept-encoding", "")
        if gzipped is not None and "gzip" in accepts.lower():
            body = gzipped
            headers.append((b"content-encoding", b"gzip"))
        if request.method == "HEAD":
            body = b""
        return Response(status=status, body=body, content_type=content_type, headers=headers)
