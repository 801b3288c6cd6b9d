"""URL previews (spec: GET /_matrix/client/v1/media/preview_url), off by default.

The server fetches a page a user links to, so it must not become a way into
the private network behind it: every address a host name resolves to is
checked (loopback, private, link-local, reserved, multicast ... are refused),
the connection goes to an address that passed the check (no second lookup),
and each redirect is checked the same way before it is followed.

Nor may a slow site hold the server: a whole preview (every redirect, every
lookup, connection, TLS handshake and read) has one deadline, TIMEOUT_S,
checked before each read from the socket, so a site that sends a byte now
and then is cut off like one that sends nothing. Which threads fetch, and
how many previews run at once, is kith.media.previewer's business.
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import io
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_BYTES = 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT_S = 10.0  # for a whole preview, redirects included
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class PreviewRefused(Exception):
    """The URL points at an address the server must not contact."""


class PreviewFailed(Exception):
    """The page could not be fetched or read."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent


def parse_target(url: str) -> Target:
    """Only absolute http(s) URLs without credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise PreviewRefused(f"bad URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PreviewRefused("only http and https URLs can be previewed")
    if parts.username is not None or parts.password is not None:
        raise PreviewRefused("URLs with credentials are not previewed")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


def is_forbidden(address: IPAddress) -> bool:
    """True for every address that is not plainly on the public internet."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_forbidden(mapped)
        if address in _NAT64:
            return is_forbidden(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return (not address.is_global or address.is_multicast or address.is_loopback
            or address.is_private or address.is_link_local or address.is_reserved
            or address.is_unspecified)


def resolver_on(executor: Executor | None) -> Resolver:
    """The system's resolver (getaddrinfo, which blocks) run on `executor`
    (None: asyncio's default one)."""

    async def resolve(host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        lookup = functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = await loop.run_in_executor(executor, lookup)
        except socket.gaierror as exc:
            raise PreviewFailed(f"cannot resolve {host}: {exc}") from None
        return [str(info[4][0]) for info in infos]

    return resolve


system_resolver = resolver_on(None)


async def safe_addresses(host: str, port: int, resolve: Resolver) -> list[str]:
    """The host's addresses, if every one of them is allowed."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    addresses = [str(literal)] if literal is not None else await resolve(host, port)
    if not addresses:
        raise PreviewFailed(f"{host} has no addresses")
    for text in addresses:
        if is_forbidden(ipaddress.ip_address(text.split("%", 1)[0])):
            raise PreviewRefused(f"{host} resolves to a forbidden address")
    return addresses


async def preview(url: str, resolve: Resolver = system_resolver,
                  executor: Executor | None = None) -> dict[str, Any]:
    """OpenGraph data for `url`: og:* properties and, failing og:title, <title>.
    Pages are fetched on `executor` (None: asyncio's default one)."""
    deadline = time.monotonic() + TIMEOUT_S
    loop = asyncio.get_running_loop()
    for _ in range(MAX_REDIRECTS + 1):
        target = parse_target(url)
        try:
            addresses = await asyncio.wait_for(safe_addresses(target.host, target.port, resolve),
                                               max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise PreviewFailed(f"cannot resolve {target.host} in time") from None
        status, location, body = await loop.run_in_executor(
            executor, _fetch, target, addresses[0], deadline)
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        if status != 200:
            raise PreviewFailed(f"{url} answered {status}")
        return _opengraph(body)
    raise PreviewFailed("too many redirects")


def _fetch(target: Target, address: str, deadline: float) -> tuple[int, str | None, bytes]:
    """Blocking: one GET, given up at `deadline` (time.monotonic())."""
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPS(target.host, address, target.port, deadline)
    else:
        connection = _PinnedHTTP(target.host, address, target.port, deadline)
    response: http.client.HTTPResponse | None = None
    try:
        connection.request("GET", target.path, headers={
            "User-Agent": "Kith URL preview", "Accept": "text/html"})
        response = connection.getresponse()
        content_type = response.getheader("content-type", "")
        body = b""
        if response.status == 200 and "html" in content_type.lower():
            body = response.read(MAX_BYTES)
        return response.status, response.getheader("location"), body
    except (OSError, http.client.HTTPException) as exc:
        raise PreviewFailed(str(exc)) from None
    finally:
        if response is not None:
            response.close()  # it may hold the connection (http.client passes it on)
        connection.close()


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the page took too long")
    return left


class _DeadlineSocket:
    """A connected socket as http.client uses it (sendall, makefile, close),
    whose every operation is given only the time left until the deadline: a
    socket timeout alone bounds one read, not how many reads there are.
    As with socket.makefile(), the socket stays open while a reader made by
    makefile() is (http.client closes the connection before it reads a
    body that ends with it)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._readers = 0
        self._closed = False

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(_remaining(self._deadline))
        self._sock.sendall(data)

    def recv_into(self, buffer: memoryview) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def reader_closed(self) -> None:
        self._readers -= 1
        if self._closed and not self._readers:
            self._sock.close()

    def close(self) -> None:
        self._closed = True
        if not self._readers:
            self._sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(memoryview(buffer).cast("B"))

    def close(self) -> None:
        if not self.closed:
            self._sock.reader_closed()
        super().close()


def _connect(address: str, port: int, deadline: float) -> socket.socket:
    return socket.create_connection((address, port), _remaining(deadline))


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, deadline: float) -> None:
        super().__init__(host, port)
        self._address = address
        self._deadline = deadline

    def connect(self) -> None:
        raw = _connect(self._address, self.port, self._deadline)
        self.sock = _DeadlineSocket(raw, self._deadline)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, deadline: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, context=self._tls)
        self._address = address
        self._deadline = deadline

    def connect(self) -> None:
        raw = _connect(self._address, self.port, self._deadline)
        try:
            # The handshake as a whole is bounded by the socket's timeout (the
            # ssl module counts it down over the handshake's reads and writes).
            raw.settimeout(_remaining(self._deadline))
            tls = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise
        self.sock = _DeadlineSocket(tls, self._deadline)


class _OpenGraph(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.properties: dict[str, str] = {}
        self.title: str | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values = dict(attrs)
            key = values.get("property") or values.get("name")
            content = values.get("content")
            if key and content is not None and key.startswith("og:") and len(self.properties) < 50:
                self.properties.setdefault(key, content[:1000])
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and self.title is None:
            self.title = data.strip()[:1000]


def _opengraph(body: bytes) -> dict[str, Any]:
    parser = _OpenGraph()
    parser.feed(body.decode("utf-8", "replace"))
    result: dict[str, Any] = dict(parser.properties)
    # og:image must be an mxc:// URI; Kith does not fetch images, so omits it.
    for key in [k for k in result if k.startswith("og:image")]:
        del result[key]
    if "og:title" not in result and parser.title:
        result["og:title"] = parser.title
    return result
