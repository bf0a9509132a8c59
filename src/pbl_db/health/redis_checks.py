"""Redis checks from one PING and one INFO."""

from __future__ import annotations

from typing import Any

from pbl_db.errors import PblError
from pbl_db.health.config import Settings
from pbl_db.health.model import Check, Status


def url_problem(url: str) -> str | None:
    """Why a Redis URL cannot be used (never quoting its password), or None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "it is not a URL"
    if parts.scheme not in ("redis", "rediss", "unix"):
        return "the scheme must be redis://, rediss:// or unix://"
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        return "the port is not a number from 0 to 65535"
    host = parts.hostname or ""
    if parts.scheme != "unix" and host:
        if len(host) > 253 or any(len(label) > 63 for label in host.split(".")):
            return "the host name is too long (at most 63 characters a label, 253 in all)"
        try:
            host.encode("idna")
        except UnicodeError:
            return "the host name is not valid"
    return None


def run(
    url: str | None, settings: Settings, wanted: list[str], source: str = "REDIS_URL"
) -> list[Check]:
    """SKIP without a Redis URL; CRIT when Redis does not answer or the URL (from `source`:
    --redis-url or REDIS_URL) is malformed."""
    if not wanted:
        return []
    if not url:
        return [Check(i, Status.SKIP, "REDIS_URL not set") for i in wanted]
    import redis

    from pbl_db.cache import ping, redis_client

    def down(message: str, hint: str) -> list[Check]:
        first = Check("redis_ping", Status.CRIT, f"Redis down: {message}", hint=hint)
        rest = [
            Check(i, Status.UNKNOWN, "not run: Redis down") for i in wanted if i != "redis_ping"
        ]
        return ([first] if "redis_ping" in wanted else []) + rest

    problem = url_problem(url)
    if problem:
        return down(f"malformed {source}: {problem}", "expected redis://host:port/db")
    try:
        client = redis_client(url)
        rtt = ping(client)
        info: dict[str, Any] = client.info()
    except PblError as exc:
        # pbl_db.cache names REDIS_URL; say where this URL came from
        return down(
            exc.message.replace("REDIS_URL", source), (exc.hint or "").replace("REDIS_URL", source)
        )
    except UnicodeError:
        return down(f"malformed {source}: the host name is not valid", "check the URL")
    except redis.RedisError as exc:
        return [Check(i, Status.CRIT, f"Redis error: {exc}") for i in wanted]
    finally:
        if "client" in locals():
            client.close()
    checks = {
        "redis_ping": _ping(rtt, info, settings),
        "redis_memory": _memory(info, settings),
        "redis_evictions": _counter(
            "redis_evictions",
            info.get("evicted_keys", 0),
            settings,
            "keys evicted since start",
            "maxmemory is too small for the cache: raise it",
        ),
        "redis_rejected": _counter(
            "redis_rejected",
            info.get("rejected_connections", 0),
            settings,
            "connections rejected since start",
            "raise maxclients or pool the clients",
        ),
        "redis_persistence": _persistence(info),
        "redis_replication": _replication(info),
    }
    return [checks[i] for i in wanted]


def _limit(check_id: str, settings: Settings, value: float, summary: str, **kw: Any) -> Check:
    th = settings.threshold(check_id)
    return Check(
        check_id, th.judge(value), summary, value, th.unit, th.warn, th.crit, below=th.below, **kw
    )


def _ping(rtt: float, info: dict[str, Any], settings: Settings) -> Check:
    return _limit(
        "redis_ping",
        settings,
        round(rtt, 3),
        f"PONG in {rtt:.2f} ms from Redis {info.get('redis_version', '?')}",
        hint="a slow Redis: check its CPU, slowlog and the network",
    )


def _memory(info: dict[str, Any], settings: Settings) -> Check:
    used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
    policy = info.get("maxmemory_policy", "?")
    details = {"used_memory": used, "maxmemory": limit, "policy": policy}
    if not limit:
        return Check(
            "redis_memory",
            Status.OK,
            f"{used:,} bytes used, no maxmemory set",
            hint="set maxmemory and an eviction policy for a cache",
            details=details,
        )
    pct = round(100.0 * used / limit, 1)
    return _limit(
        "redis_memory",
        settings,
        pct,
        f"{pct}% of maxmemory used ({used:,} of {limit:,} bytes, policy {policy})",
        hint="raise maxmemory or shorten the cache TTLs",
        details=details,
    )


def _counter(check_id: str, value: int, settings: Settings, what: str, hint: str) -> Check:
    return _limit(check_id, settings, int(value), f"{value} {what}", hint=hint)


def _persistence(info: dict[str, Any]) -> Check:
    problems = []
    if info.get("rdb_last_bgsave_status", "ok") != "ok":
        problems.append("last RDB save failed")
    if info.get("aof_enabled") and info.get("aof_last_write_status", "ok") != "ok":
        problems.append("last AOF write failed")
    if info.get("aof_enabled") and info.get("aof_last_bgrewrite_status", "ok") != "ok":
        problems.append("last AOF rewrite failed")
    details = {
        k: info.get(k)
        for k in (
            "rdb_last_bgsave_status",
            "rdb_last_save_time",
            "aof_enabled",
            "aof_last_write_status",
            "aof_last_bgrewrite_status",
        )
    }
    if problems:
        return Check(
            "redis_persistence",
            Status.CRIT,
            "; ".join(problems),
            hint="check Redis's log and its disk (space, permissions)",
            details=details,
        )
    mode = "AOF" if info.get("aof_enabled") else "RDB"
    return Check("redis_persistence", Status.OK, f"last {mode} write ok", details=details)


def _replication(info: dict[str, Any]) -> Check:
    role = info.get("role", "?")
    if role == "slave":
        link = info.get("master_link_status", "?")
        details = {
            "role": "replica",
            "master_link_status": link,
            "master": f"{info.get('master_host')}:{info.get('master_port')}",
        }
        if link != "up":
            return Check(
                "redis_replication",
                Status.CRIT,
                f"replica with the master link {link}",
                hint="check the master's reachability and auth",
                details=details,
            )
        return Check("redis_replication", Status.OK, "replica, master link up", details=details)
    replicas = int(info.get("connected_slaves", 0))
    return Check(
        "redis_replication",
        Status.OK,
        f"{role} with {replicas} replicas",
        details={"role": role, "connected_replicas": replicas},
    )
