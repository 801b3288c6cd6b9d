"""Known-answer tests for canonical JSON (spec appendices "Canonical JSON")."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from kith.canonical_json import (
    MAX_EVENT_BYTES,
    CanonicalJSONError,
    check_canonical_json_value,
    encode_canonical_json,
)


def _parse_spec_json(text: str) -> object:
    """Parse JSON text as the spec reads numbers: `1e10` denotes the integer
    10000000000, and `-0` denotes 0. Python's json would make 1e10 a float."""

    def parse_number(literal: str) -> int:
        number = Decimal(literal)
        assert number == number.to_integral_value(), "spec examples only use integers"
        return int(number)

    return json.loads(text, parse_float=parse_number)


# (input JSON text, expected canonical bytes) -- the appendix "Examples" verbatim.
SPEC_EXAMPLES: list[tuple[str, bytes]] = [
    ("{}", b"{}"),
    ('{\n    "one": 1,\n    "two": "Two"\n}', b'{"one":1,"two":"Two"}'),
    ('{\n    "b": "2",\n    "a": "1"\n}', b'{"a":"1","b":"2"}'),
    ('{"b":"2","a":"1"}', b'{"a":"1","b":"2"}'),
    (
        """{
            "auth": {
                "success": true,
                "mxid": "@john.doe:example.com",
                "profile": {
                    "display_name": "John Doe",
                    "three_pids": [
                        {"medium": "email", "address": "john.doe@example.org"},
                        {"medium": "msisdn", "address": "123456789"}
                    ]
                }
            }
        }""",
        b'{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
        b'"three_pids":[{"address":"john.doe@example.org","medium":"email"},'
        b'{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ),
    ('{\n    "a": "日本語"\n}', '{"a":"日本語"}'.encode()),
    ('{\n    "本": 2,\n    "日": 1\n}', '{"日":1,"本":2}'.encode()),
    ('{\n    "a": "\\u65E5"\n}', '{"a":"日"}'.encode()),
    ('{\n    "a": null\n}', b'{"a":null}'),
    ('{\n    "a": -0,\n    "b": 1e10\n}', b'{"a":0,"b":10000000000}'),
]


@pytest.mark.parametrize(("text", "expected"), SPEC_EXAMPLES)
def test_spec_examples(text: str, expected: bytes) -> None:
    value = _parse_spec_json(text)
    assert encode_canonical_json(value) == expected
    check_canonical_json_value(value)


def test_keys_sort_by_code_point_not_utf16() -> None:
    # U+FFFF < U+10000 by code point, but in UTF-16 the astral character's
    # leading surrogate (0xD800) sorts before 0xFFFF. The spec says code point.
    value = {"\U00010000": 2, "\uffff": 1, "é": 0, "B": 3, "a": 4}
    assert encode_canonical_json(value) == '{"B":3,"a":4,"é":0,"\uffff":1,"\U00010000":2}'.encode()


def test_string_escapes_follow_grammar() -> None:
    # Grammar: short escapes for \b \t \n \f \r \" \\, \u00XX (lowercase hex) for
    # other ASCII controls; everything else, including "/", DEL and U+2028, raw.
    value = "\x00\x08\t\n\x0b\x0c\r\x1f\"\\/\x7f\u2028é"
    expected = '"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\\"\\\\/\x7f\u2028é"'.encode()
    assert encode_canonical_json(value) == expected


def test_non_finite_numbers_refused() -> None:
    with pytest.raises(ValueError):
        encode_canonical_json({"a": float("nan")})


def test_max_event_bytes() -> None:
    assert MAX_EVENT_BYTES == 65536


@pytest.mark.parametrize(
    "value",
    [
        2**53 - 1,
        -(2**53) + 1,
        0,
        True,
        False,
        None,
        "",
        [1, [2, {"x": None}]],
        {"deep": {"er": [True, -5]}},
    ],
)
def test_strict_check_accepts(value: object) -> None:
    check_canonical_json_value(value)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (2**53, "."),
        (-(2**53), "."),
        (1.0, "."),
        ({"a": {"b": [0, 0.5]}}, "a.b[1]"),
        ({"n": 10**20}, "n"),
        ({1: "x"}, "."),
        ({"s": "\ud800"}, "s"),
        ({"k\udfff": 1}, "."),
        ({"set": {1, 2}}, "set"),
    ],
)
def test_strict_check_rejects(value: object, path: str) -> None:
    with pytest.raises(CanonicalJSONError) as info:
        check_canonical_json_value(value)
    assert f"'{path}'" in str(info.value)
