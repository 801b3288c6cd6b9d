"""Test images built byte by byte, for what Pillow would be slow or memory
hungry to make: huge canvases that compress to almost nothing, headers of
decompression bombs, and GIFs with many full-canvas frames."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height RGB pixels and holds none of them."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0"))
            + _chunk(b"IEND", b""))


def write_uniform_png(path: Path, width: int, height: int) -> None:
    """A one-colour RGB PNG, compressed row by row so that making it needs
    no more memory than one row."""
    row = b"\0" + bytes([30, 90, 150]) * width  # filter type 0, then the pixels
    compressor = zlib.compressobj(9)
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        for _ in range(height):
            data = compressor.compress(row)
            if data:
                out.write(_chunk(b"IDAT", data))
        out.write(_chunk(b"IDAT", compressor.flush()))
        out.write(_chunk(b"IEND", b""))


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    while data[pos]:
        pos += data[pos] + 1
    return pos + 1


def _gif_parts(image: Image.Image) -> tuple[bytes, bytes]:
    """(header with logical screen and colour table, first image block) of
    `image` saved as a GIF by Pillow."""
    buffer = io.BytesIO()
    image.save(buffer, "GIF")
    data = buffer.getvalue()
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    head = data[:pos]
    while data[pos] == 0x21:
        pos = _skip_sub_blocks(data, pos + 2)
    start = pos
    local = data[pos + 9]
    pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
    return head, data[start:_skip_sub_blocks(data, pos + 1)]


def many_frame_gif(width: int, height: int, frames: int) -> bytes:
    """An animated GIF of a width x height canvas: one full frame, then
    `frames - 1` frames of a single pixel. Small on disk (about 20 KB for
    4000x4000 and 199 frames), yet a decoder composes every frame onto the
    whole canvas."""
    palette = bytes(c for i in range(256) for c in (i, 255 - i, 128))
    canvas = Image.new("P", (width, height), 1)
    canvas.putpalette(palette)
    dot = Image.new("P", (1, 1), 2)
    dot.putpalette(palette)
    head, first = _gif_parts(canvas)
    _, pixel = _gif_parts(dot)
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    control = b"\x21\xf9\x04\x04\x0a\x00\x00\x00"  # 100 ms, do not dispose
    parts = [head, loop, control, first]
    for index in range(1, frames):
        position = struct.pack("<HH", index % width, index % height)
        parts += [control, pixel[:1] + position + pixel[5:]]
    parts.append(b"\x3b")
    return b"".join(parts)
