"""Media endpoints: authed-content-repo.yaml and content-repo.yaml.

Uploads stream to disk (routes with stream_body), downloads stream from disk
with single byte ranges (206/416). Every piece of content is served with the
spec's Content-Security-Policy, nosniff, a Content-Disposition that is
`inline` only for the spec's safe types, and long-lived caching (content at
an mxc:// URI never changes): private on the authenticated endpoints, public
on the deprecated unauthenticated ones.

The deprecated unauthenticated downloads under /_matrix/media/v3 answer
404 M_NOT_FOUND unless `[media] legacy` is on (the spec's "freeze"); URL
previews answer 404 M_UNRECOGNIZED unless `[media] url_preview` is on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kith.errors import MatrixError, forbidden, invalid_param, limit_exceeded, not_found, unrecognized
from kith.http.types import Auth, Handler, Request, Response, Route, json_response
from kith.media import headers
from kith.media.ranges import UNSATISFIABLE, ByteRange, parse_range
from kith.media.service import MediaService
from kith.media.sizing import METHODS, Method
from kith.store.media import MediaRecord

if TYPE_CHECKING:
    from kith.media.previewer import Previewer

CLIENT_V1 = "/_matrix/client/v1/media"
MEDIA_V3 = "/_matrix/media/v3"

_THUMBNAIL_NAMES = {"image/png": "thumbnail.png", "image/jpeg": "thumbnail.jpg",
                    "image/webp": "thumbnail.webp", "image/gif": "thumbnail.gif"}


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _timeout_ms(request: Request) -> int | None:
    return request.int_arg("timeout_ms", None)


async def _no_body() -> AsyncIterator[bytes]:
    nothing: tuple[bytes, ...] = ()
    for chunk in nothing:
        yield chunk


async def _chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _body(request: Request, service: MediaService, path: Path, start: int,
          length: int) -> AsyncIterator[bytes]:
    """The content to send; none for HEAD (RFC 9110 9.3.2: the same header
    fields as GET, Content-Length included, and no content)."""
    if request.method == "HEAD":
        return _no_body()
    return service.storage.read(path, start, length)


def _file_response(request: Request, service: MediaService, record: MediaRecord,
                   filename: str | None, authenticated: bool) -> Response:
    assert record.size is not None
    size = record.size
    content_type = headers.served_content_type(record.content_type)
    extra = [(b"content-disposition", headers.content_disposition(content_type, filename).encode()),
             *headers.media_headers(authenticated)]
    wanted = parse_range(request.headers.get("range"), size)
    if wanted is UNSATISFIABLE:
        error = MatrixError(416, "M_UNKNOWN", "Requested range not satisfiable")
        response = json_response(error.to_json(), 416)
        response.headers.append((b"content-range", f"bytes */{size}".encode()))
        return response
    path = service.path(record)
    if isinstance(wanted, ByteRange):
        extra.append((b"content-range", wanted.content_range(size).encode()))
        return Response(status=206, content_type=content_type, headers=extra,
                        stream=_body(request, service, path, wanted.start, wanted.length),
                        length=wanted.length)
    return Response(status=200, content_type=content_type, headers=extra,
                    stream=_body(request, service, path, 0, size), length=size)


def routes(service: MediaService, *, legacy: bool, url_preview: bool) -> list[Route]:
    upload_limit = service.max_upload_bytes

    async def upload(request: Request) -> dict[str, Any]:
        """POST /_matrix/media/v3/upload"""
        assert request.stream is not None
        uri = await service.upload(
            request.user.user_id, request.stream,
            headers.clean_content_type(request.headers.get("content-type")),
            headers.clean_filename(request.arg("filename")), _declared_length(request))
        return {"content_uri": uri}

    async def create(request: Request) -> dict[str, Any]:
        """POST /_matrix/media/v1/create"""
        uri, expires = await service.create(request.user.user_id)
        return {"content_uri": uri, "unused_expires_at": expires}

    async def upload_to(request: Request) -> dict[str, Any]:
        """PUT /_matrix/media/v3/upload/{serverName}/{mediaId}"""
        assert request.stream is not None
        await service.upload_to(
            request.user.user_id, request.path_params["serverName"], request.path_params["mediaId"],
            request.stream, headers.clean_content_type(request.headers.get("content-type")),
            headers.clean_filename(request.arg("filename")), _declared_length(request))
        return {}

    async def config(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v1/media/config"""
        return {"m.upload.size": upload_limit}

    async def serve_download(request: Request, authenticated: bool) -> Response:
        params = request.path_params
        record = await service.find(params["serverName"], params["mediaId"], _timeout_ms(request))
        # The {fileName} of the path is echoed like an uploaded name: cleaned the same way.
        filename = headers.clean_filename(params.get("fileName")) or record.filename
        return _file_response(request, service, record, filename, authenticated)

    async def serve_thumbnail(request: Request, authenticated: bool) -> Response:
        width = _dimension(request, "width")
        height = _dimension(request, "height")
        method = request.arg("method") or "scale"
        if method not in METHODS:
            raise invalid_param("method must be crop or scale")
        animated = _bool_arg(request, "animated")
        params = request.path_params
        record = await service.find(params["serverName"], params["mediaId"], _timeout_ms(request))
        method_: Method = "crop" if method == "crop" else "scale"
        made = await service.thumbnail(record, width, height, method_, animated)
        # The same rule as downloads: `inline` only for the spec's safe types
        # (a thumbnail that is the original content unchanged has its type).
        name = _THUMBNAIL_NAMES.get(made.content_type, "thumbnail")
        disposition = headers.content_disposition(made.content_type, name)
        extra = [(b"content-disposition", disposition.encode()), *headers.media_headers(authenticated)]
        if made.path is None:  # made but not cached: served from memory
            assert made.data is not None
            return Response(status=200, content_type=made.content_type, headers=extra,
                            stream=_no_body() if request.method == "HEAD" else _chunk(made.data),
                            length=made.size)
        return Response(status=200, content_type=made.content_type, headers=extra,
                        stream=_body(request, service, made.path, 0, made.size), length=made.size)

    async def download(request: Request) -> Response:
        """GET /_matrix/client/v1/media/download/{serverName}/{mediaId}[/{fileName}]"""
        return await serve_download(request, authenticated=True)

    async def thumbnail(request: Request) -> Response:
        """GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}"""
        return await serve_thumbnail(request, authenticated=True)

    previewers: list[Previewer] = []  # the one Previewer, made on first use

    async def preview_url(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v1/media/preview_url"""
        if not url_preview:
            raise unrecognized(404, "URL previews are disabled on this server")
        url = request.require_arg("url")
        # Imported on first use: the HTTP client stack is not needed to start.
        from kith.media import preview as preview_mod
        from kith.media import previewer as previewer_mod

        if not previewers:
            previewers.append(previewer_mod.Previewer())
        try:
            return await previewers[0].preview(request.user.user_id, url)
        except previewer_mod.PreviewBusy:
            # Spec: 429 for this endpoint; the previews under way end within TIMEOUT_S.
            raise limit_exceeded(int(preview_mod.TIMEOUT_S * 1000)) from None
        except preview_mod.PreviewRefused as exc:
            raise forbidden(f"Cannot preview this URL: {exc}") from None
        except preview_mod.PreviewFailed as exc:
            raise MatrixError(502, "M_UNKNOWN", f"Could not fetch the URL: {exc}") from None

    async def legacy_download(request: Request) -> Response:
        """GET /_matrix/media/v3/download/... (deprecated, unauthenticated)"""
        if not legacy:
            raise not_found("Unauthenticated media is disabled; use /_matrix/client/v1/media")
        return await serve_download(request, authenticated=False)

    async def legacy_thumbnail(request: Request) -> Response:
        """GET /_matrix/media/v3/thumbnail/... (deprecated, unauthenticated)"""
        if not legacy:
            raise not_found("Unauthenticated media is disabled; use /_matrix/client/v1/media")
        return await serve_thumbnail(request, authenticated=False)

    return [
        Route("POST", f"{MEDIA_V3}/upload", upload, rate_limited=True, stream_body=True,
              max_body=upload_limit),
        Route("PUT", f"{MEDIA_V3}/upload/{{serverName}}/{{mediaId}}", upload_to, rate_limited=True,
              stream_body=True, max_body=upload_limit),
        Route("POST", "/_matrix/media/v1/create", create, rate_limited=True),
        Route("GET", f"{CLIENT_V1}/config", config),
        Route("GET", f"{MEDIA_V3}/config", config),
        *_get_and_head(f"{CLIENT_V1}/download/{{serverName}}/{{mediaId}}", download),
        *_get_and_head(f"{CLIENT_V1}/download/{{serverName}}/{{mediaId}}/{{fileName}}", download),
        *_get_and_head(f"{CLIENT_V1}/thumbnail/{{serverName}}/{{mediaId}}", thumbnail),
        Route("GET", f"{CLIENT_V1}/preview_url", preview_url, rate_limited=True),
        Route("GET", f"{MEDIA_V3}/preview_url", preview_url, rate_limited=True),
        *_get_and_head(f"{MEDIA_V3}/download/{{serverName}}/{{mediaId}}", legacy_download,
                       auth="none"),
        *_get_and_head(f"{MEDIA_V3}/download/{{serverName}}/{{mediaId}}/{{fileName}}",
                       legacy_download, auth="none"),
        *_get_and_head(f"{MEDIA_V3}/thumbnail/{{serverName}}/{{mediaId}}", legacy_thumbnail,
                       auth="none"),
    ]


def _get_and_head(path: str, handler: Handler, auth: Auth = "required") -> list[Route]:
    """RFC 9110 9.1: a server that answers GET answers HEAD too; the handler
    gives the same status and headers and, for HEAD, no content (_body)."""
    return [Route("GET", path, handler, auth=auth), Route("HEAD", path, handler, auth=auth)]


def _dimension(request: Request, name: str) -> int:
    value = request.int_arg(name, None, minimum=1)
    if value is None:
        raise MatrixError(400, "M_MISSING_PARAM", f"Missing query parameter {name}")
    return value


def _bool_arg(request: Request, name: str) -> bool:
    value = request.arg(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise invalid_param(f"{name} must be true or false")
