"""Low-level matching helpers for push conditions.

Spec: appendices.md, "Glob-style matching" (`*` is zero or more characters,
`?` exactly one) and "Dot-separated property paths" (a literal `.` or `\\` in a
property name is escaped with a backslash; any other escape is kept as-is).
push.md, "Conditions": `event_match` is case-insensitive and whole-value,
except on `content.body` where the pattern may match any substring that starts
and ends at a word boundary.

Globs are run as a bit-parallel NFA rather than translated to a backtracking
regex, so a user's pattern such as `*a*a*a*b` costs time linear in the length
of the event value instead of polynomial. "Case-insensitive" is defined by the
homeserver (push.md); Kith compares characters by `str.casefold()`.
"""

from __future__ import annotations


from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from kith.property_paths import split_path

# push.md: a word boundary is the start or end of the value, or any character
# not in [A-Z], [a-z], [0-9] or `_`.
_WORD_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")

# Returned by `lookup_property` when the path does not exist in the event.
MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class _Automaton:
    """Glob NFA: state p means "the first p tokens have been matched".

    Bit p of an `int` stands for state p; state `length` accepts.
    """

    length: int
    star: int  # tokens that are `*`: they loop and may be skipped
    any_char: int  # tokens that are `?`
    literal: dict[str, int]  # casefolded character -> tokens equal to it

    def close(self, active: int) -> int:
        # Consecutive stars are merged when compiling, so one step suffices.
        return active | ((active & self.star) << 1)

    def advance(self, active: int, char: str) -> int:
        moves = self.any_char | self.literal.get(char.casefold(), 0)
        return self.close(((active & moves) << 1) | (active & self.star))


@lru_cache(maxsize=4096)
def _compile(pattern: str, is_glob: bool) -> _Automaton:
    star = any_char = 0
    literal: dict[str, int] = {}
    position = 0
    previous_star = False
    for char in pattern:
        if is_glob and char == "*":
            if not previous_star:  # `**` means the same as `*`
                star |= 1 << position
                position += 1
            previous_star = True
            continue
        previous_star = False
        if is_glob and char == "?":
            any_char |= 1 << position
        else:
            key = char.casefold()
            literal[key] = literal.get(key, 0) | (1 << position)
        position += 1
    return _Automaton(position, star, any_char, literal)


def _full_match(automaton: _Automaton, value: str) -> bool:
    active = automaton.close(1)
    for char in value:
        active = automaton.advance(active, char)
        if not active:
            return False
    return bool(active >> automaton.length & 1)


def _is_word(value: str, index: int) -> bool:
    return 0 <= index < len(value) and value[index] in _WORD_CHARS


def _word_bounded_search(automaton: _Automaton, value: str) -> bool:
    """Whether some `value[i:j]` matches with word boundaries at i and j.

    A match may begin at the start of the value, after a non-word character,
    or on a non-word character (which is then the boundary itself); it may end
    symmetrically. Every start is fed into the NFA as it is reached, so all
    substrings are tried in one left-to-right pass.
    """
    start = automaton.close(1)
    accept = 1 << automaton.length
    size = len(value)
    active = 0
    for position in range(size + 1):
        before_is_word = _is_word(value, position - 1)
        here_is_word = _is_word(value, position)
        if position == 0 or not before_is_word or (position < size and not here_is_word):
            active |= start
        if active & accept and (
            position == size or not here_is_word or (position > 0 and not before_is_word)
        ):
            return True
        if position < size:
            active = automaton.advance(active, value[position])
    return False


def _cannot_contain(literal: str, value: str) -> bool:
    """A quick rejection: a per-character case-insensitive match of `literal`
    inside `value` implies the casefolded strings contain each other."""
    return literal.casefold() not in value.casefold()


def glob_matches(pattern: str, value: str) -> bool:
    """Case-insensitive glob match against the entire `value`."""
    if "*" not in pattern and "?" not in pattern and pattern.casefold() != value.casefold():
        return False
    return _full_match(_compile(pattern, True), value)


def glob_matches_words(pattern: str, value: str) -> bool:
    """Case-insensitive glob match against any word-bounded substring of `value`.

    This is the `content.body` special case of `event_match` and the rule used
    by `content` rules (push.md, "Push Rules" and "Conditions").
    """
    if "*" not in pattern and "?" not in pattern and _cannot_contain(pattern, value):
        return False
    return _word_bounded_search(_compile(pattern, True), value)


def literal_matches_words(needle: str, value: str) -> bool:
    """Case-insensitive literal search for `needle` as word-bounded text.

    Used by `contains_display_name`, where the display name is plain text
    rather than a glob.
    """
    if _cannot_contain(needle, value):
        return False
    return _word_bounded_search(_compile(needle, False), value)


def split_property_path(path: str) -> list[str]:
    """Split a dot-separated property path into property names (a fresh list)."""
    return list(split_path(path))




def lookup_property(event: Mapping[str, object], path: str) -> object:
    """The value at `path` in `event`, or `MISSING` when any step is absent.

    Only JSON objects are descended into; arrays are not indexed.
    """
    value: object = event
    for name in split_path(path):
        if not isinstance(value, Mapping) or name not in value:
            return MISSING
        value = value[name]
    return value
