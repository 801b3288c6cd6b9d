"""Thumbnail geometry (spec: "Thumbnails"), free of any image library.

Requested sizes are first rounded up to a small set of steps, so that one
image has a bounded number of cached thumbnails however clients ask; the
spec's recommended sizes (32x32, 96x96 crop; 320x240, 640x480, 800x600 scale)
are steps themselves and come back exactly.

* "scale" keeps the aspect ratio and fits the image inside the box.
* "crop" covers the box and cuts the overflow evenly from both sides.
* Never upscale: content no larger than the box is served as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Method = Literal["crop", "scale"]
METHODS: tuple[str, ...] = ("crop", "scale")

STEPS = (32, 64, 96, 128, 240, 320, 480, 600, 640, 800, 1024, 1280, 1600, 2048)
MAX_STEP = STEPS[-1]


def bucket(value: int) -> int | None:
    """The smallest step >= value, or None beyond the largest step."""
    for step in STEPS:
        if value <= step:
            return step
    return None


@dataclass(frozen=True, slots=True)
class Plan:
    """Resize to `resize`, then cut `crop` = (left, top, right, bottom) out of it."""

    resize: tuple[int, int]
    crop: tuple[int, int, int, int] | None

    @property
    def size(self) -> tuple[int, int]:
        if self.crop is None:
            return self.resize
        left, top, right, bottom = self.crop
        return right - left, bottom - top


def plan(source: tuple[int, int], box: tuple[int, int], method: Method) -> Plan | None:
    """How to thumbnail an image of `source` (w, h) for a `box` (w, h);
    None when the source fits in the box already (serve it unchanged)."""
    sw, sh = source
    bw, bh = box
    if sw <= 0 or sh <= 0 or bw <= 0 or bh <= 0:
        raise ValueError("sizes must be positive")
    if sw <= bw and sh <= bh:
        return None
    if method == "scale":
        ratio = min(bw / sw, bh / sh)
        return Plan((max(1, min(bw, round(sw * ratio))), max(1, min(bh, round(sh * ratio)))), None)
    ratio = max(bw / sw, bh / sh)
    if ratio >= 1:
        # One side is already within the box: no scaling, only cut the other.
        width, height = min(sw, bw), min(sh, bh)
        return Plan((sw, sh), _centred(sw, sh, width, height))
    rw, rh = max(bw, math.ceil(sw * ratio)), max(bh, math.ceil(sh * ratio))
    return Plan((rw, rh), _centred(rw, rh, bw, bh))


def _centred(width: int, height: int, cut_w: int, cut_h: int) -> tuple[int, int, int, int]:
    left = (width - cut_w) // 2
    top = (height - cut_h) // 2
    return left, top, left + cut_w, top + cut_h
