"""The storage contract's fixtures: one `backend` per database Kith supports.

Every test in tests/store runs once per entry of BACKENDS and checks what a
store promises its callers, never the SQL it runs; a second backend passes
when it joins BACKENDS and this suite stays green.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kith.store.database import Database
from storekit import BACKENDS, Backend, Rooms, open_backend  # type: ignore[import-not-found]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    opened = open_backend(str(request.param), tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def db(backend: Backend) -> Database:
    return backend.db


@pytest.fixture
def rooms(db: Database) -> Rooms:
    return Rooms(db)
