"""pbl health: thresholds checked alike from the command line and the config file (finite, not
negative, warn before crit), explicit paths that are wrong are errors, echoes clipped."""

from tests.bad_input import case

CASES = [
    case("health", "--check", "{long}", says="unknown check"),
    case("health", "--skip", "{long}", says="unknown check"),
    case("health", "--warn", "{long}=5", says="unknown check"),
    case("health", "--set", "dead_tuples.{long}=5", says="unknown setting"),
    case("health", "--warn", "connections={long}", says="bad threshold"),
    case("health", "--warn", "{long}", says="bad --warn"),
    case("health", "--warn", "connections=1e400", says="not a finite number"),
    case("health", "--warn", "connections=-5", says="bad threshold"),
    case("health", "--set", "dead_tuples.min_rows=1e400", says="not a finite number"),
    case("health", "--warn", "connections=90%", "--crit", "connections=10%", says="above crit"),
    case("health", "--warn", "connections=96%", says="above crit"),
    case("health", "--warn", "cache_hit=80%", "--crit", "cache_hit=90%", says="below crit"),
    case("health", "--check", "migrations", "--sql-dir", "{file}", says="is not a directory"),
    case("health", "--check", "migrations", "--sql-dir", "{missing}", says="does not exist"),
    case("health", "--check", "migrations", "--sql-dir", "{long}", says="--sql-dir"),
    case("health", "--config", "{dir}", says="is a directory"),
    case("health", "--config", "{missing}", says="does not exist"),
    case("health", "--config", "{file}", says="fix the TOML"),
    case("health", "--config", "{long}", says="--config"),
    # a malformed Redis URL is the redis_ping check's CRIT (exit 1), one line, no crash
    case("health", "--check", "redis_ping", "--redis-url", "redis://{long}:6379/0", code=1),
    case("health", "--check", "redis_ping", "--redis-url", "http://:S3cret@x/0", code=1),
]
