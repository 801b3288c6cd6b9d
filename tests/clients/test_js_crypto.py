"""End-to-end encryption end to end: matrix-js-sdk with its Rust crypto
(@matrix-org/matrix-sdk-crypto-wasm, through client.initRustCrypto()), a
client we did not write, against a real `kith serve`.

Each scenario is a node script tests/clients/js/crypto_<name>.mjs (helpers in
crypto_lib.mjs); see the scripts for the steps. The server is this module's
own, with the default configuration, so new private rooms are encrypted (the
plaintext scenarios of test_js_sdk.py need `encryption = "off"`). A failing
script prints the step that failed and the last HTTP exchanges, which this
test shows together with the end of the server's log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from js_runner import run_script  # type: ignore[import-not-found]

SCENARIOS = ["rooms", "many_devices", "todevice", "verification", "user_verification", "backup"]
SCRIPT_TIMEOUT_S = 150


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_js_crypto_scenario(scenario: str, crypto_server: Any, js_packages: Path) -> None:
    run_script(f"crypto_{scenario}.mjs", [crypto_server.base_url], crypto_server, SCRIPT_TIMEOUT_S,
               env={"KITH_JS_DEADLINE_MS": str((SCRIPT_TIMEOUT_S - 10) * 1000)})
