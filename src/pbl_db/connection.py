"""Which database pbl talks to, and opening connections to it with clear errors.

Resolution order: --database-url, DATABASE_URL, the libpq environment (PGHOST, PGSERVICE, ...),
then the embedded server. PBL_ENV=production requires a verified TLS connection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pbl_db.errors import ConfigError, ConnectError, RefusedError, shown

if TYPE_CHECKING:
    import psycopg

LIBPQ_TARGET_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")
URL_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
DEFAULT_CONNECT_TIMEOUT = 5
STRONG_SSLMODES = ("verify-full", "verify-ca")
ARGV_URL_WARNING = (
    "the password in {option} is visible to other users (ps) and in shell history; "
    "prefer DATABASE_URL, PGPASSWORD or ~/.pgpass"
)
MAX_CONNECT_TIMEOUT = 2_147_483_647  # libpq reads it as an int
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class Target:
    """A resolved connection target. `conninfo` may hold a password: never print it."""

    conninfo: str
    source: str  # "--database-url", "DATABASE_URL", "libpq environment" or "embedded"
    warning: str | None = None  # said once beside the notice

    def describe(self, environ: Mapping[str, str] | None = None) -> str:
        """user@host:port/dbname, without the password."""
        return describe_conninfo(self.conninfo, environ)

    def notice(self) -> str:
        """The one line that tells the operator which database this run uses."""
        if self.source == "embedded":
            return (
                f"using the embedded PostgreSQL ({self.describe()}); "
                "set DATABASE_URL or --database-url for another server"
            )
        return f"using {self.describe()} (from {self.source})"


def is_production(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("PBL_ENV", "").strip().lower() in ("production", "prod")


def _normalise_url(url: str) -> str:
    url = url.strip()
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in argv or the environment
        raise ConfigError(
            "malformed database URL: it is not valid UTF-8 text",
            "give the URL in UTF-8, with %-encoding for other bytes",
        ) from None
    if "://" in url:
        scheme, rest = url.split("://", 1)
        if scheme.lower() not in URL_SCHEMES:
            raise ConfigError(
                f"database URL has scheme '{shown(scheme, 20)}'",
                "use postgresql://user@host:port/dbname (or a libpq key=value string)",
            )
        url = "postgresql://" + rest
    return url


def parse_conninfo(conninfo: str) -> dict[str, Any]:
    """Parse a URL or key=value string; a malformed one is a ConfigError."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(conninfo)
    except ProgrammingError:
        # libpq's message quotes the offending text, which may be part of the password
        raise ConfigError(
            "malformed database URL (check quoting and %-encoding of user, password and options)",
            "expected postgresql://user@host:port/dbname or 'host=... dbname=...'",
        ) from None
    sslmode = params.get("sslmode")
    if sslmode is not None and str(sslmode) not in SSLMODES:
        raise ConfigError(
            f"malformed database URL: sslmode={sslmode}", f"use one of {', '.join(SSLMODES)}"
        )
    port = str(params.get("port") or "")
    if port and not all(p.strip().isdigit() for p in port.split(",")):
        raise ConfigError(
            f"malformed database URL: port '{shown(port)}'", "the port must be a number"
        )
    timeout = params.get("connect_timeout")
    if timeout is not None:
        check_connect_timeout(str(timeout), "malformed database URL: connect_timeout")
    for host in str(params.get("host") or "").split(","):
        _check_host(host.strip())
    return params


def check_connect_timeout(value: str, what: str) -> None:
    """A whole number of seconds, as libpq reads it (psycopg would raise a bare
    ProgrammingError)."""
    text = value.strip()
    if not text.lstrip("-").isdigit() or int(text) > MAX_CONNECT_TIMEOUT:
        raise ConfigError(
            f"{what}={shown(value, 20)}", "give a whole number of seconds, e.g. connect_timeout=5"
        )


def _check_host(host: str) -> None:
    """A host name DNS can carry (labels of 1 to 63 characters); a socket directory or an
    IPv6 address passes as it is."""
    if not host or host.startswith("/") or host.startswith("@") or ":" in host:
        return
    try:
        host.encode("idna")
    except UnicodeError:
        raise ConfigError(
            f"malformed database URL: host '{shown(host)}' is not a valid host name",
            "each dot-separated part of a host name has 1 to 63 characters",
        ) from None


