"""The thumbnailer's bounds on work and memory (kith.media.thumbnailer) and
the GIF frame counter (kith.media.gifframes), without a server."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from kith.media import thumbnailer
from kith.media.gifframes import count_frames
from kith.media.orientation import TURNS, Turn, inverse, turned_box
from kith.media.sizing import plan
from kith.media.thumbnailer import TooLarge, make_thumbnail
from media_images import many_frame_gif, png_header, write_uniform_png

MiB = 1024 * 1024


def save(path: Path, image: Image.Image, fmt: str, **options: object) -> Path:
    image.save(path, fmt, **options)
    return path


def frames_of(data: bytes) -> int:
    return int(getattr(Image.open(io.BytesIO(data)), "n_frames", 1))


def textured(width: int, height: int) -> Image.Image:
    """Noise over a gradient: every resampling difference shows."""
    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    return Image.blend(noise, gradient, 0.6)


# --- quality: banded downscaling is Pillow's resize, without the copies -------------------


@pytest.mark.parametrize(("box", "method"), [((32, 32), "crop"), ((96, 96), "crop"),
                                             ((320, 240), "scale"), ((800, 600), "scale"),
                                             ((64, 64), "scale")])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L"])
def test_downscale_equals_pillow_resize(box: tuple[int, int], method: str, mode: str) -> None:
    source = textured(1234, 987)
    if mode == "RGBA":
        source.putalpha(Image.linear_gradient("L").resize(source.size))
    source = source.convert(mode)
    geometry = plan(source.size, box, method)  # type: ignore[arg-type]
    assert geometry is not None
    alpha = mode == "RGBA"
    ours = thumbnailer._downscale(source, geometry, alpha)
    expected = source.convert("RGBA" if alpha else "RGB").resize(
        geometry.resize, Image.Resampling.LANCZOS, reducing_gap=2.0)
    if geometry.crop is not None:
        expected = expected.crop(geometry.crop)
    assert ours.size == expected.size == geometry.size
    assert ImageChops.difference(ours, expected).getbbox() is None


def test_transparency_is_kept(tmp_path: Path) -> None:
    image = Image.new("RGBA", (400, 400), (255, 0, 0, 0))
    image.paste((0, 0, 255, 255), (100, 100, 300, 300))
    made = make_thumbnail(save(tmp_path / "a.png", image, "PNG"), "image/png", (96, 96), "scale",
                          False, 10**6)
    assert made.content_type == "image/png" and made.data is not None
    out = Image.open(io.BytesIO(made.data))
    assert out.mode == "RGBA" and out.size == (96, 96)
    assert out.getpixel((0, 0))[3] == 0 and out.getpixel((48, 48)) == (0, 0, 255, 255)
    # Premultiplied resampling: no red bleeds from the transparent pixels.
    visible = out.getchannel("A").point(lambda value: 255 if value else 0)
    assert ImageChops.multiply(out.getchannel("R"), visible).getbbox() is None


# --- animations: bounded decoding, or a still ---------------------------------------------


def test_many_frame_big_gif_is_a_quick_still(tmp_path: Path) -> None:
    data = many_frame_gif(4000, 4000, 199)
    assert len(data) < 200_000
    path = tmp_path / "big.gif"
    path.write_bytes(data)
    for box in ((96, 96), (320, 240), (800, 600)):
        started = time.process_time()
        made = make_thumbnail(path, "image/gif", box, "scale", True, 24_000_000)
        spent = time.process_time() - started
        assert made.content_type == "image/png" and made.data is not None
        assert frames_of(made.data) == 1
        assert spent < 2, spent  # all 199 frames: tens of seconds


def test_animation_within_budget_stays_animated(tmp_path: Path) -> None:
    frames = [Image.new("L", (400, 300), i * 6) for i in range(40)]
    path = save(tmp_path / "small.gif", frames[0], "GIF", save_all=True, append_images=frames[1:],
                duration=50, loop=0)
    made = make_thumbnail(path, "image/gif", (96, 96), "scale", True, 24_000_000)
    assert made.content_type in ("image/webp", "image/gif") and made.data is not None
    assert frames_of(made.data) == 40
    assert Image.open(io.BytesIO(made.data)).size == (96, 72)
    still = make_thumbnail(path, "image/gif", (96, 96), "scale", False, 24_000_000)
    assert still.content_type == "image/png" and still.data is not None
    assert frames_of(still.data) == 1


@pytest.mark.parametrize(("size", "frames"), [
    ((64, 64), thumbnailer.MAX_FRAMES + 1),  # too many frames
    ((1200, 1000), 50),  # frames x canvas beyond the decoding budget
])
def test_animation_over_budget_is_a_still(tmp_path: Path, size: tuple[int, int], frames: int) -> None:
    path = tmp_path / "a.gif"
    path.write_bytes(many_frame_gif(*size, frames))
    made = make_thumbnail(path, "image/gif", (32, 32), "crop", True, 24_000_000)
    assert made.content_type == "image/png" and made.data is not None
    assert frames_of(made.data) == 1


def test_animation_output_budget(tmp_path: Path) -> None:
    """frames x thumbnail pixels is bounded too: a 2048x1536 thumbnail of
    4 frames would be 12.6 million pixels."""
    path = tmp_path / "a.gif"
    path.write_bytes(many_frame_gif(3000, 2250, 4))
    made = make_thumbnail(path, "image/gif", (2048, 2048), "scale", True, 24_000_000)
    assert made.content_type == "image/png"


def test_small_animation_is_served_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "a.gif"
    path.write_bytes(many_frame_gif(50, 40, 500))  # needs no scaling: nothing is decoded
    assert make_thumbnail(path, "image/gif", (96, 96), "scale", True, 24_000_000).data is None


# --- memory: no full-size copies, and a lower default limit -------------------------------

_MEASURE = """
import sys
from pathlib import Path

