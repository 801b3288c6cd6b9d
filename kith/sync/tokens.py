"""Stream tokens (pure).

A sync token "s{pos}_{typing}[_{to_device}]" names a position in the global
stream (events, receipts, account data, ... share one counter), a typing
serial, which lives in memory only, and the to-device delivery mark of the
response it came with (kith.store.e2ee_to_device): a to-device message is
acknowledged by the token of the response that carried it, so each response
that carries any needs a token of its own even when nothing else moved. A pagination token "t{pos}" names a point between events: events
with stream_id <= pos are before it. /messages accepts either form.
"""

from __future__ import annotations

from dataclasses import dataclass

from kith.errors import MatrixError


@dataclass(frozen=True, slots=True)
class SyncToken:
    pos: int
    typing: int = 0
    to_device: int = 0

    def encode(self) -> str:
        if self.to_device:
            return f"s{self.pos}_{self.typing}_{self.to_device}"
        return f"s{self.pos}_{self.typing}"


def _bad(token: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_PARAM", f"Invalid token {token[:40]!r}")


def parse_sync_token(token: str) -> SyncToken:
    if not token.startswith("s"):
        raise _bad(token)
    parts = token[1:].split("_")
    if len(parts) > 3 or not all(p.isdigit() for p in parts) or len(token) > 64:
        raise _bad(token)
    numbers = [int(p) for p in parts] + [0, 0]
    return SyncToken(numbers[0], numbers[1], numbers[2])


def pagination_token(pos: int) -> str:
    return f"t{max(pos, 0)}"


def parse_position(token: str) -> int:
    """The stream position of a sync or pagination token."""
    if token.startswith("t") and token[1:].isdigit() and len(token) < 40:
        return int(token[1:])
    return parse_sync_token(token).pos