def describe_conninfo(conninfo: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    try:
        params = parse_conninfo(conninfo)
    except ConfigError:
        return "<unparsable URL>"
    if "service" in params or "PGSERVICE" in env:
        return f"service {shown(params.get('service') or env.get('PGSERVICE'))}"
    user = shown(params.get("user") or env.get("PGUSER") or _os_user())
    host = shown(
        params.get("host") or params.get("hostaddr") or env.get("PGHOST") or "local socket"
    )
    port = shown(params.get("port") or env.get("PGPORT") or "5432")
    dbname = shown(params.get("dbname") or env.get("PGDATABASE") or user)
    if str(host).startswith("/"):
        return f"{user}@{dbname} (socket {host})"
    return f"{user}@{host}:{port}/{dbname}"


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "?"


def resolve_target(
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    allow_embedded: bool = True,
    option: str = "--database-url",
) -> Target:
    """Pick the target in DESIGN.md's order and check it against the production TLS rule.
    `option` names the command-line option database_url came from (replica: --primary)."""
    env = os.environ if environ is None else environ
    if database_url:
        target = Target(_normalise_url(database_url), option)
        if parse_conninfo(target.conninfo).get("password"):
            target = Target(target.conninfo, option, ARGV_URL_WARNING.format(option=option))
    elif env.get("DATABASE_URL"):
        target = Target(_normalise_url(env["DATABASE_URL"]), "DATABASE_URL")
    elif any(env.get(var) for var in LIBPQ_TARGET_VARS):
        target = Target("", "libpq environment")
    elif is_production(env):
        raise ConfigError(
            "PBL_ENV=production and no database is configured",
            "set DATABASE_URL or --database-url (the embedded server is for development)",
        )
    elif allow_embedded and env.get("PBL_EMBEDDED", "on").lower() not in ("off", "0", "no"):
        from pbl_db import embedded

        target = Target(embedded.ensure_database(), "embedded")
    else:
        raise ConfigError(
            "no database configured (and the embedded fallback is off)",
            "set DATABASE_URL, --database-url or PGHOST",
        )
    parse_conninfo(target.conninfo)
    check_tls_policy(target.conninfo, env)
    return target


def check_tls_policy(conninfo: str, environ: Mapping[str, str] | None = None) -> None:
    """In production, refuse anything weaker than a verified TLS connection."""
    env = os.environ if environ is None else environ
    if not is_production(env):
        return
    minimum = env.get("PBL_TLS_MINIMUM", "verify-full").strip().lower()
    if minimum not in STRONG_SSLMODES:
        raise ConfigError(
            f"PBL_TLS_MINIMUM={minimum!r} is not allowed in production",
            "use verify-full (default) or verify-ca",
        )
    params = parse_conninfo(conninfo)
    sslmode = (params.get("sslmode") or env.get("PGSSLMODE") or "").lower()
    host = str(params.get("host") or env.get("PGHOST") or "")
    if sslmode and sslmode not in STRONG_SSLMODES[: STRONG_SSLMODES.index(minimum) + 1]:
        raise RefusedError(
            f"PBL_ENV=production requires a verified TLS connection, but sslmode={sslmode}",
            f"use sslmode={minimum} with sslrootcert (PBL_TLS_MINIMUM=verify-ca relaxes the "
            "host-name check)",
        )
    if not host or host.startswith("/"):
        raise RefusedError(
            "PBL_ENV=production requires a verified TLS connection, but the target is a local "
            "socket",
            "connect by host name with sslmode=verify-full",
        )


def connection_kwargs(conninfo: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults pbl adds unless the URL or environment says otherwise."""
    env = os.environ if environ is None else environ
    params = parse_conninfo(conninfo)
    extra: dict[str, Any] = {}
    if "connect_timeout" not in params and not env.get("PGCONNECT_TIMEOUT"):
        extra["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
    if "application_name" not in params and not env.get("PGAPPNAME"):
        extra["application_name"] = "pbl"
    if is_production(env) and "sslmode" not in params and not env.get("PGSSLMODE"):
        extra["sslmode"] = env.get("PBL_TLS_MINIMUM", "verify-full")
    return extra


def connect(
    target: Target | str, *, autocommit: bool = True, **overrides: Any
) -> psycopg.Connection[Any]:
    """Open a psycopg connection; failures become one-line ConnectErrors."""
    import psycopg

    conninfo = target.conninfo if isinstance(target, Target) else target
    check_tls_policy(conninfo)
    kwargs = {**connection_kwargs(conninfo), **overrides}
    if "connect_timeout" not in kwargs and os.environ.get("PGCONNECT_TIMEOUT"):
        check_connect_timeout(os.environ["PGCONNECT_TIMEOUT"], "PGCONNECT_TIMEOUT")
    try:
        return psycopg.connect(conninfo, autocommit=autocommit, **kwargs)
    except psycopg.OperationalError as exc:
        raise connect_error(exc, describe_conninfo(conninfo)) from None
    except psycopg.ProgrammingError:
        # a value psycopg itself parses (its text may quote part of the URL: not echoed)
        raise ConfigError(
            "malformed database URL or libpq environment (PG*) value",
            "check the URL's options and the PG* variables",
        ) from None


def connect_error(exc: Exception, where: str) -> ConnectError:
    """Turn libpq's multi-line failure text into one line with a fix."""
    text = str(exc)
    detail = _first_reason(text)
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        hint = "check the password (URL, PGPASSWORD or ~/.pgpass) and the user name"
        detail = "authentication failed"
    elif "does not exist" in low and "database" in low:
        hint = "create it (createdb) or point --database-url / DATABASE_URL at an existing one"
    elif "role" in low and "does not exist" in low:
        hint = "check the user name in the URL or PGUSER"
    elif "ssl" in low or "certificate" in low:
        hint = "check sslmode, sslrootcert and the server certificate"
    elif "timeout expired" in low:
        hint = "check the host, port and firewall; the server did not answer in time"
    else:
        hint = "check the host and port, and that the server is running"
    return ConnectError(f"cannot connect to {where}: {shown(detail, 200)}", hint)


def _first_reason(text: str) -> str:
    """The most specific clause of a libpq error, e.g. 'Connection refused'."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.lower().startswith("is the server running"):
            continue
        if line.startswith("connection failed:"):
            line = line[len("connection failed:") :].strip()
        if " failed: " in line:
            line = line.rsplit(" failed: ", 1)[1]
        if line.startswith("FATAL:"):
            line = line[len("FATAL:") :].strip()
        return line.rstrip(".")
    return "unknown error"
