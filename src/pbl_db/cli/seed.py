"""`pbl seed`: the idempotent seed files, and synthetic demo data."""

from __future__ import annotations

from typing import Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, Json, Progress, SqlDir, render, say, target

app = typer.Typer(help="Load seed data (sql/seeds) or generate demo data.")


def _refuse_in_production(what: str) -> None:
    from pbl_db.connection import is_production
    from pbl_db.errors import RefusedError

    if is_production():
        raise RefusedError(
            f"PBL_ENV=production: {what} writes development data (documented passwords, data "
            "under the public seed key)",
            "seed development and test databases only",
        )


def _seeds_dir(sql_dir: str | None):  # type: ignore[no-untyped-def]
    from pbl_db.paths import sql_dir as root

    return root(sql_dir) / "seeds"


@app.callback(invoke_without_command=True)
def seed(
    ctx: typer.Context,
    specific: Annotated[
        list[str] | None, typer.Option("--specific", help="Run only this seed (repeatable).")
    ] = None,
    database_url: DatabaseUrl = None,
    sql_dir: SqlDir = None,
    as_json: Json = False,
) -> None:
    """Run the seed files in order (idempotent: a second run changes nothing)."""
    if ctx.invoked_subcommand is not None:
        return
    from pbl_db.connection import connect
    from pbl_db.seeds import list_seeds, run_seeds, select

    _refuse_in_production("pbl seed")
    chosen = select(list_seeds(_seeds_dir(sql_dir)), specific or [])
    with connect(target(database_url)) as conn:
        done = run_seeds(conn, chosen)
    if as_json:
        render(
            {"seeded": [{"name": d.name, "seconds": round(d.seconds, 3)} for d in done]},
            as_json=True,
        )
    else:
        typer.echo(f"ran {len(done)} seed file(s): {', '.join(d.name for d in done)}")


@app.command("list")
def list_command(sql_dir: SqlDir = None, as_json: Json = False) -> None:
    """The seed files, in the order they run."""
    from pbl_db.seeds import list_seeds

    rows = [{"name": s.name, "path": str(s.path)} for s in list_seeds(_seeds_dir(sql_dir))]
    render(rows, as_json=as_json, columns=[("name", "seed"), ("path", "file")])


@app.command()
def demo(
    # bounds as in pbl_db.demo (MAX_TENANTS, MAX_ROWS, MAX_MONTHS, MAX_SEED), not imported
    # here so that --help stays fast
    tenants: Annotated[int, typer.Option("--tenants", min=1, max=10_000)] = 3,
    applications: Annotated[int, typer.Option("--applications", min=0, max=10_000_000)] = 1000,
    devices: Annotated[int, typer.Option("--devices", min=0, max=10_000_000)] = 50,
    audit_logs: Annotated[int, typer.Option("--audit-logs", min=0, max=10_000_000)] = 2000,
    months: Annotated[
        int, typer.Option("--months", min=1, max=1200, help="Spread over this many months.")
    ] = 36,
    random_seed: Annotated[
        int,
        typer.Option(
            "--random-seed", min=-(2**63 - 1), max=2**63 - 1, help="Same seed, same rows."
        ),
    ] = 42,
    anchor: Annotated[
        str | None,
        typer.Option(
            "--anchor", help="Newest timestamp (ISO, with zone); default today 00:00 UTC."
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    key_file: Annotated[
        str | None, typer.Option("--key-file", help="Key file for the active key.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Generate realistic synthetic data through COPY; SSNs encrypted under the active key."""
    from dataclasses import asdict

    from pbl_db.connection import connect
    from pbl_db.crypto.keys import load_keyring
    from pbl_db.demo import DemoSpec, describe, parse_anchor, seed_demo

    _refuse_in_production("pbl seed demo")
    when = parse_anchor(anchor) if anchor else None
    spec = DemoSpec(tenants, applications, devices, audit_logs, months, random_seed, when)
    spec.check()
    ring = load_keyring(key_file)
    total = tenants + applications + devices + audit_logs
    with connect(target(database_url)) as conn, Progress("seeding demo data") as progress:
        done_before: dict[str, int] = {}

        def step(table: str, done: int, _total: int) -> None:
            done_before[table] = done
            progress(sum(done_before.values()), total, f"seeding {table}")

        report = seed_demo(conn, spec, ring, on_progress=step)
    if as_json:
        render({**asdict(report), "total": report.total}, as_json=True)
    else:
        say(f"encrypted under key {ring.active}")
        typer.echo(f"seeded {describe(report)}")
