"""`flask audit verify`: check the hash chain."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from audit import services


def register(app: Flask) -> None:
    group = AppGroup("audit", help="The audit trail.")

    @group.command("verify")
    def verify() -> None:
        """Recompute the hash chain; exit 1 naming the first broken event."""
        result = services.verify()
        if result.ok:
            click.echo(f"audit trail intact: {result.count} events")
            return
        where = f"event #{result.broken_seq}" + (f" (id {result.broken_id})" if result.broken_id else "")
        click.echo(f"audit trail BROKEN at {where}: {result.reason}", err=True)
        raise SystemExit(1)

    app.cli.add_command(group)
