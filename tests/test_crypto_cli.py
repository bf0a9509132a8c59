"""pbl crypto keygen / encrypt / decrypt / hash-password: values never on argv."""

from __future__ import annotations

import io
import json
import os
import stat
import uuid
from pathlib import Path

import pytest

from pbl_db.passwords import verify_password

ROW, TENANT = str(uuid.uuid4()), str(uuid.uuid4())
WHERE = (
    "--table",
    "applications",
    "--column",
    "ssn_encrypted",
    "--row-id",
    ROW,
    "--tenant-id",
    TENANT,
)


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_keygen_prints_a_usable_key(pbl, monkeypatch: pytest.MonkeyPatch) -> None:
    result = pbl("crypto", "keygen", "--id", "k1")
    assert result.code == 0
    monkeypatch.setenv("PBL_ENCRYPTION_KEYS", result.out.strip())
    stdin(monkeypatch, "123-45-6789\n")
    token = pbl("crypto", "encrypt", *WHERE).out.strip()
    assert token.startswith("pbl:v1:k1:")
    stdin(monkeypatch, token)
    assert pbl("crypto", "decrypt", *WHERE).out.strip() == "123-45-6789"


def test_key_file_rotation_flow(pbl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "keys.json"
    assert pbl("crypto", "keygen", "--id", "old", "--out", str(keys)).code == 0
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o600
    stdin(monkeypatch, "555-12-3456")
    old_token = pbl("crypto", "encrypt", *WHERE, "--key-file", str(keys)).out.strip()
    assert pbl("crypto", "keygen", "--id", "new", "--out", str(keys)).code == 0
    assert json.loads(keys.read_text())["active"] == "new"
    assert pbl("crypto", "keygen", "--id", "new", "--out", str(keys)).code == 2  # duplicate id
    stdin(monkeypatch, old_token)
    assert pbl("crypto", "decrypt", *WHERE, "--key-file", str(keys)).out.strip() == "555-12-3456"
    keys.chmod(0o644)
    stdin(monkeypatch, old_token)
    refused = pbl("crypto", "decrypt", *WHERE, "--key-file", str(keys))
    assert refused.code == 4 and "chmod 600" in refused.err


def test_json_values(pbl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBL_ENCRYPTION_KEYS", pbl("crypto", "keygen").out.strip())
    where = (
        "--table",
        "applications",
        "--column",
        "address",
        "--row-id",
        ROW,
        "--tenant-id",
        TENANT,
    )
    stdin(monkeypatch, '{"city": "Austin"}')
    wrapper = pbl("crypto", "encrypt", *where, "--json-value").out.strip()
    assert list(json.loads(wrapper)) == ["pbl_encrypted"]
    stdin(monkeypatch, wrapper)
    assert json.loads(pbl("crypto", "decrypt", *where).out) == {"city": "Austin"}


def test_wrong_context_fails_cleanly(pbl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBL_ENCRYPTION_KEYS", pbl("crypto", "keygen").out.strip())
    stdin(monkeypatch, "123-45-6789")
    token = pbl("crypto", "encrypt", *WHERE).out.strip()
    stdin(monkeypatch, token)
    other = (
        "--table",
        "applications",
        "--column",
        "ssn_encrypted",
        "--row-id",
        str(uuid.uuid4()),
        "--tenant-id",
        TENANT,
    )
    result = pbl("crypto", "decrypt", *other)
    assert result.code == 1 and "moved from another row" in result.err
    assert "123-45-6789" not in result.err and "Traceback" not in result.err


def test_hash_password_reads_stdin(pbl, monkeypatch: pytest.MonkeyPatch) -> None:
    stdin(monkeypatch, "hunter2-but-longer\n")
    result = pbl("crypto", "hash-password")
    assert result.code == 0
    assert verify_password("hunter2-but-longer", result.out.strip()).ok
    stdin(monkeypatch, "")
    assert pbl("crypto", "hash-password").code == 2


def test_no_keys_is_a_clear_error(pbl, monkeypatch: pytest.MonkeyPatch) -> None:
    stdin(monkeypatch, "x")
    result = pbl("crypto", "encrypt", *WHERE)
    assert result.code == 2 and "PBL_ENCRYPTION_KEYS" in result.err


def test_a_wrong_context_is_named_not_blamed_on_the_token(
    pbl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PBL_ENCRYPTION_KEYS", pbl("crypto", "keygen").out.strip())
    stdin(monkeypatch, "123-45-6789")
    token = pbl("crypto", "encrypt", *WHERE).out.strip()
    other_tenant = str(uuid.uuid4())
    stdin(monkeypatch, token)
    result = pbl("crypto", "decrypt", *WHERE[:6], "--tenant-id", other_tenant)
    assert result.code == 1
    assert f"row {ROW}, tenant {other_tenant}" in result.err
    assert "the context is wrong" in result.err and "applications.ssn_encrypted" in result.err
    # not an encrypted field, or ids that are not UUIDs: a usage error before any key is read
    stdin(monkeypatch, token)
    unknown = pbl("crypto", "decrypt", "--table", "nosuch", *WHERE[2:])
    assert unknown.code == 2 and "users.mfa_secret" in unknown.err
    stdin(monkeypatch, token)
    slug = pbl("crypto", "decrypt", *WHERE[:6], "--tenant-id", "demo-42-1")
    assert slug.code == 2 and "--tenant-id is not a UUID" in slug.err


def test_plaintext_that_is_not_utf8_is_a_clear_failure(
    pbl, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pbl_db.crypto.cipher import Context
    from pbl_db.crypto.keys import load_keyring

    monkeypatch.setenv("PBL_ENCRYPTION_KEYS", pbl("crypto", "keygen").out.strip())
    ring = load_keyring()
    token = ring.encrypt(b"\xff\xfe", Context("applications", "ssn_encrypted", ROW, TENANT))
    stdin(monkeypatch, token)
    result = pbl("crypto", "decrypt", *WHERE)
    assert result.code == 1 and "does not decrypt to UTF-8 text" in result.err
    assert "internal error" not in result.err


def test_a_directory_is_not_a_key_file(
    pbl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for mode in (0o755, 0o700):
        keys = tmp_path / f"dir{mode:o}"
        keys.mkdir(mode=mode)
        keys.chmod(mode)
        stdin(monkeypatch, "x")
        result = pbl("crypto", "encrypt", *WHERE, "--key-file", str(keys))
        assert result.code == 2 and "is a directory" in result.err, result.err
        assert "chmod" not in result.err
        added = pbl("crypto", "keygen", "--out", str(keys))
        assert added.code == 2 and "is a directory" in added.err, added.err
        assert list(keys.iterdir()) == []


def test_an_explicit_key_file_is_never_ignored(pbl, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    # refused before connecting: the database URL is never used
    result = pbl(
        "crypto",
        "key-usage",
        "--key-file",
        str(missing),
        "--database-url",
        "postgresql://x@/nodb?host=/nonexistent",
    )
    assert result.code == 2 and "does not exist" in result.err, result.err
    empty = pbl("crypto", "key-usage", "--key-file", "")
    assert empty.code == 2 and "--key-file is empty" in empty.err


def test_keygen_out_is_checked_up_front(pbl, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert pbl("crypto", "keygen", "--out", str(fifo)).code == 2
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    (tmp_path / "afile").write_text("x")
    for out, says in (
        (tmp_path / "nope" / "keys", "does not exist"),
        (tmp_path / "afile" / "keys", "is not a directory"),
    ):
        result = pbl("crypto", "keygen", "--out", str(out))
        assert result.code == 2 and says in result.err, result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "fifo"]


def test_retire_never_echoes_a_pasted_key(pbl, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    assert pbl("crypto", "keygen", "--id", "k1", "--out", str(keys)).code == 0
    pasted = "k1:" + "A" * 43 + "="
    for extra in ((), ("--dry-run",)):
        result = pbl("crypto", "retire", pasted, "--key-file", str(keys), *extra)
        assert result.code == 2 and "not a valid key id" in result.err
        assert "AAAA" not in result.err
