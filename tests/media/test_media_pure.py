"""Table-driven tests of the media repository's pure rules: byte ranges,
Content-Disposition, content types, thumbnail geometry, preview addresses."""

from __future__ import annotations

import ipaddress

import pytest

from kith.media.headers import clean_content_type, clean_filename, content_disposition, is_inline
from kith.media.orientation import Turn, stored_plan, turn_of, turned_size
from kith.media.preview import PreviewRefused, is_forbidden, parse_target
from kith.media.ranges import UNSATISFIABLE, ByteRange, parse_range
from kith.media.sizing import Plan, bucket, plan


@pytest.mark.parametrize(("header", "size", "expected"), [
    (None, 100, None),
    ("bytes=0-9", 100, ByteRange(0, 9)),
    ("bytes=10-", 100, ByteRange(10, 99)),
    ("bytes=-10", 100, ByteRange(90, 99)),
    ("bytes=-1000", 100, ByteRange(0, 99)),
    ("bytes=50-1000", 100, ByteRange(50, 99)),
    ("bytes=99-99", 100, ByteRange(99, 99)),
    ("Bytes = 0-0", 100, ByteRange(0, 0)),
    ("bytes=100-", 100, UNSATISFIABLE),
    ("bytes=100-200", 100, UNSATISFIABLE),
    ("bytes=-0", 100, UNSATISFIABLE),
    ("bytes=0-", 0, UNSATISFIABLE),
    ("bytes=-5", 0, UNSATISFIABLE),
    ("bytes=0-1,5-6", 100, None),  # several ranges: the whole file
    ("bytes=9-0", 100, None),  # invalid: ignored
    ("bytes=a-b", 100, None),
    ("bytes=-", 100, None),
    ("items=0-1", 100, None),
    ("bytes", 100, None),
    ("bytes=+1-2", 100, None),
    # RFC 9110 14.1.1: positions are ASCII digits; anything else is not a range.
    ("bytes=\u00b2-", 100, None),  # superscript two: isdigit() but not DIGIT
    ("bytes=0-\u0663", 100, None),  # Arabic-Indic three
    ("bytes=" + "9" * 5000 + "-", 100, None),
    ("bytes=0-" + "9" * 5000, 100, None),
    ("bytes=-" + "9" * 20, 100, None),
    ("bytes=0-" + "9" * 19, 100, ByteRange(0, 99)),
    ("bytes=" + "0" * 19 + "-", 100, ByteRange(0, 99)),
])
def test_parse_range(header: str | None, size: int, expected: object) -> None:
    assert parse_range(header, size) == expected


def test_content_range() -> None:
    assert ByteRange(0, 9).content_range(100) == "bytes 0-9/100"
    assert ByteRange(5, 5).length == 1


@pytest.mark.parametrize(("content_type", "filename", "expected"), [
    ("image/png", None, "inline"),
    ("image/png", "cat.png", 'inline; filename="cat.png"'),
    ("IMAGE/PNG; charset=x", "cat.png", 'inline; filename="cat.png"'),
    ("audio/ogg", "voice.ogg", 'inline; filename="voice.ogg"'),
    ("video/mp4", "clip.mp4", 'inline; filename="clip.mp4"'),
    ("text/plain; charset=utf-8", "a.txt", 'inline; filename="a.txt"'),
    ("image/svg+xml", "x.svg", 'attachment; filename="x.svg"'),
    ("text/html", "x.html", 'attachment; filename="x.html"'),
    ("application/javascript", None, "attachment"),
    ("application/octet-stream", "blob.bin", 'attachment; filename="blob.bin"'),
    ("application/pdf", 'say "hi"\\.pdf', 'attachment; filename="say \\"hi\\"\\\\.pdf"'),
    ("image/jpeg", "Grüße.jpg", "inline; filename*=utf-8''Gr%C3%BC%C3%9Fe.jpg"),
    ("application/zip", "a b;c.zip", 'attachment; filename="a b;c.zip"'),
    ("application/zip", "日本.zip", "attachment; filename*=utf-8''%E6%97%A5%E6%9C%AC.zip"),
])
def test_content_disposition(content_type: str, filename: str | None, expected: str) -> None:
    assert content_disposition(content_type, filename) == expected


@pytest.mark.parametrize(("value", "inline"), [
    ("image/gif", True), ("image/webp", True), ("image/svg+xml", False), ("text/html", False),
    ("text/css", True), ("application/json", True), ("application/xml", False),
    ("audio/flac", True), ("video/x-msvideo", False), ("", False),
])
def test_is_inline(value: str, inline: bool) -> None:
    assert is_inline(value) is inline


@pytest.mark.parametrize(("value", "expected"), [
    (None, None),
    ("", None),
    ("image/png", "image/png"),
    (" text/plain; charset=utf-8 ", "text/plain; charset=utf-8"),
    ("notatype", None),
    ("image/png\r\nX-Evil: 1", None),
    ("imäge/png", None),
    ("a/b/c", None),
])
def test_clean_content_type(value: str | None, expected: str | None) -> None:
    assert clean_content_type(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("a.png", "a.png"), ("a\r\nb.png", "ab.png"), ("  x ", "x"),
    ("dir/name.txt", "dir/name.txt"),
    # Bidirectional controls: "\u202egpj.exe" displays as "exe.jpg".
    ("\u202egpj.exe", "gpj.exe"), ("a\u200e\u200fb\u061c", "ab"),
    ("".join(map(chr, range(0x202A, 0x202F))) + "x" + "".join(map(chr, range(0x2066, 0x206A))), "x"),
    ("\u202e", None), ("عربي.txt", "عربي.txt"), ("a\u200db", "a\u200db"),  # ZWJ is not a bidi control
])
def test_clean_filename(value: str | None, expected: str | None) -> None:
    assert clean_filename(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (1, 32), (32, 32), (33, 64), (96, 96), (240, 240), (241, 320), (600, 600), (2048, 2048),
    (2049, None),
])
def test_bucket(value: int, expected: int | None) -> None:
    assert bucket(value) == expected


