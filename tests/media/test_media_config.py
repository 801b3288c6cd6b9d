"""The [media] table of kith.toml and the --legacy-media flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from kith import config as config_mod
from kith.cli import _base_config, build_parser
from kith.config import ConfigError


def test_defaults_are_written_and_read(tmp_path: Path) -> None:
    loaded = config_mod.load(tmp_path)
    text = (tmp_path / "kith.toml").read_text()
    assert "[media]" in text and "max_upload_bytes = 104857600" in text
    assert loaded.media_max_upload_bytes == 100 * 1024 * 1024
    assert loaded.media_user_quota_bytes == 0
    assert loaded.media_max_thumbnail_pixels == 24_000_000
    assert "max_thumbnail_pixels = 24000000" in text
    assert loaded.media_legacy is False and loaded.media_url_preview is False
    assert loaded.media_dir == tmp_path / "media"


def test_values_from_toml(tmp_path: Path) -> None:
    (tmp_path / "kith.toml").write_text(
        "[media]\nmax_upload_bytes = 1048576\nuser_quota_bytes = 5000\nmax_thumbnail_pixels = 10\n"
        "legacy = true\nurl_preview = true\n")
    loaded = config_mod.load(tmp_path)
    assert (loaded.media_max_upload_bytes, loaded.media_user_quota_bytes,
            loaded.media_max_thumbnail_pixels) == (1048576, 5000, 10)
    assert loaded.media_legacy and loaded.media_url_preview


@pytest.mark.parametrize("body", [
    "max_upload_bytes = 0", "max_upload_bytes = \"big\"", "max_upload_bytes = true",
    "user_quota_bytes = -1", "legacy = 1", "url_preview = \"yes\"",
])
def test_bad_values(tmp_path: Path, body: str) -> None:
    (tmp_path / "kith.toml").write_text(f"[media]\n{body}\n")
    with pytest.raises(ConfigError):
        config_mod.load(tmp_path)


def test_legacy_media_flag(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--data-dir", str(tmp_path), "serve", "--legacy-media"])
    assert _base_config(args).media_legacy is True
    args = build_parser().parse_args(["--data-dir", str(tmp_path), "serve"])
    assert _base_config(args).media_legacy is False
