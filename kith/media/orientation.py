"""EXIF orientation (tag 0x0112, "Orientation", in TIFF 6.0 and Exif): how a
stored image is turned for display, and thumbnail geometry across that turn.
Free of any image library.

Cameras store a portrait photo as landscape pixels with Orientation 6 or 8,
and clients show it turned. A thumbnail is encoded without the tag, so it is
turned itself: planned on the size as shown, computed on the pixels as
stored (which is where the decoder's reduction and the banded resampling
work), and turned at the end, when it is small and turning costs nothing.
"""

from __future__ import annotations

from typing import Literal

from kith.media.sizing import Plan

# Named as Pillow's Image.Transpose members, which do these turns.
Turn = Literal["FLIP_LEFT_RIGHT", "ROTATE_180", "FLIP_TOP_BOTTOM", "TRANSPOSE", "ROTATE_270",
               "TRANSVERSE", "ROTATE_90"]

ORIENTATION_TAG = 0x0112

# Orientation value -> the turn that shows the stored pixels as meant
# (1 is "as stored"; ROTATE_90 is a quarter turn anticlockwise).
TURNS: dict[int, Turn] = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}

_SWAPS_SIDES = frozenset({"TRANSPOSE", "TRANSVERSE", "ROTATE_90", "ROTATE_270"})


def turn_of(orientation: object) -> Turn | None:
    """The turn for an Orientation value; None for 1 and for anything that is
    not one of the eight values (ignored, as the image is then shown as stored)."""
    return TURNS.get(orientation) if isinstance(orientation, int) else None


def inverse(turn: Turn) -> Turn:
    if turn == "ROTATE_90":
        return "ROTATE_270"
    if turn == "ROTATE_270":
        return "ROTATE_90"
    return turn  # flips, a half turn and the two transpositions undo themselves


def turned_size(size: tuple[int, int], turn: Turn | None) -> tuple[int, int]:
    width, height = size
    return (height, width) if turn in _SWAPS_SIDES else (width, height)


def turned_box(box: tuple[int, int, int, int], size: tuple[int, int],
               turn: Turn) -> tuple[int, int, int, int]:
    """Where `box` (left, top, right, bottom) of an image of `size` lands once
    the image is turned."""
    left, top, right, bottom = box
    width, height = size
    if turn == "FLIP_LEFT_RIGHT":
        return width - right, top, width - left, bottom
    if turn == "FLIP_TOP_BOTTOM":
        return left, height - bottom, right, height - top
    if turn == "ROTATE_180":
        return width - right, height - bottom, width - left, height - top
    if turn == "TRANSPOSE":  # (x, y) -> (y, x)
        return top, left, bottom, right
    if turn == "ROTATE_90":  # (x, y) -> (y, width - 1 - x)
        return top, width - right, bottom, width - left
    if turn == "ROTATE_270":  # (x, y) -> (height - 1 - y, x)
        return height - bottom, left, height - top, right
    # TRANSVERSE: (x, y) -> (height - 1 - y, width - 1 - x)
    return height - bottom, width - right, height - top, width - left


def stored_plan(shown: Plan, turn: Turn | None) -> Plan:
    """A plan made for the image as shown, for its pixels as stored: resizing
    and cutting the stored pixels by it, then turning, gives `shown`."""
    if turn is None:
        return shown
    back = inverse(turn)
    crop = None if shown.crop is None else turned_box(shown.crop, shown.resize, back)
    return Plan(turned_size(shown.resize, back), crop)