def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

from PIL import Image, PngImagePlugin
from kith.media.thumbnailer import TooLarge, make_thumbnail
before = peak_kib()
try:
    made = make_thumbnail(Path(sys.argv[1]), "image/png", (320, 240), "scale", False, int(sys.argv[2]))
    outcome = made.content_type
except TooLarge:
    outcome = "too-large"
print(outcome, (peak_kib() - before) * 1024)
"""


def peak_growth(path: Path, max_pixels: int) -> tuple[str, int]:
    """Thumbnail `path` in a fresh interpreter: (outcome, growth of its peak
    resident memory in bytes)."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path), str(max_pixels)],
                          capture_output=True, text=True, timeout=120, check=True)
    outcome, growth = done.stdout.split()
    return outcome, int(growth)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_large_canvas_png_is_decoded_once(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    write_uniform_png(path, 7000, 7000)
    assert path.stat().st_size < 200_000
    # Over the default limit: refused from the header, nothing decoded.
    outcome, growth = peak_growth(path, 24_000_000)
    assert outcome == "too-large" and growth < 8 * MiB, growth
    # Allowed: Pillow holds the decoded frame (4 bytes a pixel) and nothing
    # else of that size; copies of it would at least double the peak.
    outcome, growth = peak_growth(path, 50_000_000)
    decoded = 7000 * 7000 * 4
    assert outcome == "image/png"
    assert growth < decoded + 32 * MiB, (growth, decoded)


# --- limits read from the header ------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("size", [(20000, 20000), (10000, 10000), (5000, 5000)])
def test_pixel_limits_are_too_large(tmp_path: Path, size: tuple[int, int]) -> None:
    """20000x20000 trips Pillow's own decompression-bomb check in open(),
    the others Kith's limit: all of them TooLarge (413), none decoded."""
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(*size))
    with pytest.raises(TooLarge):
        make_thumbnail(path, "image/png", (96, 96), "crop", False, 24_000_000)


def test_baseline_jpeg_counts_at_its_decoded_scale(tmp_path: Path) -> None:
    photo = textured(4000, 3000)
    baseline = save(tmp_path / "b.jpg", photo, "JPEG")
    progressive = save(tmp_path / "p.jpg", photo, "JPEG", progressive=True)
    # 12 megapixels under a 1-megapixel limit: decoded at 1/8 (500x375).
    made = make_thumbnail(baseline, "image/jpeg", (320, 240), "scale", False, 1_000_000)
    assert made.content_type == "image/jpeg" and made.data is not None
    assert Image.open(io.BytesIO(made.data)).size == (320, 240)
    # Progressive JPEG keeps full-size buffers whatever the scale.
    with pytest.raises(TooLarge):
        make_thumbnail(progressive, "image/jpeg", (320, 240), "scale", False, 1_000_000)
    assert make_thumbnail(progressive, "image/jpeg", (320, 240), "scale", False, 12_000_000).data


def test_types_a_thumbnail_cannot_have_are_re_encoded(tmp_path: Path) -> None:
    """Spec: a thumbnail is JPEG, PNG, APNG, GIF or WebP; a small BMP needs
    no scaling but is still converted, never served as itself."""
    path = save(tmp_path / "a.bmp", Image.new("RGB", (20, 10), (1, 2, 3)), "BMP")
    made = make_thumbnail(path, "image/bmp", (96, 96), "scale", False, 24_000_000)
    assert made.content_type == "image/png" and made.data is not None
    assert Image.open(io.BytesIO(made.data)).size == (20, 10)
    small_png = save(tmp_path / "a.png", Image.new("RGB", (20, 10)), "PNG")
    assert make_thumbnail(small_png, "image/png", (96, 96), "scale", False, 24_000_000).data is None


