"""Glob matching, word boundaries and dot-separated property paths.

Spec: appendices.md "Glob-style matching" and "Dot-separated property paths";
push.md "Conditions" (`event_match`, including its worked examples).
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kith.push.matching import (
    MISSING,
    glob_matches,
    glob_matches_words,
    literal_matches_words,
    lookup_property,
    split_property_path,
)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        # push.md: `lunc?*` against `content.topic`.
        ("lunc?*", "Lunch plans", True),
        ("lunc?*", "LUNCH", True),
        ("lunc?*", " lunch", False),
        ("lunc?*", "lunc", False),
        ("*", "", True),
        ("?", "", False),
        ("a.b", "a.b", True),
        ("a.b", "axb", False),  # regex metacharacters are literal
        ("[ab]", "a", False),
        ("[ab]", "[AB]", True),
        ("m.room.*", "m.room.message", True),
        ("m.room.*", "xm.room.message", False),  # whole value only
        ("a*", "a\nb", True),  # `*` spans newlines
    ],
)
def test_glob_whole_value(pattern: str, value: str, expected: bool) -> None:
    assert glob_matches(pattern, value) is expected


@pytest.mark.parametrize(
    ("pattern", "body", "expected"),
    [
        # push.md: `ex*ple` against `content.body`.
        ("ex*ple", "An example event.", True),
        ("ex*ple", "exple", True),
        ("ex*ple", "An exciting triple-whammy", True),
        ("ex*ple", "Anexample", False),
        ("ex*ple", "examples", False),
        ("cake", "I like CAKE!", True),
        ("cake", "cupcake", False),
        ("cake", "cake_shop", False),  # `_` is a word character
        ("cake", "café cake", True),
        ("@room", "hey @room", True),
        ("@room", "hey@room", True),  # the match starts with a boundary char
        ("@room", "@roomy", False),
        ("", "", True),
        ("*", "", True),
    ],
)
def test_glob_word_bounded(pattern: str, body: str, expected: bool) -> None:
    assert glob_matches_words(pattern, body) is expected


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("Alice", "hi alice!", True),
        ("Alice", "malice", False),
        ("Al*ce", "Alice", False),  # display names are literal, not globs
        ("Al*ce", "ping Al*ce", True),
        ("Dr. Who", "ask dr. who now", True),
    ],
)
def test_literal_word_bounded(name: str, body: str, expected: bool) -> None:
    assert literal_matches_words(name, body) is expected


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("content.body", ["content", "body"]),
        ("content.m\\.relates_to", ["content", "m.relates_to"]),
        ("content.m\\\\foo", ["content", "m\\foo"]),
        ("content.m\\xfoo", ["content", "m\\xfoo"]),  # other escapes kept as-is
        ("type", ["type"]),
        ("a..b", ["a", "", "b"]),
        ("trailing\\", ["trailing\\"]),
    ],
)
def test_split_property_path(path: str, names: list[str]) -> None:
    assert split_property_path(path) == names


def test_lookup_property() -> None:
    event = {"content": {"m.mentions": {"room": True}, "list": [{"a": 1}], "n": None}}
    assert lookup_property(event, "content.m\\.mentions.room") is True
    assert lookup_property(event, "content.n") is None
    assert lookup_property(event, "content.m.mentions") is MISSING
    assert lookup_property(event, "content.list.0") is MISSING  # arrays not indexed
    assert lookup_property(event, "content.nope") is MISSING


# --- properties -------------------------------------------------------------

# ASCII plus characters whose case-insensitive matching under `re.IGNORECASE`
# agrees with per-character `casefold()` (sigma forms, sharp s, Kelvin sign).
_ALPHABET = st.sampled_from("abAB.*?\\[]$^ \n-_0σςΣßẞ\u212a")
# The boundary classes are ASCII sets (push.md) and must not case-fold, or the
# Kelvin sign would count as the word character `k`.
_WORD = "(?-i:[A-Za-z0-9_])"
_NON_WORD = "(?-i:[^A-Za-z0-9_])"


def _regex_source(pattern: str) -> str:
    """The reference translation: `*` -> `.*`, `?` -> `.`, the rest literal."""
    return "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )


def _regex_reference(pattern: str, value: str) -> bool:
    return re.fullmatch(_regex_source(pattern), value, re.IGNORECASE | re.DOTALL) is not None


def _regex_reference_words(pattern: str, body: str) -> bool:
    # Start: at the start/after a non-word char, or on a non-word char.
    # End: at the end/before a non-word char, or after a non-word char.
    source = (
        f"(?:(?<!{_WORD})|(?={_NON_WORD}))"
        + _regex_source(pattern)
        + f"(?:(?!{_WORD})|(?<={_NON_WORD}))"
    )
    return re.search(source, body, re.IGNORECASE | re.DOTALL) is not None


@given(st.text(_ALPHABET, max_size=8), st.text(_ALPHABET, max_size=10))
def test_glob_equals_regex_reference(pattern: str, value: str) -> None:
    assert glob_matches(pattern, value) is _regex_reference(pattern, value)


@given(st.text(_ALPHABET, max_size=5), st.text(_ALPHABET, max_size=10))
def test_word_glob_equals_regex_reference(pattern: str, body: str) -> None:
    assert glob_matches_words(pattern, body) is _regex_reference_words(pattern, body)


def _is_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def _brute_force_words(pattern: str, body: str) -> bool:
    """Try every substring body[i:j] whose ends sit on word boundaries.

    A position is a boundary when it is an end of the body or touches a
    non-word character on either side (for a non-empty match that character
    may be the match's own first or last character).
    """

    def boundary(k: int) -> bool:
        if k == 0 or k == len(body):
            return True
        return not _is_word(body[k - 1]) or not _is_word(body[k])

    for i in range(len(body) + 1):
        for j in range(i, len(body) + 1):
            starts = i == 0 or not _is_word(body[i - 1]) or (i < len(body) and boundary(i))
            ends = j == len(body) or not _is_word(body[j]) or (j > 0 and boundary(j))
            if starts and ends and glob_matches(pattern, body[i:j]):
                return True
    return False


@given(st.text(_ALPHABET, max_size=5), st.text(_ALPHABET, max_size=10))
def test_word_glob_equals_brute_force(pattern: str, body: str) -> None:
    assert glob_matches_words(pattern, body) is _brute_force_words(pattern, body)


@given(st.text(_ALPHABET, max_size=6), st.text(_ALPHABET, max_size=12))
def test_display_name_is_a_literal_word_search(name: str, body: str) -> None:
    source = (
        f"(?:(?<!{_WORD})|(?={_NON_WORD}))" + re.escape(name) + f"(?:(?!{_WORD})|(?<={_NON_WORD}))"
    )
    expected = re.search(source, body, re.IGNORECASE | re.DOTALL) is not None
    assert literal_matches_words(name, body) is expected


@given(st.lists(st.text(st.sampled_from("ab.\\x"), max_size=4), min_size=1, max_size=4))
def test_escaped_path_round_trips(names: list[str]) -> None:
    escaped = ".".join(n.replace("\\", "\\\\").replace(".", "\\.") for n in names)
    assert split_property_path(escaped) == names


def test_pathological_patterns_stay_linear() -> None:
    # A backtracking regex takes polynomial time on these; the NFA does not.
    body = "a" * 65536
    started = time.monotonic()
    assert not glob_matches("*a*a*a*a*a*b", body)
    assert not glob_matches_words("a*a*a*a*a*b", body)
    assert not glob_matches_words("*a*a*a*a*a*b", " ".join(["a"] * 30000))
    assert time.monotonic() - started < 5
