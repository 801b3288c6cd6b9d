"""`event_fields` projection for filters (definitions/sync_filter.yaml).

Spec: the `event_fields` entries are "dot-separated paths for each property"
(appendices "Dot-separated property paths"); "A server may include more fields
than were requested."
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kith.property_paths import split_path


def split_field_path(path: str) -> list[str]:
    """Split a dot-separated property path into property names."""
    return list(split_path(path))


_Trie = dict[str, "_Trie | None"]


def _project(source: Mapping[str, Any], trie: _Trie) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in trie.items():
        if key not in source:
            continue
        value = source[key]
        if sub is None:
            out[key] = value
        elif isinstance(value, Mapping):
            nested = _project(value, sub)
            if nested:
                out[key] = nested
    return out


def apply_event_fields(
    event: Mapping[str, Any], fields: Sequence[str] | None
) -> dict[str, Any]:
    """Keep only the `event_fields` paths of `event` (sync_filter.yaml).

    `None` keeps everything. An empty list also keeps everything: the spec lets
    a server "include more fields than were requested", and an event with no
    fields is useless to a client. A path naming a whole object wins over paths
    into it. Missing paths are skipped. The input is never mutated; included
    leaf values are shared, not copied.
    """
    if not fields:
        return dict(event)
    trie: _Trie = {}
    for path in fields:
        node = trie
        parts = split_field_path(path)
        for depth, part in enumerate(parts):
            if depth == len(parts) - 1:
                node[part] = None  # whole value from here down
                break
            child = node.get(part, {})
            if child is None:
                break  # an ancestor is already included whole
            node[part] = child
            node = child
    return _project(event, trie)