# --- EXIF orientation ---------------------------------------------------------------------------


@pytest.mark.parametrize("turn", sorted(TURNS.values()))
def test_turned_box_is_where_pillow_puts_the_pixels(turn: Turn) -> None:
    image = Image.frombytes("RGB", (37, 23), os.urandom(37 * 23 * 3))
    boxes = [(0, 0, 37, 23), (0, 0, 1, 1), (36, 22, 37, 23), (3, 5, 20, 6), (10, 0, 11, 23)]
    for box in boxes:
        cut_then_turned = image.crop(box).transpose(Image.Transpose[turn])
        turned_then_cut = image.transpose(Image.Transpose[turn]).crop(turned_box(box, image.size, turn))
        assert cut_then_turned.tobytes() == turned_then_cut.tobytes(), box


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(("box", "method"), [((96, 96), "scale"), ((96, 96), "crop"),
                                             ((320, 240), "scale"), ((32, 32), "crop")])
def test_oriented_thumbnail_is_the_thumbnail_of_the_image_as_shown(
        tmp_path: Path, orientation: int, box: tuple[int, int], method: str) -> None:
    """For each of the eight orientations: the thumbnail of the stored pixels
    with their tag is the thumbnail of the image as it is shown, untagged."""
    shown = textured(500, 300)
    turn = TURNS.get(orientation)
    stored = shown if turn is None else shown.transpose(Image.Transpose[inverse(turn)])
    exif = Image.Exif()
    exif[0x0112] = orientation
    tagged = save(tmp_path / "tagged.png", stored, "PNG", exif=exif.tobytes())
    plain = save(tmp_path / "plain.png", shown, "PNG")
    ours = make_thumbnail(tagged, "image/png", box, method, False, 24_000_000)  # type: ignore[arg-type]
    expected = make_thumbnail(plain, "image/png", box, method, False, 24_000_000)  # type: ignore[arg-type]
    assert ours.data is not None and expected.data is not None
    got, want = Image.open(io.BytesIO(ours.data)), Image.open(io.BytesIO(expected.data))
    assert got.size == want.size
    # Resampling rows before columns or columns before rows rounds (and clips
    # LANCZOS overshoot) differently: off by a little, in a few pixels.
    difference = ImageChops.difference(got.convert("RGB"), want.convert("RGB"))
    assert max(high for _, high in difference.getextrema()) <= 8
    assert max(ImageStat.Stat(difference).mean) < 0.5


def test_animation_is_turned_by_its_orientation(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (400, 200), (i * 60, 100, 50)) for i in range(3)]
    for frame in frames:
        frame.paste((255, 255, 255), (0, 0, 200, 100))  # top left, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise: that corner goes top right
    path = save(tmp_path / "a.webp", frames[0], "WEBP", save_all=True, append_images=frames[1:],
                lossless=True, exif=exif.tobytes())
    made = make_thumbnail(path, "image/webp", (96, 96), "scale", True, 24_000_000)
    assert made.data is not None
    image = Image.open(io.BytesIO(made.data))
    assert image.size == (48, 96) and frames_of(made.data) == 3
    rgb = image.convert("RGB")
    assert rgb.getpixel((36, 12)) == (255, 255, 255) != rgb.getpixel((12, 12))


# --- counting GIF frames ----------------------------------------------------------------------


@pytest.mark.parametrize("frames", [1, 2, 7, 40])
def test_count_frames_agrees_with_pillow(tmp_path: Path, frames: int) -> None:
    images = [Image.new("L", (30, 20), i * 5) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=50, loop=0,
                   comment=b"with an extension block")
    buffer.seek(0)
    assert count_frames(buffer, 1000) == frames == Image.open(buffer).n_frames


def test_count_frames_stops_at_the_limit() -> None:
    data = many_frame_gif(8, 8, 5000)
    stream = io.BytesIO(data)
    assert count_frames(stream, 201) == 201
    assert stream.tell() < len(data) // 10  # read no further than needed
    assert count_frames(io.BytesIO(data), 10_000) == 5000


def test_count_frames_of_damaged_files() -> None:
    data = many_frame_gif(8, 8, 10)
    assert count_frames(io.BytesIO(data[:-1]), 100) == 10  # no trailer
    assert 0 < count_frames(io.BytesIO(data[: len(data) // 2]), 100) < 10
    with pytest.raises(ValueError):
        count_frames(io.BytesIO(b"\x89PNG\r\n"), 100)
