"""End-to-end scenarios: matrix-js-sdk, a client we did not write, against a
real `kith serve`.

Each scenario is a node script in tests/clients/js/ that registers fresh users,
syncs, and asserts what a user expects; see the scripts for the steps. A
failing script prints the step that failed and the last HTTP exchanges, which
this test shows together with the end of the server's log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from js_runner import own_server, run_script, run_script_with_restart  # type: ignore[import-not-found]

SCENARIOS = ["accounts", "rooms_messaging", "pagination", "ephemeral_relations", "rejoin", "profile_avatar",
             "relations_redactions"]
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


FLAGS = ("--registration", "open", "--rate-limit", "off")
RESTART_TIMEOUT_S = 180


def test_js_sdk_syncs_on_across_a_server_restart(start_server_fn: Callable[..., Any], tmp_path: Path,
                                                  js_packages: Path) -> None:
    """restart.mjs: one client syncing through a SIGTERM and restart, another
    closed before it and reopened after, each resuming from its since token
    with the same access token (client-server-api "Syncing"). The server comes
    back on the same data directory and port, so the clients see one server."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "kith.toml").write_text('encryption = "off"\n')
    servers = [start_server_fn(data_dir, *FLAGS)]

    def restart() -> Any:
        old = servers[-1]
        assert old.stop() == 0, f"unclean shutdown, see {old.log_path}"
        servers.append(start_server_fn(data_dir, *FLAGS, port=old.port))
        assert servers[-1].base_url == old.base_url
        return servers[-1]

    try:
        run_script_with_restart("restart.mjs", [servers[0].base_url], servers[0], restart, RESTART_TIMEOUT_S,
                                env={"KITH_JS_DEADLINE_MS": str((RESTART_TIMEOUT_S - 10) * 1000)})
        assert len(servers) == 2
    finally:
        for running in servers:
            running.stop()
