"""Running the ASGI app under uvicorn, with a clean SIGTERM.

On SIGTERM/SIGINT the server stops accepting connections, long-polling /sync
requests are released at once (they answer with what they have), in-flight
requests finish, and only then is the database closed.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
from types import FrameType

import uvicorn

from kith.app import App


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: App) -> None:
        super().__init__(config)
        self._kith = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._kith.begin_shutdown()
        super().handle_exit(sig, frame)
        # A requested shutdown that completed cleanly exits with status 0
        # rather than re-raising the signal after the drain.
        self._captured_signals.clear()


def _return_freed_memory() -> None:
    """glibc raises its mmap threshold after large blocks (argon2's 19 MiB) are
    freed, after which such blocks stay in the heap and RSS never shrinks.
    Pinning the threshold at 1 MiB (M_MMAP_THRESHOLD = -3) keeps large blocks
    mmapped, so their memory goes back to the system when freed."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 20)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def serve(app: App) -> None:
    _return_freed_memory()
    config = app.config
    logging.basicConfig(
        level=getattr(logging, config.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    uv_config = uvicorn.Config(
        app.asgi,
        host=config.listen_host,
        port=config.listen_port,
        lifespan="on",
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=15,
        server_header=False,
    )
    server = _Server(uv_config, app)
    asyncio.run(server.serve())
