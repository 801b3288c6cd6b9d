"""Counting the frames of a GIF without decoding them, and without reading
further than needed.

Pillow's n_frames walks every frame of the file (millions, in a small file
of 1x1 frames) before an animated thumbnail can be refused; this stops at a
limit. It follows the block structure of GIF89a (header, logical screen
descriptor, optional global colour table, then extensions and images up to
the trailer) and, like Pillow, skips bytes it does not recognise.
"""

from __future__ import annotations

from typing import BinaryIO

_IMAGE = 0x2C
_EXTENSION = 0x21
_TRAILER = 0x3B


def count_frames(stream: BinaryIO, limit: int) -> int:
    """The number of images in the GIF, or `limit` if there are at least that
    many. A truncated file counts the images that started before its end."""
    header = stream.read(13)
    if len(header) < 13 or not header.startswith(b"GIF"):
        raise ValueError("not a GIF")
    _skip_colour_table(stream, header[10])
    frames = 0
    while frames < limit:
        kind = stream.read(1)
        if not kind or kind[0] == _TRAILER:
            break
        if kind[0] == _IMAGE:
            descriptor = stream.read(9)  # position, size, flags
            if len(descriptor) < 9:
                break
            frames += 1
            _skip_colour_table(stream, descriptor[8])
            stream.read(1)  # LZW minimum code size
            _skip_sub_blocks(stream)
        elif kind[0] == _EXTENSION:
            stream.read(1)  # label
            _skip_sub_blocks(stream)
    return frames


def _skip_colour_table(stream: BinaryIO, flags: int) -> None:
    if flags & 0x80:
        stream.seek(3 << ((flags & 0x07) + 1), 1)


def _skip_sub_blocks(stream: BinaryIO) -> None:
    while True:
        size = stream.read(1)
        if not size or size[0] == 0:
            return
        stream.seek(size[0], 1)
