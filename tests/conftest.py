"""Shared fixtures: an in-process app on a real SQLite file, and a real
`kith serve` subprocess for the end-to-end client tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from kith.app import App, build_app
from kith.config import Config

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    base_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(data_dir: Path, *extra: str, port: int | None = None) -> RunningServer:
    port = port or free_port()
    log_path = data_dir.parent / f"{data_dir.name}-server.log"
    log = open(log_path, "ab")
    args = [sys.executable, "-m", "kith.cli", "--data-dir", str(data_dir), "serve",
            "--listen", f"127.0.0.1:{port}", *extra]
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kith serve exited: {log_path.read_text()}")
        try:
            if httpx.get(base_url + "/_matrix/client/versions", timeout=1).status_code == 200:
                return RunningServer(base_url, data_dir, process, port, log_path)
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("kith serve did not start in time")


@pytest.fixture(name="start_server_fn")
def _start_server_fn() -> object:
    """start_server(data_dir, *flags, port=None) for tests in any folder."""
    return start_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real server for the client tests: open registration, no rate limits."""
    data_dir = tmp_path_factory.mktemp("kith") / "data"
    running = start_server(data_dir, "--registration", "open", "--rate-limit", "off")
    yield running
    running.stop()


@pytest.fixture
def app_config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "data", registration="open", rate_limit=False)


@pytest.fixture
async def app(app_config: Config) -> AsyncIterator[App]:
    built = build_app(app_config)
    await built.startup()
    yield built
    await built.shutdown()


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.asgi)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
        yield http


__all__ = ["RunningServer", "start_server", "free_port", "replace", "os"]
