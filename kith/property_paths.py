"""Dot-separated property paths (spec: appendices "Dot-separated property
paths"), shared by push rules and filters' event_fields."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1024)
def split_path(path: str) -> tuple[str, ...]:
    """`\\.` is a literal dot, `\\\\` a literal backslash; any other backslash
    sequence stays as written. Paths repeat for every event, so splits are cached."""
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
    return tuple(names)
