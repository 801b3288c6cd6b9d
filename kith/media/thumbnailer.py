"""Thumbnails with Pillow: blocking work, run by the service in a worker thread.

The work and memory of one thumbnail are bounded before anything is decoded
(spec, "Security considerations": servers should not try to thumbnail images
that are too large, and thumbnailing is a target for malicious files):

* Only the formats in FORMATS are decoded (Pillow is told so).
* A frame that would decode to more than `max_pixels` pixels is refused with
  TooLarge (413), from the header alone. Pillow's own decompression-bomb check
  at open is mapped to TooLarge too. A baseline JPEG is decoded at a reduced
  scale (draft), so it counts at that scale: a 48-megapixel photo decodes to
  12 megapixels or fewer. A progressive JPEG keeps full-size coefficient
  buffers whatever the scale, so it counts at full size.
* The decoded frame is the only full-size buffer: it is converted, reduced
  and resampled in bands of rows into an intermediate as wide as the
  thumbnail, never copied whole (no full-size copy for mode conversion,
  alpha premultiplication or resampling).
* An animation is decoded only when frames x canvas pixels and frames x
  thumbnail pixels fit the budgets below; otherwise the thumbnail is a still
  of the first frame (spec: when the media cannot be animated the server
  behaves as though `animated` were false).

A thumbnail is shown as its image is: sized for, and turned by, the image's
EXIF orientation (kith.media.orientation), since it is encoded without it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kith.media.gifframes import count_frames
from kith.media.orientation import ORIENTATION_TAG, Turn, stored_plan, turn_of, turned_size
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

# Spec, GET /thumbnail: the Content-Type of a thumbnail is one of these (all
# of them safe to serve inline). Content of any other type is re-encoded even
# when it needs no scaling, never served as it is.
THUMBNAIL_TYPES = frozenset({"image/jpeg", "image/png", "image/apng", "image/gif", "image/webp"})

MAX_FRAMES = 200
# Every frame of an animation is decoded onto the full canvas, so frames x
# canvas pixels is the decoding work of an animated thumbnail: about a second
# of CPU at most.
ANIMATION_DECODE_PIXELS = 50_000_000
# Every output frame is held (RGBA) until the animation is encoded: frames x
# thumbnail pixels bounds that memory (32 MB) and the encoding time.
ANIMATION_OUTPUT_PIXELS = 8_000_000

BAND_ROWS = 256  # rows of the decoded frame converted and reduced at a time
# Integer (box) reduction first, down to no less than this many times the
# target size; LANCZOS does the rest (as Pillow's reducing_gap=2: close to a
# plain LANCZOS resample at a fraction of its cost).
REDUCING_GAP = 2


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
            return _thumbnail(image, source, content_type, box, method, animated, max_pixels)
    except Image.DecompressionBombError as exc:
        # Raised by Pillow from the header, before our own check can run: the
        # spec's 413 "too large for the server to thumbnail", not a bad image.
        raise TooLarge(str(exc)) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise CannotThumbnail(str(exc)) from exc


def _thumbnail(image: Image.Image, source: Path, content_type: str, box: tuple[int, int],
               method: Method, animated: bool, max_pixels: int) -> Thumbnail:
    width, height = image.size
    turn = turn_of(_orientation(image))
    geometry = plan(turned_size((width, height), turn), box, method)  # for the image as shown
    stored = None if geometry is None else stored_plan(geometry, turn)  # for its pixels
    decoded = width * height
    if image.format == "JPEG" and stored is not None:
        image.draft(None, stored.resize)  # decode at 1/2, 1/4 or 1/8 scale where that suffices
        if not image.info.get("progressive"):
            decoded = image.width * image.height
    if decoded > max_pixels:
        raise TooLarge(f"{width}x{height}")
    moving = bool(getattr(image, "is_animated", False))
    if animated and moving:
        if stored is None:
            return Thumbnail(None, content_type)  # needs no scaling: the animation itself
        frames = _animation_frames(image, source, stored)
        if frames is not None:
            return _animated(image, stored, turn, frames)
    if stored is None and not moving and content_type in THUMBNAIL_TYPES:
        return Thumbnail(None, content_type)  # served as it is, orientation tag and all
    # A still: of the first frame when animated (also when animation was not asked for).
    alpha = _has_alpha(image)
    frame = _turned(_downscale(image, stored or Plan(image.size, None), alpha), turn)
    buffer = io.BytesIO()
    if image.format == "JPEG" and not alpha:
        frame.save(buffer, "JPEG", quality=85, optimize=True)
        return Thumbnail(buffer.getvalue(), "image/jpeg")
    frame.save(buffer, "PNG", optimize=True)
    return Thumbnail(buffer.getvalue(), "image/png")


def _animation_frames(image: Image.Image, source: Path, geometry: Plan) -> int | None:
    """How many frames an animated thumbnail decodes; None beyond the budgets."""
    if image.format == "GIF":
        with open(source, "rb") as stream:
            frames = count_frames(stream, MAX_FRAMES + 1)
    else:
        frames = int(getattr(image, "n_frames", 1))  # from the header (APNG acTL, WebP demuxer)
    out_width, out_height = geometry.size
    if (frames > MAX_FRAMES
            or frames * image.width * image.height > ANIMATION_DECODE_PIXELS
            or frames * out_width * out_height > ANIMATION_OUTPUT_PIXELS):
        return None
    return frames


def _orientation(image: Image.Image) -> object:
    """The EXIF Orientation value, from the metadata read with the header
    (never decoding pixels for it, as Image.getexif() may for a PNG)."""
    from PIL import Image
    raw = image.info.get("exif")
    if not isinstance(raw, bytes) or not raw:
        return None
    exif = Image.Exif()
    try:
        exif.load(raw)
    except Exception:  # damaged metadata, whatever Pillow's parser makes of it: no orientation
        return None
    return exif.get(ORIENTATION_TAG)


def _turned(image: Image.Image, turn: Turn | None) -> Image.Image:
    from PIL import Image
    return image if turn is None else image.transpose(Image.Transpose[turn])


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info


def _downscale(image: Image.Image, geometry: Plan, alpha: bool) -> Image.Image:
    """The current frame resized and cut as planned, RGB or RGBA, with no
    full-size copy of the decoded frame."""
    from PIL import Image
    mode = "RGBA" if alpha else "RGB"
    width, height = image.size
    target_width, target_height = geometry.resize
    if (target_width, target_height) == (width, height):
        # Only a cut ("crop" of an image with one side within the box): cut first.
        return _converted(image.crop(geometry.crop or (0, 0, width, height)), mode)
    # Premultiplied alpha while resampling, so that the colour of transparent
    # pixels does not bleed into their neighbours (Pillow's resize does the same).
    work = "RGBa" if alpha else "RGB"
    # Integer reduction per axis, then LANCZOS over the exact fraction of the
    # reduced image that the source covers (as Pillow's resize with reducing_gap).
    factor_x = max(1, width // (target_width * REDUCING_GAP))
    factor_y = max(1, height // (target_height * REDUCING_GAP))
    band = max(factor_y, BAND_ROWS // factor_y * factor_y)  # whole reduction blocks per band
    # Rows first, band by band (a horizontal resample treats every row on its
    # own, so bands give exactly the full-image result), then columns.
    rows = Image.new(work, (target_width, -(-height // factor_y)))
    for top in range(0, height, band):
        piece = _converted(image.crop((0, top, width, min(height, top + band))), work)
        if factor_x > 1 or factor_y > 1:
            piece = piece.reduce((factor_x, factor_y))
        piece = piece.resize((target_width, piece.height), Image.Resampling.LANCZOS,
                             box=(0, 0, width / factor_x, piece.height))
        rows.paste(piece, (0, top // factor_y))
    out = rows.resize((target_width, target_height), Image.Resampling.LANCZOS,
                      box=(0, 0, target_width, height / factor_y))
    if geometry.crop is not None:
        out = out.crop(geometry.crop)
    return _converted(out, mode)


def _converted(image: Image.Image, mode: str) -> Image.Image:
    if image.mode == mode:
        return image
    if mode == "RGBa":
        return _converted(image, "RGBA").convert("RGBa")
    return image.convert(mode)


def _animated(image: Image.Image, geometry: Plan, turn: Turn | None, count: int) -> Thumbnail:
    from PIL import features
    frames: list[Image.Image] = []
    durations: list[int] = []
    for index in range(count):
        try:
            image.seek(index)
        except EOFError:
            break  # fewer frames than counted (a damaged file): the ones there are
        # Premultiplying costs as much as resampling: only for frames with alpha.
        frame = _downscale(image, geometry, _has_alpha(image))
        frames.append(_converted(_turned(frame, turn), "RGBA"))
        durations.append(int(image.info.get("duration", 100)) or 100)
    buffer = io.BytesIO()
    loop = int(image.info.get("loop", 0))
    if features.check("webp"):
        frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=durations,
                       loop=loop, quality=80)
        return Thumbnail(buffer.getvalue(), "image/webp")
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=durations,
                   loop=loop, disposal=2)
    return Thumbnail(buffer.getvalue(), "image/gif")
