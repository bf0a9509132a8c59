"""pbl crypto: the field, the ids and the input checked before a key is read; key files and
--out checked up front; no key id echoed in full."""

from tests.bad_input import case

UUID = "00000000-0000-4000-8000-000000000001"


def _where(table: str = "applications", column: str = "ssn_encrypted") -> tuple[str, ...]:
    return ("--table", table, "--column", column, "--row-id", UUID, "--tenant-id", UUID)


SSN = _where()
ADDRESS = _where(column="address")
TOKEN = b"pbl:v1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

CASES = [
    # the field must be a known encrypted one; the ids UUIDs (the token could never open)
    *(
        case("crypto", verb, *where, says="is not an encrypted field", stdin=b"x")
        for verb in ("encrypt", "decrypt")
        for where in (
            _where(table="nosuch"),
            _where(column="nosuch"),
            _where(table="{long}"),
            _where(table="\udcff"),  # argv that was not UTF-8
        )
    ),
    case("crypto", "encrypt", *_where(table="x"), says="applications.ssn_encrypted", stdin=b"x"),
    *(
        case("crypto", verb, *SSN[:4], *ids, says=f"{bad} is not a uuid", stdin=b"x")
        for verb in ("encrypt", "decrypt")
        for ids, bad in (
            (("--row-id", "not-a-uuid", "--tenant-id", UUID), "--row-id"),
            (("--row-id", "{long}", "--tenant-id", UUID), "--row-id"),
            (("--row-id", UUID, "--tenant-id", "demo-42-1"), "--tenant-id"),
        )
    ),
    # the kind must match the field
    case("crypto", "encrypt", *SSN, "--json-value", says="holds text", stdin=b'{"a":1}'),
    case("crypto", "encrypt", *ADDRESS, says="--json-value is required", stdin=b'{"a":1}'),
    case("crypto", "decrypt", *SSN, says="holds a text token", stdin=b'{"pbl_encrypted": "x"}'),
    case("crypto", "decrypt", *ADDRESS, says="holds a JSON wrapper", stdin=TOKEN),
    # what a PostgreSQL text or jsonb field cannot hold
    case("crypto", "encrypt", *SSN, says="NUL", stdin=b"abc\x00def"),
    case("crypto", "encrypt", *SSN, says="UTF-8", stdin=b"abc\xff\xfedef"),
    case("crypto", "encrypt", *ADDRESS, "--json-value", says="NUL", stdin=b'{"a": "\\u0000"}'),
    case("crypto", "encrypt", *ADDRESS, "--json-value", says="surrogate", stdin=b'"\\ud800"'),
    case("crypto", "encrypt", *ADDRESS, "--json-value", says="not JSON", stdin=b'{"a": NaN}'),
    case("crypto", "encrypt", *ADDRESS, "--json-value", says="not JSON", stdin=b'{"a": '),
    case(
        "crypto",
        "encrypt",
        *ADDRESS,
        "--json-value",
        says="nested",
        stdin=b"[" * 100_000,
        name="crypto encrypt deeply nested JSON",
    ),
    case("crypto", "decrypt", *SSN, says="UTF-8", stdin=b"abc\xff\xfe"),
    case("crypto", "decrypt", *SSN, says="NUL", stdin=TOKEN + b"\x00"),
    case("crypto", "decrypt", *SSN, says="not a pbl encrypted token", stdin=b"123-45-6789"),
    case("crypto", "decrypt", *ADDRESS, says="not valid JSON", stdin=b'{"pbl_encrypted": '),
    case("crypto", "hash-password", says="UTF-8", stdin=b"abc\xff\xfe"),
    case("crypto", "hash-password", says="NUL", stdin=b"abc\x00def"),
    # key files: explicit ones are never ignored; a directory is not "readable by others"
    *(
        case("crypto", *argv, "--key-file", path, says=says, stdin=b"x")
        for argv in (("encrypt", *SSN), ("key-usage",), ("retire", "k1"))
        for path, says in (
            ("{dir}", "is a directory"),
            ("{missing}", "does not exist"),
            ("{fifo}", "not a regular file"),
            ("{file}/keys", "not a directory"),
            ("", "empty"),
        )
    ),
    case("crypto", "key-usage", "--key-file", "{long}", says="too long"),
    # key ids: never echoed in full (a pasted key must not land in a log)
    case("crypto", "retire", "{long}", "--key-file", "{keys}", says="not a valid key id"),
    case("crypto", "retire", "{long}", "--key-file", "{keys}", "--dry-run", says="not a valid"),
    case("crypto", "retire", "nosuch", "--key-file", "{keys}", says="is not in"),
    case("crypto", "keygen", "--id", "bad id!", says="--id is not a valid key id"),
    case("crypto", "keygen", "--id", "{long}", says="--id is not a valid key id"),
    # keygen --out checked up front
    case("crypto", "keygen", "--out", "{dir}", says="is a directory"),
    case("crypto", "keygen", "--out", "{missing}/keys", says="does not exist"),
    case("crypto", "keygen", "--out", "{file}/keys", says="is not a directory"),
    case("crypto", "keygen", "--out", "{fifo}", says="is a FIFO"),
    case("crypto", "keygen", "--out", "/dev/null", says="character device"),
    case("crypto", "keygen", "--out", "{tmp}/{long}", says="too long"),
    # rotate --batch-size bounded, dry run or not
    *(
        case("crypto", "rotate", "--batch-size", size, *dry, says="range")
        for size in ("0", "1000001", "9223372036854775808", "100000000000000000000")
        for dry in ((), ("--dry-run",))
    ),
]
