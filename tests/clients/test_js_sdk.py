"""End-to-end scenarios: matrix-js-sdk, a client we did not write, against a
real `kith serve`.

Each scenario is a node script in tests/clients/js/ that registers fresh users,
syncs, and asserts what a user expects; see the scripts for the steps. A
failing script prints the step that failed and the last HTTP exchanges, which
this test shows together with the end of the server's log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from js_runner import own_server, run_script  # type: ignore[import-not-found]

SCENARIOS = ["accounts", "rooms_messaging", "pagination", "ephemeral_relations"]
SCRIPT_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def plaintext_server(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server of their own for these scenarios, which use no end-to-end
    encryption: its kith.toml says new private rooms are not encrypted by
    default (`encryption = "off"`), which matrix-js-sdk without its crypto
    module needs in order to send into them. Otherwise as the shared `server`:
    open registration, no rate limits."""
    yield from own_server(request, tmp_path_factory, "kith-js", 'encryption = "off"\n')


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_js_sdk_scenario(scenario: str, plaintext_server: Any, js_packages: Path) -> None:
    run_script(f"{scenario}.mjs", [plaintext_server.base_url], plaintext_server, SCRIPT_TIMEOUT_S)
