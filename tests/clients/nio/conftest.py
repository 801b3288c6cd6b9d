"""Fixtures for the matrix-nio end-to-end tests.

Module names: the suite runs in pytest's default "prepend" import mode, where a
test module is imported by its basename, so tests/clients/nio/test_accounts.py
would clash with tests/api/test_accounts.py in a whole-suite run. The test
modules of this directory are therefore imported by path ("importlib" mode, as
tests.clients.nio.test_*), and helpers.py is loaded as `nio_helpers` by
tests/clients/conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from _pytest.pathlib import import_path

import nio_helpers  # type: ignore[import-not-found]  # loaded by tests/clients/conftest.py


class _ModuleImportedByPath(pytest.Module):
    def _getobj(self):  # type: ignore[no-untyped-def]
        module = import_path(self.path, mode="importlib", root=self.config.rootpath,
                             consider_namespace_packages=False)
        self.config.pluginmanager.consider_module(module)
        return module


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module:
    return _ModuleImportedByPath.from_parent(parent, path=module_path)


@pytest.fixture
async def clients(server) -> AsyncIterator["nio_helpers.Clients"]:  # type: ignore[no-untyped-def]
    """nio clients against the shared session server, closed after the test."""
    made = nio_helpers.Clients(server.base_url)
    yield made
    await made.close()


@pytest.fixture
def start_server(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """tests/conftest.py's start_server(data_dir, *flags, port=None), for tests
    that need a server of their own (looked up via pytest, since every
    conftest module is called `conftest`)."""
    root = Path(__file__).resolve().parents[2] / "conftest.py"
    plugin = request.config.pluginmanager.get_plugin(str(root))
    assert plugin is not None, f"{root} is not loaded"
    return plugin.start_server  # type: ignore[no-any-return]
