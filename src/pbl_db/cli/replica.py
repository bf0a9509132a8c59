"""`pbl replica`: create a streaming standby of a primary; replication status from either side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pbl_db.cli.common import DatabaseUrl, Json, render, say, target

app = typer.Typer(help="Streaming standbys: create one from a primary, replication status.")


@app.command()
def create(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="New, empty directory for the standby's data.")
    ],
    primary: Annotated[
        str | None,
        typer.Option(
            "--primary",
            help="The primary's URL (else DATABASE_URL, the libpq environment...); needs a "
            "role with REPLICATION and a replication entry in its pg_hba.conf.",
            show_default=False,
        ),
    ] = None,
    slot: Annotated[
        str | None,
        typer.Option(
            "--slot",
            help="Physical replication slot to stream from (created when missing): the primary "
            "keeps WAL until the standby has it.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            help="Port of the standby (default: a free one).",
            show_default=False,
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option("--wait", min=1, max=86400, help="Seconds to wait for it to stream."),
    ] = 120.0,
    as_json: Json = False,
) -> None:
    """pg_basebackup the primary into --data-dir, start it as a standby, wait until it streams."""
    from pbl_db.replica import check_create
    from pbl_db.replica import create as make

    check_create(data_dir, slot=slot, port=port, wait_seconds=wait)  # before connecting
    origin = _primary_target(primary)
    made = make(origin, data_dir, slot=slot, port=port, wait_seconds=wait, on_event=say)
    if as_json:
        render(made.as_dict(), as_json=True)
        return
    typer.echo(
        f"standby in {made.data_dir} on port {made.port} streams from {made.primary}"
        + (
            f" through slot {made.slot}" + (" (created)" if made.slot_created else "")
            if made.slot
            else ""
        )
        + f" after {made.seconds:.1f}s; connect with: {made.conninfo}"
    )
    if not made.slot:
        say("no --slot: the primary may recycle WAL the standby still needs (wal_keep_size)")


def _primary_target(primary: str | None):  # type: ignore[no-untyped-def]
    """As cli.common.target, with a password warning that names --primary."""
    import os

    from pbl_db.connection import resolve_target

    resolved = resolve_target(primary, option="--primary")
    if not os.environ.get("PBL_QUIET"):
        say(resolved.notice())
    if resolved.warning:
        say(f"warning: {resolved.warning}")
    return resolved


@app.command()
def status(database_url: DatabaseUrl = None, as_json: Json = False) -> None:
    """Role, timeline and lag from either side: a standby's WAL receiver and replay lag, a
    primary's standbys and slots. Exit 1 on a standby whose WAL receiver is not streaming."""
    from pbl_db.connection import connect
    from pbl_db.replica import status as read

    with connect(target(database_url)) as conn:
        state = read(conn)
    receiver = state.get("receiver") or {}
    if as_json:
        render(state, as_json=True)
    else:
        _tables(state, receiver)
    if state["role"] == "standby" and not _follows(receiver):
        raise typer.Exit(1)


def _follows(receiver: dict[str, Any]) -> bool:
    """Streaming; or running, its state hidden from a role without pg_read_all_stats."""
    status = receiver.get("status")
    return status == "streaming" or (status is None and bool(receiver.get("running")))


def _tables(state: dict[str, Any], receiver: dict[str, Any]) -> None:
    summary = {
        "server": state["server"],
        "role": state["role"],
        "timeline": state["timeline"],
        "lsn": state["lsn"],
    }
    if state["role"] == "standby":
        summary |= {
            "receiver": receiver.get("status")
            or (
                "running (state needs pg_read_all_stats)"
                if receiver.get("running")
                else "not running"
            ),
            "upstream": f"{receiver.get('sender_host')}:{receiver.get('sender_port')}"
            if receiver
            else "-",
            "slot": receiver.get("slot_name") or "-",
            "replay lag": f"{state['replay_lag_bytes']} B, {state['replay_lag_s']} s",
        }
    render([{"field": k, "value": v} for k, v in summary.items()], as_json=False)
    if state["standbys"]:
        render(
            state["standbys"],
            as_json=False,
            title="standbys",
            columns=[
                ("application_name", "name"),
                ("client_addr", "address"),
                ("state", "state"),
                ("sync_state", "sync"),
                ("lag_bytes", "lag (B)"),
                ("replay_lag_s", "replay lag (s)"),
            ],
        )
    if state["slots"]:
        render(
            state["slots"],
            as_json=False,
            title="replication slots",
            columns=[
                ("slot_name", "slot"),
                ("slot_type", "type"),
                ("active", "active"),
                ("wal_status", "WAL status"),
                ("retained_bytes", "WAL retained (B)"),
            ],
        )
