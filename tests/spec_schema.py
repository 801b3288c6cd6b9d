"""Test helper: check response bodies against the Matrix spec's OpenAPI files.

The spec tree is found at `<root>/shared/matrix-spec` when this repository is
checked out as `<root>/main`; otherwise the `KITH_SPEC_DIR` environment
variable names it. API files are OpenAPI 3.1 (data/api/client-server/*.yaml)
whose schemas are JSON Schema 2020-12 and `$ref` into `definitions/` and
`../../event-schemas/schema/`. The event schemas declare 2020-12 themselves.

Refs are resolved by `referencing` with one resource per file (keyed by its
`file://` URI), so relative file refs, refs with JSON-pointer fragments and
in-file `#/...` refs all work, including from files reached through other
files. OpenAPI-only keywords (`example`, `examples`, `x-*`, `format: mx-*`) are
unknown to 2020-12 and so ignored; formats are not asserted. Nothing is added:
where the spec omits `additionalProperties`, extra keys stay allowed.

Usage:
    from tests.spec_schema import validate_response
    validate_response("sync.yaml", "get", "/sync", 200, body)
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urldefrag, urljoin, urlparse

import yaml  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "api_path",
    "load_spec_file",
    "resolve_example",
    "response_examples",
    "response_schema",
    "spec_available",
    "spec_dir",
    "validate_response",
]

_MAX_ERRORS = 25


def _find_spec_dir() -> Path | None:
    beside = Path(__file__).resolve().parents[2] / "shared" / "matrix-spec"
    if beside.is_dir():
        return beside
    env = os.environ.get("KITH_SPEC_DIR")
    if env and Path(env).is_dir():
        return Path(env).resolve()
    return None


def spec_available() -> bool:
    """True when the spec tree can be found (for `pytest.mark.skipif`)."""
    return _find_spec_dir() is not None


def spec_dir() -> Path:
    """The matrix-spec checkout; raises FileNotFoundError if there is none."""
    found = _find_spec_dir()
    if found is None:
        raise FileNotFoundError(
            "matrix-spec not found beside the repository; set KITH_SPEC_DIR"
        )
    return found


def api_path(api_file: str) -> Path:
    """`sync.yaml` -> data/api/client-server/sync.yaml; a path with a slash is
    taken relative to data/api (e.g. `application-service/...`)."""
    base = spec_dir() / "data" / "api"
    return base / api_file if "/" in api_file else base / "client-server" / api_file


# --- loading ------------------------------------------------------------------


class _SpecLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML 1.2-ish reading: only true/false are booleans (so keys like `on`
    or `no` stay strings) and dates stay strings, as JSON would have them."""


_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _string_keys(node: Any) -> Any:
    # Unquoted status codes (`200:`) load as ints; JSON only has string keys.
    if isinstance(node, dict):
        return {str(k): _string_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_string_keys(v) for v in node]
    return node


@functools.lru_cache(maxsize=None)
def _load(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        if path.endswith(".json"):
            return json.load(handle)
        return _string_keys(yaml.load(handle, Loader=_SpecLoader))


def load_spec_file(path: Path | str) -> Any:
    """Parsed contents of a spec YAML/JSON file (cached; do not mutate)."""
    return _load(str(Path(path).resolve()))


def _uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise LookupError(f"refusing to fetch non-file reference {uri}")
    return unquote(parsed.path)


@functools.lru_cache(maxsize=None)
def _resource(uri: str) -> Resource[Any]:
    contents = _load(_uri_to_path(uri))
    return Resource.from_contents(contents, default_specification=DRAFT202012)


def _retrieve(uri: str) -> Resource[Any]:
    return _resource(uri)


_REGISTRY: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]


# --- locating a response schema ------------------------------------------------


def _pointer(segments: list[str]) -> str:
    escaped = (s.replace("~", "~0").replace("/", "~1") for s in segments)
    return "".join("/" + quote(s, safe="~") for s in escaped)


def _split_ref(base_uri: str, ref: str) -> tuple[str, list[str]]:
    uri, fragment = urldefrag(urljoin(base_uri, ref))
    segments = [] if not fragment else unquote(fragment).split("/")[1:]
    return uri, [s.replace("~1", "/").replace("~0", "~") for s in segments]


def _walk(uri: str, segments: list[str]) -> Any:
    node = _load(_uri_to_path(uri))
    for seg in segments:
        node = node[int(seg)] if isinstance(node, list) else node[seg]
    return node


def _deref(uri: str, segments: list[str]) -> tuple[str, list[str], Any]:
    """Follow `$ref`s at a location until reaching a non-ref node."""
    node = _walk(uri, segments)
    for _ in range(50):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return uri, segments, node
        uri, segments = _split_ref(uri, node["$ref"])
        node = _walk(uri, segments)
    raise AssertionError(f"$ref chain too long at {uri}#{_pointer(segments)}")


