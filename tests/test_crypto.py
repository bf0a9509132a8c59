"""Field encryption, key rings and password hashing (no database needed)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbl_db.crypto.cipher import Context, DecryptError, KeyRing, parse_token
from pbl_db.crypto.fields import decrypt_json, decrypt_row, encrypt_json, encrypt_row
from pbl_db.crypto.keys import (
    DEV_SEED_KEY,
    encode_key,
    load_keyring,
    read_key_file,
    write_key_file,
)
from pbl_db.errors import ConfigError, RefusedError
from pbl_db.passwords import hash_password, hash_password_scrypt, verify_password

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
RING = KeyRing({"a": KEY_A, "b": KEY_B}, "a")
ROW, TENANT = uuid.uuid4(), uuid.uuid4()
CTX = Context("applications", "ssn_encrypted", ROW, TENANT)


def test_token_format_and_round_trip() -> None:
    token = RING.encrypt("123-45-6789", CTX)
    assert token.startswith("pbl:v1:a:")
    assert "123-45-6789" not in token
    assert RING.decrypt_text(token, CTX) == "123-45-6789"
    assert RING.encrypt("123-45-6789", CTX) != token  # fresh nonce every time


def test_older_keys_still_decrypt() -> None:
    token = KeyRing({"b": KEY_B}, "b").encrypt("x", CTX)
    assert RING.decrypt_text(token, CTX) == "x"


@pytest.mark.parametrize(
    "moved",
    [
        Context("applications", "ssn_encrypted", uuid.uuid4(), TENANT),  # another row
        Context("applications", "email", ROW, TENANT),  # another column
        Context("users", "ssn_encrypted", ROW, TENANT),  # another table
        Context("applications", "ssn_encrypted", ROW, uuid.uuid4()),  # another tenant
    ],
)
def test_value_moved_elsewhere_fails(moved: Context) -> None:
    token = RING.encrypt("123-45-6789", CTX)
    with pytest.raises(DecryptError, match="tampered with, moved") as caught:
        RING.decrypt(token, moved)
    # the message names the context it tried, the tenant included
    assert moved.describe() in str(caught.value) and str(moved.tenant_id) in str(caught.value)


def test_relabelled_key_id_fails() -> None:
    other = KeyRing({"a": KEY_A, "b": KEY_A}, "a")  # same key under two ids
    token = other.encrypt("x", CTX)
    with pytest.raises(DecryptError):
        other.decrypt(token.replace("pbl:v1:a:", "pbl:v1:b:"), CTX)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("123-45-6789", "not a pbl encrypted token"),
        ("pbl:v9:a:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "unsupported token version v9"),
        (
            "pbl:v1:zz:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "key zz, which is not in the key ring",
        ),
        ("pbl:v1:a:AAAA", "too short"),
    ],
)
def test_bad_tokens_are_clear_errors(token: str, message: str) -> None:
    with pytest.raises(DecryptError, match=message):
        RING.decrypt(token, CTX)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_round_trip_any_text(text: str) -> None:
    assert RING.decrypt_text(RING.encrypt(text, CTX), CTX) == text


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1), st.data())
def test_any_single_byte_change_fails(text: str, data: st.DataObject) -> None:
    token = RING.encrypt(text, CTX)
    _, _, raw = parse_token(token)
    index = data.draw(st.integers(0, len(raw) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytes(b ^ flip if i == index else b for i, b in enumerate(raw))
    body = base64.urlsafe_b64encode(tampered).rstrip(b"=").decode()
    with pytest.raises(DecryptError):
        RING.decrypt(f"pbl:v1:a:{body}", CTX)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.tuples(st.text(), st.text(), st.text(min_size=1), st.text(min_size=1)))
def test_aad_mismatch_fails(text: str, where: tuple[str, str, str, str]) -> None:
    other = Context(*where)
    token = RING.encrypt(text, CTX)
    if other == CTX:
        return  # the one context that must open it
    with pytest.raises(DecryptError):
        RING.decrypt(token, other)


def test_json_wrapper_and_rows() -> None:
    ctx = Context("applications", "address", ROW, TENANT)
    wrapped = encrypt_json(RING, {"city": "Austin", "zip": "78701"}, ctx)
    assert list(wrapped) == ["pbl_encrypted"] and "Austin" not in json.dumps(wrapped)
    assert decrypt_json(RING, wrapped, ctx) == {"city": "Austin", "zip": "78701"}
    with pytest.raises(DecryptError, match="wrapper"):
        decrypt_json(RING, {"city": "Austin"}, ctx)
    row = {
        "id": ROW,
        "tenant_id": TENANT,
        "ssn_encrypted": "123-45-6789",
        "address": {"city": "Austin"},
        "credit_report": None,
        "full_legal_name": "A",
    }
    sealed = encrypt_row(RING, "applications", row)
    assert sealed["ssn_encrypted"].startswith("pbl:v1:a:")
    assert sealed["credit_report"] is None and sealed["full_legal_name"] == "A"
    assert decrypt_row(RING, "applications", sealed) == row


def test_keyring_validation() -> None:
    with pytest.raises(ConfigError, match="16 bytes"):
        KeyRing({"a": bytes(16)}, "a")
    with pytest.raises(ConfigError, match="active key"):
        KeyRing({"a": KEY_A}, "b")
    with pytest.raises(ConfigError, match="entry 1 has a malformed key id"):
        KeyRing({"a b": KEY_A}, "a b")


def test_keys_from_environment() -> None:
    env = {"PBL_ENCRYPTION_KEYS": f"new:{encode_key(KEY_B)},old:{encode_key(KEY_A)}"}
    ring = load_keyring(environ=env)
    assert ring.active == "new" and set(ring.key_ids) == {"new", "old"}
    assert load_keyring(environ={**env, "PBL_ENCRYPTION_ACTIVE_KEY": "old"}).active == "old"
    with pytest.raises(ConfigError, match="not valid base64"):
        load_keyring(environ={"PBL_ENCRYPTION_KEYS": "k:not*base64"})
    with pytest.raises(ConfigError, match="needs 32"):
        load_keyring(environ={"PBL_ENCRYPTION_KEYS": f"k:{encode_key(bytes(20))}"})
    with pytest.raises(ConfigError, match="duplicate key k in"):
        load_keyring(
            environ={"PBL_ENCRYPTION_KEYS": f"k:{encode_key(KEY_A)},k:{encode_key(KEY_B)}"}
        )
    with pytest.raises(ConfigError, match="no encryption keys"):
        load_keyring(environ={})


def test_key_file_mode_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_key_file(path, {"a": KEY_A, "b": KEY_B}, "b")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_keyring(path, environ={}).active == "b"
    path.chmod(0o640)
    with pytest.raises(RefusedError, match="chmod 600"):
        read_key_file(path)
    dup = tmp_path / "dup.json"
    a, b = encode_key(KEY_A), encode_key(KEY_B)
    dup.write_text(f'{{"active": "a", "keys": {{"a": "{a}", "a": "{b}"}}}}')
    dup.chmod(0o600)
    with pytest.raises(ConfigError, match="duplicate key a in"):
        read_key_file(dup)


def test_dev_seed_key_refused_in_production() -> None:
    env = {"PBL_ENCRYPTION_KEYS": f"dev-seed:{encode_key(DEV_SEED_KEY)}"}
    assert load_keyring(environ=env).active == "dev-seed"
    with pytest.raises(RefusedError, match="development seed key"):
        load_keyring(environ={**env, "PBL_ENV": "production"})


def test_password_hashing() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password("correct horse", stored).ok
    assert verify_password("correct horse", stored).new_hash is None
    assert not verify_password("wrong horse", stored).ok
    assert not verify_password("anything", "plaintext").ok


def test_weaker_hashes_are_upgraded_on_verify() -> None:
    from pbl_db import passwords

    weak = passwords._argon2(b"pw", b"0123456789abcdef", 8192, 1, 1, 32)
    salt = passwords._b64(b"0123456789abcdef")
    stored = f"$argon2id$v=19$m=8192,t=1,p=1${salt}${passwords._b64(weak)}"
    result = verify_password("pw", stored)
    assert result.ok and result.new_hash and result.new_hash.startswith("$argon2id$v=19$m=19456")
    scrypt = hash_password_scrypt("pw")
    upgraded = verify_password("pw", scrypt)
    assert upgraded.ok and upgraded.new_hash and upgraded.new_hash.startswith("$argon2id$")
    assert not verify_password("nope", scrypt).ok


def test_a_key_pasted_as_the_id_never_reaches_an_error() -> None:
    secret = encode_key(KEY_B)
    for env in (f"{secret}:k1", f"{secret}:{encode_key(KEY_A)}", f"{secret}:{secret}"):
        with pytest.raises(ConfigError) as info:
            load_keyring(environ={"PBL_ENCRYPTION_KEYS": env})
        assert secret not in str(info.value) and secret[:12] not in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        '{"keys": ["a"]}',
        '{"keys": {"a": 5}}',
        '{"keys": {}}',
        "[]",
        "not json",
        '{"active": 3, "keys": {"a": "' + encode_key(KEY_A) + '"}}',
    ],
)
def test_malformed_key_files_are_config_errors(tmp_path: Path, content: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="not pbl's format"):
        read_key_file(path)


def test_one_spelling_per_token() -> None:
    token = RING.encrypt("1234567890", CTX)
    with pytest.raises(DecryptError):
        RING.decrypt(token + "\n", CTX)
    prefix, body = token.rsplit(":", 1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    others = [prefix + ":" + body[:-1] + c for c in alphabet if c != body[-1]]
    opened = []
    for other in others:
        try:
            RING.decrypt(other, CTX)
            opened.append(other)
        except DecryptError:
            pass
    assert opened == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Context("t", "c", "x\x1fy", "z"), Context("t", "c", "x", "y\x1fz")),
        (Context("t", "c;", "x", "y"), Context("t", "c", ";x", "y")),
        (Context("t", "c", "1:x;", "y"), Context("t", "c", "1", "x;y")),
    ],
)
def test_different_contexts_never_share_associated_data(a: Context, b: Context) -> None:
    assert a.aad("k") != b.aad("k")
    with pytest.raises(DecryptError):
        RING.decrypt(RING.encrypt("x", a), b)


def test_contexts_need_ids() -> None:
    with pytest.raises(ValueError, match="required"):
        Context("applications", "ssn_encrypted", None, TENANT)
    upper = Context("applications", "ssn_encrypted", str(ROW).upper(), TENANT)
    assert upper.aad("a") == CTX.aad("a")  # one UUID, any spelling


@pytest.mark.parametrize(
    "stored",
    [
        "$argon2id$v=19$m=0,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=19456,t=2,p=1$c$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFz",
        "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "$scrypt$ln=40,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "$scrypt$ln=17,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n",
    ],
)
def test_malformed_or_hostile_hashes_just_fail(stored: str) -> None:
    assert verify_password("pw", stored).ok is False
