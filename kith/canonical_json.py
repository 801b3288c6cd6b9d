"""Canonical JSON, the byte form that every hash and signature in Matrix covers.

Spec: appendices.md "Canonical JSON" -- the shortest UTF-8 encoding, object keys
sorted by Unicode code point, integers only (no fractions or exponents), within
[-(2**53)+1, (2**53)-1], and no negative zero. Room versions 6 and later (so every
version Kith supports) require events to follow these rules strictly (rooms/v10.md
"Event format": invalid JSON is a 400 M_BAD_JSON or a dropped federation event).

Two entry points, kept apart on purpose:

* `encode_canonical_json` produces the bytes. It encodes whatever it is given, the
  way the reference library does, because hashing and signature checks must run
  over exactly what a remote server sent us (and over EDUs and request bodies,
  which are not bound by the event number rules).
* `check_canonical_json_value` enforces the strict value rules. Call it on event
  content we are about to create, and on received PDUs before accepting them.
"""

from __future__ import annotations

from collections.abc import Mapping

from canonicaljson import encode_canonical_json as _library_encode

# Spec (client-server-api "Size limits"): the complete federation-format event,
# signatures included, encoded as canonical JSON, must not exceed 65536 bytes.
MAX_EVENT_BYTES = 65536

# Spec (appendices "Canonical JSON"): integers must lie in [-(2**53)+1, (2**53)-1]
# so that they survive a round trip through an IEEE double.
MAX_SAFE_INTEGER = 2**53 - 1
MIN_SAFE_INTEGER = -(2**53) + 1


class CanonicalJSONError(ValueError):
    """A value cannot be represented in strict canonical JSON.

    The message names the offending path, so that the HTTP layer can hand it to
    the client inside an M_BAD_JSON error.
    """


def encode_canonical_json(value: object) -> bytes:
    """Encode `value` as canonical JSON bytes (appendices "Canonical JSON").

    The canonicaljson library already matches the spec's reference encoder:
    compact separators, keys sorted by code point (Python compares strings by
    code point), non-ASCII written as raw UTF-8 rather than \\u escapes, and
    NaN/Infinity refused. This wrapper only exists so that the rest of Kith has a
    single import point for the encoding that hashes and signatures depend on.
    """
    return _library_encode(value)


def check_canonical_json_value(value: object) -> None:
    """Raise `CanonicalJSONError` unless `value` obeys the strict number rules.

    Spec (appendices "Canonical JSON"): "Numbers in the JSON must be integers in
    the range [-(2**53)+1, (2**53)-1]" and "Float values are not permitted by this
    encoding". Also refuses object keys that are not strings and strings holding
    lone surrogates, because neither has a UTF-8 JSON form.
    """
    _check(value, "")


def _check(value: object, path: str) -> None:
    # bool is a subclass of int in Python, so it is tested first: true/false are
    # JSON literals, not numbers, and are always allowed.
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not MIN_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalJSONError(
                f"integer at '{path or '.'}' is outside [-(2**53)+1, (2**53)-1]"
            )
        return
    if isinstance(value, float):
        raise CanonicalJSONError(f"float at '{path or '.'}' is not allowed in events")
    if isinstance(value, str):
        _check_string(value, path)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(f"non-string object key under '{path or '.'}'")
            _check_string(key, path)
            _check(item, f"{path}.{key}" if path else key)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise CanonicalJSONError(
        f"value of type {type(value).__name__} at '{path or '.'}' is not JSON"
    )


def _check_string(text: str, path: str) -> None:
    # Spec grammar (appendices "Canonical JSON"): strings are sequences of UTF-8
    # code points; a lone surrogate has no UTF-8 encoding.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalJSONError(
            f"string at '{path or '.'}' contains a lone surrogate"
        ) from None
