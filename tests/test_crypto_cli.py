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
