"""Which key /keys/claim hands out (spec: keys.yaml POST /keys/claim and
end_to_end_encryption.md "One-time and fallback keys").

A one-time key is given out at most once; only when a device has none left
for the algorithm does the server return its fallback key, which stays
available (marked used) until the device replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candidate:
    key_id: str
    json: str


@dataclass(frozen=True, slots=True)
class Choice:
    key_id: str
    json: str
    is_fallback: bool


def choose(one_time: Candidate | None, fallback: Candidate | None) -> Choice | None:
    if one_time is not None:
        return Choice(one_time.key_id, one_time.json, False)
    if fallback is not None:
        return Choice(fallback.key_id, fallback.json, True)
    return None


def parse_claim_request(body: object) -> list[tuple[str, str, str]]:
    """(user_id, device_id, algorithm) triples from the one_time_keys map;
    raises ValueError when the shape is wrong."""
    if not isinstance(body, dict):
        raise ValueError("one_time_keys must be an object")
    wanted = []
    for user_id, devices in body.items():
        if not isinstance(devices, dict):
            raise ValueError("one_time_keys values must be objects")
        for device_id, algorithm in devices.items():
            if not isinstance(algorithm, str):
                raise ValueError("one_time_keys must map devices to algorithm names")
            wanted.append((user_id, device_id, algorithm))
    return wanted
