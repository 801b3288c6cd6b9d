"""Sync and pagination tokens (kith.sync.tokens): every token the server
hands out parses back to itself, and anything else is 400 M_INVALID_PARAM."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from kith.errors import MatrixError
from kith.sync.tokens import SyncToken, parse_position, parse_sync_token

positions = st.integers(min_value=0, max_value=2**53)


@given(positions, positions, positions)
def test_sync_tokens_round_trip(pos: int, typing: int, to_device: int) -> None:
    token = SyncToken(pos, typing, to_device)
    assert parse_sync_token(token.encode()) == token
    assert parse_position(token.encode()) == pos


@pytest.mark.parametrize(("raw", "expected"), [
    ("s5", SyncToken(5)),
    ("s5_2", SyncToken(5, 2)),          # tokens from before the to-device mark
    ("s5_2_9", SyncToken(5, 2, 9)),
])
def test_older_token_forms_still_parse(raw: str, expected: SyncToken) -> None:
    assert parse_sync_token(raw) == expected


@pytest.mark.parametrize("raw", ["", "x5", "s", "s5_", "s5_2_9_1", "s-1", "s5_a", "s" + "9" * 70])
def test_malformed_tokens_are_invalid_param(raw: str) -> None:
    with pytest.raises(MatrixError) as err:
        parse_sync_token(raw)
    assert err.value.errcode == "M_INVALID_PARAM"
