"""Shared by the matrix-js-sdk tests of this directory: js_runner on the
import path and the node packages as a session fixture."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from js_runner import install_js_packages  # noqa: E402

# nio/helpers.py as `nio_helpers`: a plain `helpers` module name would clash
# across test directories (see nio/conftest.py).
_spec = importlib.util.spec_from_file_location("nio_helpers", Path(__file__).parent / "nio" / "helpers.py")
assert _spec is not None and _spec.loader is not None
sys.modules["nio_helpers"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sys.modules["nio_helpers"])


@pytest.fixture(scope="session")
def js_packages() -> Path:
    """The node packages, installed from package-lock.json as the Makefile does."""
    return install_js_packages()


@pytest.fixture
def crypto_server(start_server_fn: Callable[..., Any], tmp_path: Path) -> Iterator[Any]:
    """A server for each end-to-end encryption scenario, with the default
    kith.toml (encryption on for new private rooms and DMs): open
    registration, no rate limits."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    running = start_server_fn(data_dir, "--registration", "open", "--rate-limit", "off")
    yield running
    running.stop()
