"""Stream tokens (pure).

A sync token "s{pos}_{typing}" names a position in the global stream (events,
receipts, account data, ... share one counter) and a typing serial, which lives
in memory only. A pagination token "t{pos}" names a point between events: events
with stream_id <= pos are before it. /messages accepts either form.
"""

from __future__ import annotations

from dataclasses import dataclass

from kith.errors import MatrixError


@dataclass(frozen=True, slots=True)
class SyncToken:
    pos: int
    typing: int = 0

    def encode(self) -> str:
        return f"s{self.pos}_{self.typing}"


def _bad(token: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_PARAM", f"Invalid token {token[:40]!r}")


def parse_sync_token(token: str) -> SyncToken:
    if not token.startswith("s"):
        raise _bad(token)
    pos, sep, typing = token[1:].partition("_")
    if not pos.isdigit() or (sep and not typing.isdigit()) or len(token) > 64:
        raise _bad(token)
    return SyncToken(int(pos), int(typing) if sep else 0)


def pagination_token(pos: int) -> str:
    return f"t{max(pos, 0)}"


def parse_position(token: str) -> int:
    """The stream position of a sync or pagination token."""
    if token.startswith("t") and token[1:].isdigit() and len(token) < 40:
        return int(token[1:])
    return parse_sync_token(token).pos
