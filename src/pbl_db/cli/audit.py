"""pbl audit: Tamper-evident audit trail: seal, proof, verify."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, Progress, render, say, target

app = typer.Typer(help="Tamper-evident audit trail: seal, proof, verify.")


def _when(value: str | None, option: str) -> dt.datetime | None:
    from pbl_db.errors import ConfigError, shown

    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {shown(repr(value))} is not an ISO timestamp") from None
    if when.tzinfo is None:
        raise ConfigError(f"{option} needs a time zone", "e.g. 2026-11-01T00:00:00+00:00")
    return when


def _utc(value: dt.datetime) -> str:
    from pbl_db.audit.encoding import format_timestamp

    return format_timestamp(value)


@app.command()
def seal(
    period: Annotated[
        str, typer.Option("--period", help="Period per block: hour, day or month (UTC).")
    ] = "day",
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Seal the periods that ended by this time (ISO, with a time zone; default now).",
            show_default=False,
        ),
    ] = None,
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Record a Merkle root per tenant for every closed period with unsealed rows."""
    from pbl_db.audit.seal import seal as run_seal
    from pbl_db.connection import connect

    when = _when(until, "--until")
    with connect(target(database_url)) as conn, Progress("sealing") as progress:
        blocks = run_seal(conn, period, when, dry_run=dry_run, on_progress=progress)
    rows: list[dict[str, Any]] = [
        {
            "block_number": b.block_number,
            "tenant_id": b.tenant_id,
            "period": b.period,
            "period_start": _utc(b.period_start),
            "period_end": _utc(b.period_end),
            "leaf_count": b.leaf_count,
            "merkle_root": b.merkle_root,
            "seal_hash": b.seal_hash,
        }
        for b in blocks
    ]
    if as_json:
        render({"dry_run": dry_run, "blocks": rows}, as_json=True)
        return
    if dry_run:
        render(
            rows,
            as_json=False,
            columns=[("tenant_id", "tenant"), ("period_start", "period"), ("leaf_count", "rows")],
            title=f"would seal {len(rows)} block(s) ({period})",
        )
        return
    if not rows:
        typer.echo(f"nothing to seal: no closed {period} holds unsealed rows")
        return
    render(
        [{**r, "merkle_root": (r["merkle_root"] or "")[:16] + "…"} for r in rows],
        as_json=False,
        columns=[
            ("block_number", "block"),
            ("tenant_id", "tenant"),
            ("period_start", "period"),
            ("leaf_count", "rows"),
            ("merkle_root", "merkle root"),
        ],
        title=f"sealed {len(rows)} block(s)",
    )


@app.command()
def proof(
    row_id: Annotated[str, typer.Argument(help="The audit row's id (audit_logs.id).")],
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Print a sealed row's inclusion proof: checkable with sha256 alone (docs/audit.md)."""
    from pbl_db.audit.proof import proof as run_proof
    from pbl_db.connection import connect

    with connect(target(database_url)) as conn:
        result = run_proof(conn, row_id)
    if as_json:
        render(result.as_dict(), as_json=True)
        return
    typer.echo(
        f"row {result.row_id}: tenant {result.tenant_id}, chain_seq {result.chain_seq}, "
        f"block {result.block_number} ({result.period} from {_utc(result.period_start)}, "
        f"{result.leaf_count} leaves, sealed {_utc(result.block_timestamp)})"
    )
    typer.echo(f"encoding           {len(result.encoding.encode())} bytes (--json prints it)")
    typer.echo(f"verification_hash  {result.verification_hash}  = sha256(encoding)")
    typer.echo(f"leaf {result.leaf_index:<13} {result.leaf_hash}  = sha256(00 || hash)")
    for i, step in enumerate(result.path, 1):
        typer.echo(f"path {i:<3} {step.side:<9} {step.hash}")
    typer.echo(f"merkle_root        {result.merkle_root}")
    typer.echo(f"seal_hash          {result.seal_hash}  (block {result.block_number})")
    typer.echo(f"check: {result.how_to_check}")


@app.command()
def verify(
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="Only this tenant (id or slug).", show_default=False),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only the chain from the first row with event_timestamp at or after this time "
            "(ISO, with a time zone), and the seals of periods from then on.",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            min=0,
            max=64,
            help="Processes checking tenants' chains in one snapshot (0: up to 4, one per CPU).",
        ),
    ] = 0,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Recompute hash chains and seals; exit 1 naming the first broken row and why."""
    import os
    from dataclasses import asdict

    from pbl_db.audit.verify import verify as run_verify
    from pbl_db.connection import connect

    when = _when(since, "--since")
    with connect(target(database_url)) as conn, Progress("verifying") as progress:
        report = run_verify(
            conn, tenant, when, on_progress=progress, jobs=jobs or min(4, os.cpu_count() or 1)
        )
    if as_json:
        render(
            {
                "ok": report.ok,
                "rows": report.rows,
                "seconds": round(report.seconds, 3),
                "jobs": report.jobs,
                "seals": {
                    "count": report.seals,
                    "head_block": report.seal_head_block,
                    "head_hash": report.seal_head_hash,
                },
                "tenants": [
                    {k: v for k, v in asdict(t).items() if k != "problem"} for t in report.tenants
                ],
                "problems": [asdict(p) for p in report.problems],
            },
            as_json=True,
        )
    else:
        render(
            [
                {
                    **asdict(t),
                    "tenant": t.slug or t.tenant_id,
                    "status": t.problem.reason if t.problem else "ok",
                }
                for t in report.tenants
            ],
            as_json=False,
            columns=[
                ("tenant", "tenant"),
                ("rows", "rows"),
                ("purged", "purged"),
                ("removed_with_partitions", "dropped"),
                ("blocks", "blocks ok"),
                ("blocks_unverifiable", "blocks w/o leaves"),
                ("unsealed", "unsealed"),
                ("status", "status"),
            ],
            title=f"{report.rows} rows, {report.seals} seals checked in {report.seconds:.1f}s",
        )
        if report.seal_head_block is not None:
            typer.echo(f"seal chain head: block {report.seal_head_block} {report.seal_head_hash}")
    for problem in report.problems:
        say(problem.describe())
    if not report.ok:
        raise typer.Exit(1)
    if not as_json:
        typer.echo("audit trail verified: every chain and seal matches")
