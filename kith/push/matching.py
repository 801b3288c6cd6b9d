"""Low-level matching helpers for push conditions.

Spec: appendices.md, "Glob-style matching" (`*` is zero or more characters,
`?` exactly one) and "Dot-separated property paths" (a literal `.` or `\\` in a
property name is escaped with a backslash; any other escape is kept as-is).
push.md, "Conditions": `event_match` is case-insensitive and whole-value,
except on `content.body` where the pattern may match any substring that starts
and ends at a word boundary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Final

# push.md: a word boundary is the start or end of the value, or any character
# not in [A-Z], [a-z], [0-9] or `_`.
_WORD_CHAR = "[A-Za-z0-9_]"
_NON_WORD_CHAR = "[^A-Za-z0-9_]"
# Where a word-bounded match may begin: at the start of the value or after a
# non-word character, or where the match itself starts with a non-word
# character (that character is then the boundary).
_START_BOUNDARY = f"(?:(?<!{_WORD_CHAR})|(?={_NON_WORD_CHAR}))"
# Mirror image for where it may end.
_END_BOUNDARY = f"(?:(?!{_WORD_CHAR})|(?<={_NON_WORD_CHAR}))"

# Returned by `lookup_property` when the path does not exist in the event.
MISSING: Final = object()


def glob_to_regex_source(pattern: str) -> str:
    """Translate a Matrix glob into regex source (no anchors, no flags)."""
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            parts.append(".*?")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


@lru_cache(maxsize=4096)
def _compiled(source: str, word_bounded: bool) -> re.Pattern[str]:
    if word_bounded:
        source = _START_BOUNDARY + source + _END_BOUNDARY
    # DOTALL: `*` and `?` match any character, newlines included.
    return re.compile(source, re.IGNORECASE | re.DOTALL)


def glob_matches(pattern: str, value: str) -> bool:
    """Case-insensitive glob match against the entire `value`."""
    return _compiled(glob_to_regex_source(pattern), False).fullmatch(value) is not None


def glob_matches_words(pattern: str, value: str) -> bool:
    """Case-insensitive glob match against any word-bounded substring of `value`.

    This is the `content.body` special case of `event_match` and the rule used
    by `content` rules (push.md, "Push Rules" and "Conditions").
    """
    return _compiled(glob_to_regex_source(pattern), True).search(value) is not None


def literal_matches_words(needle: str, value: str) -> bool:
    """Case-insensitive literal search for `needle` as word-bounded text.

    Used by `contains_display_name`, where the display name is plain text
    rather than a glob.
    """
    return _compiled(re.escape(needle), True).search(value) is not None


def split_property_path(path: str) -> list[str]:
    """Split a dot-separated property path into property names.

    `\\.` is a literal dot and `\\\\` a literal backslash; any other backslash
    sequence stays as written (appendices.md, "Dot-separated property paths").
    """
    names: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(path):
        char = path[index]
        if char == "\\" and index + 1 < len(path) and path[index + 1] in ".\\":
            current.append(path[index + 1])
            index += 2
            continue
        if char == ".":
            names.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    names.append("".join(current))
    return names


def lookup_property(event: Mapping[str, object], path: str) -> object:
    """The value at `path` in `event`, or `MISSING` when any step is absent.

    Only JSON objects are descended into; arrays are not indexed.
    """
    value: object = event
    for name in split_property_path(path):
        if not isinstance(value, Mapping) or name not in value:
            return MISSING
        value = value[name]
    return value