def _response_location(
    api_file: str, method: str, path: str, status: int | str
) -> tuple[str, list[str], dict[str, Any]]:
    file_uri = api_path(api_file).resolve().as_uri()
    doc = _load(_uri_to_path(file_uri))
    paths = doc.get("paths", {})
    if path not in paths:
        # A few spec files carry a stray space after the path key.
        path = next((key for key in paths if key.strip() == path), path)
    if path not in paths:
        raise AssertionError(f"{api_file} has no path {path!r}; it has {sorted(paths)}")
    ops = paths[path]
    if method.lower() not in ops:
        raise AssertionError(f"{api_file} {path} has no {method.upper()} operation")
    responses = ops[method.lower()].get("responses", {})
    if str(status) not in responses:
        raise AssertionError(
            f"{api_file} {method.upper()} {path} documents no {status} response; "
            f"it documents {sorted(responses)}"
        )
    segs = ["paths", path, method.lower(), "responses", str(status)]
    uri, segs, response = _deref(file_uri, segs)
    return uri, segs, response


def _schema_location(
    api_file: str, method: str, path: str, status: int | str
) -> tuple[str, list[str]] | None:
    uri, segs, response = _response_location(api_file, method, path, status)
    media = response.get("content", {}).get("application/json")
    if media is None or "schema" not in media:
        return None
    return uri, [*segs, "content", "application/json", "schema"]


# --- validation ------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _validator(api_file: str, method: str, path: str, status: str) -> Any:
    location = _schema_location(api_file, method, path, status)
    if location is None:
        return None
    uri, segs = location
    root = {"$ref": uri + "#" + _pointer(segs)}
    return Draft202012Validator(root, registry=_REGISTRY)


def _where(error: ValidationError) -> str:
    out = "$"
    for part in error.absolute_path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


def _describe(error: ValidationError, depth: int = 0) -> list[str]:
    pad = "  " * (depth + 1)
    lines = [f"{pad}- at {_where(error)}: {error.message}"]
    # For anyOf/oneOf, show why each branch failed (briefly).
    if error.context and depth < 2:
        for sub in sorted(error.context, key=lambda e: list(e.absolute_path))[:6]:
            lines.extend(_describe(sub, depth + 1))
    return lines


def validate_response(
    api_file: str, method: str, path: str, status: int | str, body: Any
) -> None:
    """Assert `body` matches the JSON schema the spec gives for this response.

    `api_file` is e.g. "sync.yaml"; `path` is the OpenAPI template such as
    "/rooms/{roomId}/messages". Raises AssertionError listing every violation
    (or naming what is missing if the path, method or status is undocumented).
    A documented response without an application/json schema accepts any body.
    """
    validator = _validator(api_file, method.lower(), path, str(status))
    if validator is None:
        return
    errors = sorted(
        validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]
    )
    if not errors:
        return
    lines = [
        f"{method.upper()} {path} {status} ({api_file}) does not match the spec: "
        f"{len(errors)} violation(s)"
    ]
    for error in errors[:_MAX_ERRORS]:
        lines.extend(_describe(error))
    if len(errors) > _MAX_ERRORS:
        lines.append(f"  ... and {len(errors) - _MAX_ERRORS} more")
    raise AssertionError("\n".join(lines))


# --- debugging and examples --------------------------------------------------


def _inline(node: Any, uri: str, seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(v, uri, seen) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        target_uri, segs = _split_ref(uri, ref)
        key = target_uri + "#" + _pointer(segs)
        if key in seen:  # a cycle: leave the ref in place
            return {"$ref": key}
        target = _inline(_walk(target_uri, segs), target_uri, (*seen, key))
        rest = {k: _inline(v, uri, seen) for k, v in node.items() if k != "$ref"}
        if not rest:
            return target
        return {"allOf": [target, rest]} if isinstance(target, dict) else target
    return {k: _inline(v, uri, seen) for k, v in node.items()}


def response_schema(
    api_file: str, method: str, path: str, status: int | str
) -> dict[str, Any] | None:
    """The response schema with every `$ref` inlined (cycles left as absolute
    refs), for reading while debugging. None when there is no JSON body."""
    location = _schema_location(api_file, method, path, status)
    if location is None:
        return None
    uri, segs = location
    inlined = _inline(_walk(uri, segs), uri, ())
    assert isinstance(inlined, dict)
    return inlined


def resolve_example(value: Any, base_dir: Path) -> Any:
    """Expand `$ref`s inside an example value the way the spec's renderer
    does: `{"$ref": "file", ...rest}` is the referenced example (itself
    expanded, relative to its own directory) with `rest` laid over it."""
    if isinstance(value, list):
        return [resolve_example(v, base_dir) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    ref = value.get("$ref")
    if isinstance(ref, str):
        target = (base_dir / ref).resolve()
        base = resolve_example(load_spec_file(target), target.parent)
        if not isinstance(base, dict):
            return base
        out.update(base)
    for key, item in value.items():
        if key != "$ref":
            out[key] = resolve_example(item, base_dir)
    return out


def response_examples(
    api_file: str, method: str, path: str, status: int | str
) -> list[Any]:
    """The example bodies the spec gives for a response (from `examples.*.value`
    and `example` on the media type), with example `$ref`s expanded."""
    uri, _segs, response = _response_location(api_file, method, path, status)
    media = response.get("content", {}).get("application/json", {})
    raw: list[Any] = [e["value"] for e in media.get("examples", {}).values() if "value" in e]
    if "example" in media:
        raw.append(media["example"])
    base_dir = Path(_uri_to_path(uri)).parent
    return [resolve_example(v, base_dir) for v in raw]
