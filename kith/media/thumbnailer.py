"""Thumbnails with Pillow: blocking work, run by the service in a worker thread.

Only the formats listed in FORMATS are ever decoded (Pillow is told so), the
pixel count is checked from the header before any decoding (decompression
bombs), and animations are limited in frames and total pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kith.media.sizing import Method, Plan, plan

# Pillow is imported by the functions that use it, on the first thumbnail, not
# at start-up: most requests never need it and it costs start-up time.
if TYPE_CHECKING:
    from PIL import Image

# Content types we thumbnail, and the Pillow decoders allowed for them.
FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/apng": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
}
MAX_FRAMES = 200
MAX_ANIMATION_PIXELS = 100_000_000  # summed over all frames of the output


class CannotThumbnail(Exception):
    """Not an image we can decode."""


class TooLarge(Exception):
    """More pixels than the configured limit."""


@dataclass(frozen=True, slots=True)
class Thumbnail:
    data: bytes | None  # None: serve the original content unchanged
    content_type: str


def can_thumbnail(content_type: str) -> bool:
    return content_type in FORMATS


def make_thumbnail(source: Path, content_type: str, box: tuple[int, int], method: Method,
                   animated: bool, max_pixels: int) -> Thumbnail:
    from PIL import Image
    decoder = FORMATS.get(content_type)
    if decoder is None:
        raise CannotThumbnail(content_type)
    try:
        with Image.open(source, formats=[decoder]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise TooLarge(f"{width}x{height}")
            frames = int(getattr(image, "n_frames", 1))
            is_animated = bool(getattr(image, "is_animated", False)) and frames > 1
            geometry = plan((width, height), box, method)
            if animated and is_animated:
                out_size = geometry.size if geometry else (width, height)
                if geometry is None:
                    return Thumbnail(None, content_type)
                if frames <= MAX_FRAMES and frames * out_size[0] * out_size[1] <= MAX_ANIMATION_PIXELS:
                    return _animated(image, geometry)
            if geometry is None and not is_animated:
                return Thumbnail(None, content_type)
            # Static output: the first frame (also when animation was not asked for).
            image.seek(0)
            if decoder == "JPEG" and geometry is not None:
                image.draft("RGB", geometry.resize)  # decode at a reduced scale where possible
            frame = image.copy()
            return _static(frame, geometry, decoder)
    except (TooLarge, CannotThumbnail):
        raise
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise CannotThumbnail(str(exc)) from exc


def _apply(frame: Image.Image, geometry: Plan | None) -> Image.Image:
    from PIL import Image
    if geometry is None:
        return frame
    if frame.size != geometry.resize:
        frame = frame.resize(geometry.resize, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if geometry.crop is not None:
        frame = frame.crop(geometry.crop)
    return frame


def _static(frame: Image.Image, geometry: Plan | None, decoder: str) -> Thumbnail:
    has_alpha = frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info)
    if decoder == "JPEG" and not has_alpha:
        frame = frame.convert("RGB") if frame.mode not in ("RGB", "L") else frame
        out = _apply(frame, geometry)
        buffer = io.BytesIO()
        out.save(buffer, "JPEG", quality=85, optimize=True)
        return Thumbnail(buffer.getvalue(), "image/jpeg")
    frame = frame.convert("RGBA" if has_alpha else "RGB")
    out = _apply(frame, geometry)
    buffer = io.BytesIO()
    out.save(buffer, "PNG", optimize=True)
    return Thumbnail(buffer.getvalue(), "image/png")


def _animated(image: Image.Image, geometry: Plan) -> Thumbnail:
    from PIL import ImageSequence, features
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        frames.append(_apply(frame.convert("RGBA"), geometry))
        durations.append(int(frame.info.get("duration", 100)) or 100)
    buffer = io.BytesIO()
    loop = int(image.info.get("loop", 0))
    if features.check("webp"):
        frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=durations,
                       loop=loop, quality=80)
        return Thumbnail(buffer.getvalue(), "image/webp")
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=durations,
                   loop=loop, disposal=2)
    return Thumbnail(buffer.getvalue(), "image/gif")
