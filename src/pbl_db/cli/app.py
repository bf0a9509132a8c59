"""The root Typer app. Sub-apps import their heavy dependencies inside commands only."""

from __future__ import annotations

from typing import Annotated

import typer

from pbl_db import __version__


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"pbl {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    from pbl_db.cli import (
        audit,
        backup,
        crypto,
        gdpr,
        health,
        inspect,
        local,
        maintenance,
        migrate,
        partitions,
        pitr,
        report,
        retention,
        seed,
        slow_queries,
        stats,
        tune,
    )

    app = typer.Typer(
        name="pbl",
        help="Schema and operations toolkit for the Bun Payment Linker database.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        epilog="Exit codes: 0 ok, 1 failed, 2 usage or configuration, 3 cannot connect, "
        "4 refused for safety, 5 busy (lock not available), 130 interrupted.",
    )

    @app.callback()
    def root(
        version: Annotated[
            bool,
            typer.Option(
                "--version", callback=_show_version, is_eager=True, help="Print the version."
            ),
        ] = False,
        debug: Annotated[
            bool, typer.Option("--debug", help="Show tracebacks on errors (or PBL_DEBUG=1).")
        ] = False,
    ) -> None:
        """Exit codes: 0 ok, 1 failed, 2 usage/configuration, 3 cannot connect,
        4 refused for safety, 5 busy (lock not available), 130 interrupted."""

    app.add_typer(migrate.app, name="migrate")
    app.add_typer(seed.app, name="seed")
    app.add_typer(crypto.app, name="crypto")
    app.add_typer(backup.app, name="backup")
    app.add_typer(pitr.app, name="pitr")
    app.add_typer(local.app, name="local")
    app.command("health")(health.health)
    app.add_typer(slow_queries.app, name="slow-queries")
    app.add_typer(maintenance.app, name="maintenance")
    inspect.register(app)
    app.add_typer(tune.app, name="tune")
    app.command("report")(report.report)
    app.add_typer(partitions.app, name="partitions")
    app.add_typer(retention.app, name="retention")
    app.add_typer(audit.app, name="audit")
    app.add_typer(gdpr.app, name="gdpr")
    app.command("stats")(stats.stats)
    return app
