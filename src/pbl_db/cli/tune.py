"""pbl tune: configuration recommendations, ALTER SYSTEM apply and revert."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, render, say, target

if TYPE_CHECKING:
    from pbl_db.tune import Outcome, Report, Request

app = typer.Typer(help="Configuration recommendations; apply with ALTER SYSTEM; revert.")


class Storage(StrEnum):
    ssd = "ssd"
    hdd = "hdd"
    san = "san"


class Workload(StrEnum):
    web = "web"
    oltp = "oltp"
    olap = "olap"
    mixed = "mixed"
    desktop = "desktop"


class Profile(StrEnum):
    computed = "computed"
    spec = "spec"


Memory = Annotated[
    str | None,
    typer.Option(
        "--memory",
        help="The server's RAM, e.g. 16GB. Detected from this machine when the server is local.",
        show_default=False,
    ),
]
Cpus = Annotated[
    int | None,
    typer.Option(
        "--cpus",
        min=1,
        max=1024,
        help="The server's CPUs. Detected when the server is local.",
        show_default=False,
    ),
]
StorageOpt = Annotated[Storage, typer.Option("--storage", help="Data disk type.")]
Connections = Annotated[
    int | None,
    typer.Option(
        "--connections",
        min=1,
        max=10_000,
        help="max_connections to plan for and recommend (default: the server's, unchanged).",
        show_default=False,
    ),
]
WorkloadOpt = Annotated[
    Workload, typer.Option("--workload", help="pgtune's database type (olap = data warehouse).")
]
ProfileOpt = Annotated[
    Profile,
    typer.Option("--profile", help="computed: pgtune's formulas; spec: the spec's fixed values."),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="NAME=VALUE to recommend instead of (or beside) the profile's; repeatable.",
        show_default=False,
    ),
]


def _request(
    profile: Profile,
    memory: str | None,
    cpus: int | None,
    storage: Storage,
    connections: int | None,
    workload: Workload,
    overrides: list[str] | None,
) -> Request:
    from pbl_db.tune import Request

    pairs = []
    for item in overrides or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            from pbl_db.errors import shown

            raise typer.BadParameter(f"{shown(repr(item))} is not NAME=VALUE", param_hint="--set")
        pairs.append((name.strip().lower(), value.strip()))
    return Request(
        profile=profile.value,
        memory=memory,
        cpus=cpus,
        storage=storage.value,
        workload=workload.value,
        connections=connections,
        overrides=tuple(pairs),
    )


def _title(report: Report) -> str:
    if report.profile == "spec":
        return "pbl tune: the spec's profile"
    i = report.inputs
    cpus = f"{i['cpus']} CPUs" if i.get("cpus") else "CPUs not given"
    return (
        f"pbl tune: pgtune for {i['memory']} RAM, {cpus}, {i['storage']}, {i['workload']}, "
        f"{i['connections']} connections"
    )


@app.command()
def show(
    memory: Memory = None,
    cpus: Cpus = None,
    storage: StorageOpt = Storage.ssd,
    connections: Connections = None,
    workload: WorkloadOpt = Workload.web,
    profile: ProfileOpt = Profile.computed,
    overrides: Overrides = None,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Recommendations next to the current values, their source and whether a restart is needed."""
    from pbl_db.tune import show as run_show

    request = _request(profile, memory, cpus, storage, connections, workload, overrides)
    report = run_show(target(database_url), request)
    for note in report.notes:
        say(note)
    if as_json:
        render(report.as_dict(), as_json=True)
        return
    rows = []
    for s in report.settings:
        restart = (
            "pending"
            if s.pending_restart
            else ("needed" if s.restart_required and s.differs is not False else "")
        )
        differs = {True: "yes", False: "", None: "?"}[s.differs]
        rows.append(
            {
                "name": s.name,
                "current": s.current if s.current is not None else "(absent)",
                "recommended": s.recommended if s.recommended is not None else "-",
                "differs": differs if s.recommended is not None else "",
                "source": s.source,
                "context": s.context,
                "restart": restart,
                "note": s.note or s.why,
            }
        )
    render(
        rows,
        as_json=False,
        title=_title(report),
        columns=[
            ("name", "setting"),
            ("current", "current"),
            ("recommended", "recommended"),
            ("differs", "differs"),
            ("source", "source"),
            ("context", "context"),
            ("restart", "restart"),
            ("note", "why / note"),
        ],
    )


def _print_outcome(outcome: Outcome, verb: str, as_json: bool) -> None:
    for note in outcome.notes:
        say(note)
    if as_json:
        render(outcome.as_dict(), as_json=True)
    elif not outcome.steps:
        typer.echo("nothing to change: the server already has these values")
    else:
        _print_steps(outcome, verb)
    if outcome.pending_restart:
        say(
            f"restart PostgreSQL for {', '.join(outcome.pending_restart)} to take effect "
            "(pg_settings.pending_restart)"
        )


