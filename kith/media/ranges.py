"""HTTP Range requests (RFC 9110 section 14): one byte range, or the whole file.

`parse_range(header, size)` answers what to send for a representation of `size`
bytes: `None` for the whole file (no header, a header we do not understand, or
several ranges, which a server may ignore), a `ByteRange` for a 206, or
`UNSATISFIABLE` for a 416.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# RFC 9110 14.1.1: first-pos and last-pos are 1*DIGIT, and DIGIT is ASCII 0-9
# only (str.isdigit() also takes "²" and other digits int() refuses). 19
# digits reach past any file size: a longer number is not a range we serve.
_POSITION = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int  # first byte, inclusive
    end: int  # last byte, inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class _Unsatisfiable:
    def __repr__(self) -> str:
        return "UNSATISFIABLE"


UNSATISFIABLE: Final = _Unsatisfiable()


def parse_range(header: str | None, size: int) -> ByteRange | _Unsatisfiable | None:
    if header is None:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    spec = spec.strip()
    if "," in spec:
        return None  # several ranges: answer with the whole representation
    first, dash, last = spec.partition("-")
    first, last = first.strip(), last.strip()
    if (not dash or (first and not _POSITION.fullmatch(first))
            or (last and not _POSITION.fullmatch(last))):
        return None  # RFC 9110 14.2: a server may ignore a Range it cannot parse
    if not first:
        if not last:
            return None
        suffix = int(last)  # "bytes=-N": the last N bytes
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid range-spec: ignore the header
    if start >= size:
        return UNSATISFIABLE
    return ByteRange(start, min(end, size - 1))
