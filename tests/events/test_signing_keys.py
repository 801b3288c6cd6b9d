"""Signing keys, key files and JSON signatures (spec appendices "Signing JSON")."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from signedjson.key import decode_signing_key_base64

from kith.signing import (
    InvalidSignature,
    SigningKey,
    SigningKeyFileError,
    decode_verify_key,
    encode_verify_key,
    generate_signing_key,
    get_verify_key,
    key_id,
    read_signing_key,
    sign_json,
    verify_json,
    write_signing_key,
)

# Spec appendices "Cryptographic Test Vectors".
SPEC_SEED_B64 = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"


def spec_key() -> SigningKey:
    return decode_signing_key_base64("ed25519", "1", SPEC_SEED_B64)


def test_spec_vector_empty_object() -> None:
    assert sign_json({}, "domain", spec_key()) == {
        "signatures": {
            "domain": {
                "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
            }
        }
    }


def test_spec_vector_object_with_values() -> None:
    assert sign_json({"one": 1, "two": "Two"}, "domain", spec_key()) == {
        "one": 1,
        "signatures": {
            "domain": {
                "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
            }
        },
        "two": "Two",
    }


def test_sign_does_not_mutate_and_keeps_other_signatures() -> None:
    original: dict[str, Any] = {
        "a": 1,
        "signatures": {"other.org": {"ed25519:x": "sig"}, "domain": {"ed25519:0": "old"}},
        "unsigned": {"age_ts": 5},
    }
    snapshot = repr(original)
    signed = sign_json(original, "domain", spec_key())
    assert repr(original) == snapshot
    assert signed["signatures"]["other.org"] == {"ed25519:x": "sig"}
    assert set(signed["signatures"]["domain"]) == {"ed25519:0", "ed25519:1"}
    assert signed["unsigned"] == {"age_ts": 5}
    # Signatures and unsigned are outside the signed bytes, so the new signature
    # equals the one over the bare object.
    assert (
        signed["signatures"]["domain"]["ed25519:1"]
        == sign_json({"a": 1}, "domain", spec_key())["signatures"]["domain"]["ed25519:1"]
    )


def test_round_trip_and_unsigned_changes_allowed() -> None:
    key = generate_signing_key()
    signed = sign_json({"x": [1, 2], "y": {"z": "é"}}, "example.org", key)
    verify_json(signed, "example.org", get_verify_key(key))
    # Intermediaries may add unsigned data and more signatures (appendices
    # "Signing Details").
    signed["unsigned"] = {"age": 10}
    signed["signatures"]["relay.org"] = {"ed25519:r": "zzz"}
    verify_json(signed, "example.org", get_verify_key(key))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda o: o.__setitem__("x", [1, 3]),
        lambda o: o.__setitem__("extra", True),
        lambda o: o.pop("y"),
        lambda o: o["y"].__setitem__("z", "e"),
    ],
)
def test_tamper_detected(tamper: Any) -> None:
    key = generate_signing_key()
    signed = sign_json({"x": [1, 2], "y": {"z": "é"}}, "example.org", key)
    tamper(signed)
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_json(signed, "example.org", get_verify_key(key))


def test_verify_failures_are_explained() -> None:
    key = generate_signing_key("k1")
    signed = sign_json({"a": 1}, "example.org", key)
    verify_key = get_verify_key(key)
    with pytest.raises(InvalidSignature, match="no signatures"):
        verify_json({"a": 1}, "example.org", verify_key)
    with pytest.raises(InvalidSignature, match="not signed by other.org"):
        verify_json(signed, "other.org", verify_key)
    other = generate_signing_key("k2")
    with pytest.raises(InvalidSignature, match="ed25519:k2"):
        verify_json(signed, "example.org", get_verify_key(other))
    # Same key ID, different key material.
    impostor = generate_signing_key("k1")
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_json(signed, "example.org", get_verify_key(impostor))
    bad = dict(signed, signatures={"example.org": {"ed25519:k1": "!!not base64!!"}})
    with pytest.raises(InvalidSignature, match="base64"):
        verify_json(bad, "example.org", verify_key)
    short = dict(signed, signatures={"example.org": {"ed25519:k1": "AAAA"}})
    with pytest.raises(InvalidSignature):
        verify_json(short, "example.org", verify_key)


def test_padded_signature_accepted() -> None:
    # appendices "Unpadded Base64": decoders SHOULD accept padding too.
    key = spec_key()
    signed = sign_json({"one": 1}, "domain", key)
    signed["signatures"]["domain"]["ed25519:1"] += "=="
    verify_json(signed, "domain", get_verify_key(key))


def test_generated_version_and_key_id() -> None:
    key = generate_signing_key()
    assert re.fullmatch(r"a_[A-Za-z]{4}", key.version)
    assert key_id(key) == f"ed25519:{key.version}"
    assert key_id(get_verify_key(key)) == key_id(key)
    assert generate_signing_key("abc_1").version == "abc_1"
    for bad in ("", "a:b", "a b", "é"):
        with pytest.raises(ValueError):
            generate_signing_key(bad)


def test_verify_key_encoding_round_trip() -> None:
    key = generate_signing_key("v")
    encoded = encode_verify_key(get_verify_key(key))
    decoded = decode_verify_key("ed25519:v", encoded)
    assert bytes(decoded) == bytes(get_verify_key(key))
    verify_json(sign_json({"q": 1}, "s", key), "s", decoded)
    for bad_id in ("curve25519:v", "ed25519:", "ed25519"):
        with pytest.raises(ValueError):
            decode_verify_key(bad_id, encoded)
    with pytest.raises(ValueError):
        decode_verify_key("ed25519:v", "AAAA")


def test_key_file_round_trip_and_mode(tmp_path: Path) -> None:
    key = generate_signing_key()
    path = tmp_path / "signing.key"
    write_signing_key(path, key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    line = path.read_text()
    assert re.fullmatch(r"ed25519 a_[A-Za-z]{4} [A-Za-z0-9+/]{43}\n", line)
    loaded = read_signing_key(path)
    assert loaded.version == key.version
    assert bytes(loaded) == bytes(key)
    # Only the temp-then-rename file ever appears.
    assert [p.name for p in tmp_path.iterdir()] == ["signing.key"]


def test_key_file_spec_seed(tmp_path: Path) -> None:
    path = tmp_path / "k"
    write_signing_key(path, spec_key())
    # The spec's seed string has non-zero unused bits in its last character
    # ("...XA1"); re-encoding the same 32 bytes gives the canonical "...XA0".
    assert path.read_text() == f"ed25519 1 {SPEC_SEED_B64[:-1]}0\n"
    reread = read_signing_key(path)
    assert sign_json({}, "domain", reread) == sign_json({}, "domain", spec_key())


def test_key_file_overwrite_tightens_mode(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_signing_key(path, spec_key())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "exactly one"),
        (f"ed25519 1 {SPEC_SEED_B64}\ned25519 2 {SPEC_SEED_B64}\n", "exactly one"),
        ("ed25519 1\n", "expected"),
        (f"curve25519 1 {SPEC_SEED_B64}\n", "unsupported algorithm"),
        ("ed25519 1 @@@@\n", "bad key"),
        ("ed25519 1 AAAA\n", "bad key"),
        (f"ed25519 a:b {SPEC_SEED_B64}\n", "bad key"),
    ],
)
def test_bad_key_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "k"
    path.write_text(text)
    with pytest.raises(SigningKeyFileError, match=message):
        read_signing_key(path)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyFileError, match="cannot read"):
        read_signing_key(tmp_path / "absent")


def test_key_file_blank_lines_ignored(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text(f"\n  \ned25519 1 {SPEC_SEED_B64}\n\n")
    assert bytes(read_signing_key(path)) == bytes(spec_key())