@pytest.mark.parametrize(("source", "box", "method", "expected"), [
    # fits already: served unchanged, never upscaled
    ((100, 50), (320, 240), "scale", None),
    ((320, 240), (320, 240), "scale", None),
    ((20, 20), (32, 32), "crop", None),
    # scale: aspect kept, inside the box
    ((1000, 500), (320, 240), "scale", Plan((320, 160), None)),
    ((500, 1000), (320, 240), "scale", Plan((120, 240), None)),
    ((640, 480), (320, 240), "scale", Plan((320, 240), None)),
    ((4000, 10), (320, 240), "scale", Plan((320, 1), None)),
    # crop: covers the box, centre cut
    ((1000, 500), (96, 96), "crop", Plan((192, 96), (48, 0, 144, 96))),
    ((500, 1000), (96, 96), "crop", Plan((96, 192), (0, 48, 96, 144))),
    ((200, 200), (96, 96), "crop", Plan((96, 96), (0, 0, 96, 96))),
    # crop without upscaling when one side is already small enough
    ((50, 300), (96, 96), "crop", Plan((50, 300), (0, 102, 50, 198))),
])
def test_plan(source: tuple[int, int], box: tuple[int, int], method: str, expected: Plan | None) -> None:
    got = plan(source, box, method)  # type: ignore[arg-type]
    assert got == expected
    if got is not None:
        width, height = got.size
        assert width <= max(box[0], source[0]) and height <= max(box[1], source[1])
        if method == "scale":
            assert width <= box[0] and height <= box[1]


@pytest.mark.parametrize(("value", "turn"), [
    (1, None), (2, "FLIP_LEFT_RIGHT"), (3, "ROTATE_180"), (4, "FLIP_TOP_BOTTOM"),
    (5, "TRANSPOSE"), (6, "ROTATE_270"), (7, "TRANSVERSE"), (8, "ROTATE_90"),
    (0, None), (9, None), ("6", None), (None, None), (6.0, None),
])
def test_turn_of(value: object, turn: str | None) -> None:
    assert turn_of(value) == turn


@pytest.mark.parametrize(("shown", "turn", "stored"), [
    # 400x200 stored, Orientation 6 (shown 200x400): "scale" into 96x96 is
    # 48x96 as shown, 96x48 of the stored pixels.
    (Plan((48, 96), None), "ROTATE_270", Plan((96, 48), None)),
    (Plan((48, 96), None), "ROTATE_90", Plan((96, 48), None)),
    (Plan((48, 96), None), "ROTATE_180", Plan((48, 96), None)),
    (Plan((48, 96), None), None, Plan((48, 96), None)),
    # "crop": the centre cut of the shown 96x192 is the centre of the stored 192x96.
    (Plan((96, 192), (0, 48, 96, 144)), "ROTATE_270", Plan((192, 96), (48, 0, 144, 96))),
    # an off-centre cut moves to the side the turn brings it from
    (Plan((100, 50), (0, 0, 10, 5)), "ROTATE_270", Plan((50, 100), (0, 90, 5, 100))),
    (Plan((100, 50), (0, 0, 10, 5)), "ROTATE_90", Plan((50, 100), (45, 0, 50, 10))),
    (Plan((100, 50), (0, 0, 10, 5)), "ROTATE_180", Plan((100, 50), (90, 45, 100, 50))),
    (Plan((100, 50), (0, 0, 10, 5)), "FLIP_LEFT_RIGHT", Plan((100, 50), (90, 0, 100, 5))),
    (Plan((100, 50), (0, 0, 10, 5)), "FLIP_TOP_BOTTOM", Plan((100, 50), (0, 45, 10, 50))),
    (Plan((100, 50), (0, 0, 10, 5)), "TRANSPOSE", Plan((50, 100), (0, 0, 5, 10))),
    (Plan((100, 50), (0, 0, 10, 5)), "TRANSVERSE", Plan((50, 100), (45, 90, 50, 100))),
])
def test_stored_plan(shown: Plan, turn: Turn | None, stored: Plan) -> None:
    assert stored_plan(shown, turn) == stored
    assert turned_size(stored.size, turn) == shown.size


@pytest.mark.parametrize(("address", "forbidden"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("10.0.0.1", True), ("172.16.5.4", True),
    ("192.168.1.1", True), ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True),
    ("224.0.0.1", True), ("255.255.255.255", True), ("::1", True), ("::", True), ("fe80::1", True),
    ("fc00::1", True), ("::ffff:127.0.0.1", True), ("::ffff:10.1.2.3", True),
    ("2002:7f00:1::", True), ("64:ff9b::a00:1", True), ("ff02::1", True),
    ("8.8.8.8", False), ("1.1.1.1", False), ("2606:4700:4700::1111", False),
    ("::ffff:8.8.8.8", False),
])
def test_forbidden_addresses(address: str, forbidden: bool) -> None:
    assert is_forbidden(ipaddress.ip_address(address)) is forbidden


@pytest.mark.parametrize("url", [
    "ftp://example.org/", "file:///etc/passwd", "javascript:alert(1)", "http://",
    "http://user:pw@example.org/", "http://example.org:99999/", "gopher://x/",
])
def test_refused_urls(url: str) -> None:
    with pytest.raises(PreviewRefused):
        parse_target(url)


def test_parse_target() -> None:
    target = parse_target("https://Example.org/a/b?c=d#frag")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "example.org", 443, "/a/b?c=d")
    assert parse_target("http://[::1]:8080").port == 8080