def _print_steps(outcome: Outcome, verb: str) -> None:
    if outcome.dry_run:
        typer.echo("-- dry run: nothing changed")
        for step in outcome.steps:
            typer.echo(f"{step.statement};")
        if outcome.steps:
            typer.echo("SELECT pg_reload_conf();")
        return
    typer.echo(f"change {outcome.change_id} {verb} (ALTER SYSTEM, then reload):")
    for step in outcome.steps:
        new = "RESET (postgresql.conf or the default)" if step.value is None else step.value
        when = "after a restart" if step.restart_required else "now, for new sessions"
        typer.echo(f"  {step.name}: {step.current} -> {new}, in effect {when}")


def _confirm(yes: bool, message: str) -> None:
    say(message)
    if not yes and sys.stdin.isatty():
        typer.confirm("Proceed?", abort=True)


@app.command()
def apply(
    memory: Memory = None,
    cpus: Cpus = None,
    storage: StorageOpt = Storage.ssd,
    connections: Connections = None,
    workload: WorkloadOpt = Workload.web,
    profile: ProfileOpt = Profile.computed,
    overrides: Overrides = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Apply just this setting; repeatable.", show_default=False),
    ] = None,
    dry_run: DryRun = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """ALTER SYSTEM the recommended values that differ, record the old ones, reload."""
    from pbl_db.tune import apply as run_apply

    request = _request(profile, memory, cpus, storage, connections, workload, overrides)

    def confirm(plan: Outcome) -> None:
        names = ", ".join(s.name for s in plan.steps)
        _confirm(yes, f"will ALTER SYSTEM {len(plan.steps)} setting(s) and reload: {names}")

    outcome = run_apply(
        target(database_url),
        request,
        tuple(n.strip().lower() for n in only or ()),
        dry_run=dry_run,
        confirm=confirm,
    )
    _print_outcome(outcome, "applied", as_json)


@app.command()
def revert(
    change: Annotated[
        int | None,
        typer.Option(
            "--change",
            min=1,
            max=2**63 - 1,
            help="The change id (pbl tune history).",
            show_default=False,
        ),
    ] = None,
    last: Annotated[
        bool, typer.Option("--last", help="The newest change not reverted yet.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Restore even if the settings were changed again since."),
    ] = False,
    dry_run: DryRun = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Restore the values a change replaced (ALTER SYSTEM SET, or RESET if they were not set)."""
    from pbl_db.tune import revert as run_revert

    if (change is None) == (not last):
        raise typer.BadParameter("give either --change ID or --last", param_hint="--change/--last")

    def confirm(plan: Outcome) -> None:
        names = ", ".join(s.name for s in plan.steps)
        _confirm(
            yes, f"will restore {len(plan.steps)} setting(s) of change {plan.change_id}: {names}"
        )

    outcome = run_revert(
        target(database_url), change, dry_run=dry_run, force=force, confirm=confirm
    )
    _print_outcome(outcome, "reverted", as_json)


@app.command()
def history(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100_000, help="How many changes.")
    ] = 50,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Recorded changes, newest first: who, when, from where, and what each setting was."""
    from pbl_db.tune import history as run_history

    changes = run_history(target(database_url), limit)
    if as_json:
        render(
            [
                {
                    **c,
                    "applied_at": c["applied_at"].isoformat(),
                    "reverted_at": c["reverted_at"].isoformat() if c["reverted_at"] else None,
                }
                for c in changes
            ],
            as_json=True,
        )
        return
    rows = [
        {
            "id": c["id"],
            "applied_at": f"{c['applied_at']:%Y-%m-%d %H:%M:%S%z}",
            "applied_by": f"{c['applied_by']} ({c['client']})" if c["client"] else c["applied_by"],
            "profile": c["profile"],
            "settings": "; ".join(
                f"{s['name']}: {s['previous_value'] if s['was_set'] else '(not set)'}"
                f" -> {s['new_value']}"
                for s in c["settings"]
            ),
            "state": (
                f"reverted {c['reverted_at']:%Y-%m-%d %H:%M} by {c['reverted_by']}"
                if c["reverted_at"]
                else "in place"
            ),
        }
        for c in changes
    ]
    if not rows:
        typer.echo("no tune changes recorded")
        return
    render(
        rows,
        as_json=False,
        title="pbl tune history (postgresql.auto.conf entries: before -> after)",
        columns=[
            ("id", "change"),
            ("applied_at", "applied at"),
            ("applied_by", "by"),
            ("profile", "profile"),
            ("settings", "settings"),
            ("state", "state"),
        ],
    )
