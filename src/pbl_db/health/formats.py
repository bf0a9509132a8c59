"""Nagios plugin output and Prometheus text exposition of a health report (pure text)."""

from __future__ import annotations

from pbl_db.health import Report
from pbl_db.health.model import Check, Status

_NAGIOS_UOM = {"ms": "ms", "s": "s", "%": "%", "B": "B", "count": "", "months": ""}


def _num(value: float) -> str:
    """A perfdata number: plain decimal ([-0-9.]), never 1.2e+04, which parsers reject."""
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _text(value: str) -> str:
    """Plugin text on one line and without '|', which would start the perfdata."""
    return " ".join(value.replace("|", "/").split())


def _perf(check: Check) -> str | None:
    if check.value is None or check.unit not in _NAGIOS_UOM:
        return None
    below = check.below

    def limit(x: float | None) -> str:
        if x is None:
            return ""
        return f"{_num(x)}:" if below else _num(x)

    bounds = ";0;100" if check.unit == "%" else ";0;"
    return (
        f"{check.id}={_num(check.value)}{_NAGIOS_UOM[check.unit]}"
        f";{limit(check.warn)};{limit(check.crit)}{bounds}"
    )


def nagios(report: Report) -> tuple[str, int]:
    """Plugin output (first line, long text, perfdata) and the plugin exit code."""
    status = report.status
    if status is Status.SKIP:
        status = Status.OK
    bad = [c for c in report.checks if c.status in (Status.CRIT, Status.WARN, Status.UNKNOWN)]
    bad.sort(key=lambda c: -c.status.severity)
    if bad:
        head = "; ".join(f"{c.id} {c.status.nagios}: {_text(c.summary)}" for c in bad)
    else:
        head = f"{len(report.checks)} checks OK"
    perf = [p for p in (_perf(c) for c in report.checks) if p]
    lines = [f"PBL HEALTH {status.nagios} - {head} | {' '.join(perf)}".rstrip(" |")]
    lines += [f"{c.status.nagios}: {c.id}: {_text(c.summary)}" for c in report.checks]
    return "\n".join(lines), status.code


_STATUS_VALUE = {Status.OK: 0, Status.WARN: 1, Status.CRIT: 2, Status.UNKNOWN: 3, Status.SKIP: -1}
_PROM_UNIT = {
    "ms": ("seconds", 0.001),
    "s": ("seconds", 1.0),
    "%": ("ratio", 0.01),
    "B": ("bytes", 1.0),
    "count": ("", 1.0),
    "months": ("months", 1.0),
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus(report: Report) -> str:
    """Text exposition format 0.0.4, one gauge family per unit."""
    out = [
        "# HELP pbl_health_status Check status: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN, -1 SKIP.",
        "# TYPE pbl_health_status gauge",
    ]
    out += [f'pbl_health_status{{check="{c.id}"}} {_STATUS_VALUE[c.status]}' for c in report.checks]
    families: dict[str, list[str]] = {}
    for c in report.checks:
        if c.value is None or c.unit not in _PROM_UNIT:
            continue
        suffix, factor = _PROM_UNIT[c.unit]
        base = "pbl_health_value" + (f"_{suffix}" if suffix else "")
        for name, number in ((base, c.value), (f"{base}_warn", c.warn), (f"{base}_crit", c.crit)):
            if number is not None:
                families.setdefault(name, []).append(
                    f'{name}{{check="{_label(c.id)}"}} {number * factor:.10g}'
                )
    for name, samples in families.items():
        out += [
            f"# HELP {name} pbl health {name.removeprefix('pbl_health_')}.",
            f"# TYPE {name} gauge",
            *samples,
        ]
    up = 0 if any(c.id == "connection" and c.status is Status.CRIT for c in report.checks) else 1
    out += [
        "# HELP pbl_health_up 1 when PostgreSQL answered.",
        "# TYPE pbl_health_up gauge",
        f"pbl_health_up {up}",
        "# HELP pbl_health_duration_seconds Wall time of the run.",
        "# TYPE pbl_health_duration_seconds gauge",
        f"pbl_health_duration_seconds {report.seconds:.6f}",
    ]
    return "\n".join(out) + "\n"
