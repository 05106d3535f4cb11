"""`flask audit verify` and `flask audit checkpoint`: check the keyed chain, publish its head."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from audit import services
from core import clock, db


def register(app: Flask) -> None:
    group = AppGroup("audit", help="The audit trail.")

    @group.command("verify")
    def verify() -> None:
        """Check every event's MAC, link and position and hold the chain to the checkpoints; exit 1 naming
        the first broken event and why."""
        result = services.verify()
        if result.ok:
            cp = result.checkpoint
            held = (f"; holds to the latest checkpoint ({cp.count} events, {clock.to_local(cp.at):%Y-%m-%d %H:%M}, "
                    f"{cp.reason})" if cp else "; no checkpoint yet (flask --app app audit checkpoint publishes one)")
            click.echo(f"audit trail intact: {result.count} events{held}")
            return
        where = f" at event #{result.broken_seq}" if result.broken_seq else ""
        where += f" (id {result.broken_id})" if result.broken_id else ""
        click.echo(f"audit trail BROKEN{where}: {result.reason}", err=True)
        raise SystemExit(1)

    @group.command("checkpoint")
    def checkpoint() -> None:
        """Append a signed checkpoint of the chain's head (count and MAC) to the checkpoint file, sealing any
        events written before the audit key first."""
        services.set_origin("cli:audit checkpoint", "cli")
        now = clock.now()
        try:
            with db.transaction():
                services.checkpoint_on_commit("cli", now)
        except services.AuditError as err:
            raise click.ClickException(err.message) from None
        cp = services.latest_checkpoint()
        if cp is None or cp.at != now:
            raise click.ClickException(f"the checkpoint could not be written to {services.checkpoint_path()}")
        click.echo(f"checkpoint: {cp.count} events, head MAC {cp.short}… appended to {services.checkpoint_path()}")

    app.cli.add_command(group)
