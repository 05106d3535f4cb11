"""`flask init`, `flask db …`, `flask users …` and `flask backup …`: the set-up, account and backup commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from audit import services as audit
from core import accounts, backup, clock, db, migrate, seed
from core.errors import DomainError
from core.models import ROLES, ApiToken, User


def _cli_origin(command: str) -> None:
    audit.set_origin(f"cli:{command}", "cli")


def _fail(err: DomainError) -> None:
    raise click.ClickException(err.message)


def _existing_user(username: str) -> User:
    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"no such user: {username}")
    return user


def register(app: Flask) -> None:
    @app.cli.command("init")
    @click.option("--demo", is_flag=True, help="Also create one demo account per role (passwords printed once).")
    def init(demo: bool) -> None:
        """Create or upgrade the database schema and load the bundled data (idempotent)."""
        _cli_origin("init")
        migrate.upgrade(db.engine())
        now = clock.now()
        click.echo("schema up to date")
        seed.load_bundled(app, now, report=click.echo)
        if demo:
            with db.transaction():
                created = seed.create_demo_accounts(now=now)
            if created:
                click.echo("demo accounts (shown only this once; change the passwords after logging in):")
                for username, role, password in created:
                    click.echo(f"  {username:<12} {ROLES[role]:<6} password: {password}")
            else:
                click.echo("demo accounts already exist (their passwords were printed when they were created)")
        with db.transaction():  # seals events written before the audit key, if any
            count = audit.checkpoint_on_commit("init", now)
        click.echo(f"audit checkpoint: {count} events")

    @app.cli.command("scheduler")
    @click.option("--once", "once", default=None, help="Run one job now by name and exit.")
    def scheduler_cmd(once: str | None) -> None:
        """Run the scheduled jobs (deadline warnings, weekly plans, …) until stopped."""
        from core import logs, scheduler

        logs.setup(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
        jobs = scheduler.jobs_of(app)
        if once:
            job = next((j for j in jobs if j.name == once), None)
            if job is None:
                raise click.ClickException(f"no such job: {once} (jobs: {', '.join(j.name for j in jobs)})")
            click.echo(scheduler.run_job(app, job, force=True))
            return
        scheduler.serve(app, jobs)

    dbgroup = AppGroup("db", help="Database schema (Alembic).")

    @dbgroup.command("upgrade")
    def db_upgrade() -> None:
        """Upgrade the schema to the latest revision."""
        migrate.upgrade(db.engine())
        click.echo("schema up to date")

    @dbgroup.command("revision")
    @click.option("-m", "message", required=True, help="What the migration does.")
    def db_revision(message: str) -> None:
        """Autogenerate a migration from the models (for developers)."""
        migrate.revision(str(db.engine().url.render_as_string(hide_password=False)), message)

    app.cli.add_command(dbgroup)

    users = AppGroup("users", help="Accounts and API tokens.")

    @users.command("create")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice(list(ROLES)), help="The account's role.")
    @click.option("--unit", "unit_id", type=int, default=None, help="Unit id (required for caseworkers).")
    @click.option("--name", "display_name", default="", help="Display name (defaults to the user name).")
    @click.option("--password", default=None, help="Password; a random one is generated and printed if omitted.")
    def users_create(username: str, role: str, unit_id: int | None, display_name: str, password: str | None) -> None:
        """Create an account."""
        _cli_origin("users create")
        generated = password is None
        password = password or accounts.generate_password()
        try:
            with db.transaction():
                user = accounts.create_user(actor=None, now=clock.now(), username=username, role=role,
                                            password=password, display_name=display_name, unit_id=unit_id)
        except DomainError as err:
            _fail(err)
        click.echo(f"created {user.username} ({ROLES[role]}), id {user.id}")
        if generated:
            click.echo(f"password: {password}")

    @users.command("token")
    @click.argument("username")
    @click.option("--label", default="cli", help="What the token is for.")
    @click.option("--days", type=click.IntRange(1, accounts.MAX_TOKEN_DAYS), default=None,
                  help="Lifetime in days (default: HOTLINE_API_TOKEN_DAYS, 180).")
    def users_token(username: str, label: str, days: int | None) -> None:
        """Print a new bearer token for the JSON API (stored hashed; shown only now) and when it expires."""
        _cli_origin("users token")
        user = _existing_user(username)
        try:
            with db.transaction():
                raw = accounts.issue_token(actor=None, now=clock.now(), user=user, label=label,
                                           days=days or app.config["API_TOKEN_DAYS"])
        except DomainError as err:
            _fail(err)
        click.echo(raw)
        click.echo(f"expires after {days or app.config['API_TOKEN_DAYS']} days", err=True)

    @users.command("revoke-tokens")
    @click.argument("username")
    def users_revoke(username: str) -> None:
        """Revoke every API token of a user."""
        _cli_origin("users revoke-tokens")
        user = _existing_user(username)
        with db.transaction():
            tokens = db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id,
                                                               ApiToken.revoked_at.is_(None))).scalars().all()
            for token in tokens:
                accounts.revoke_token(actor=None, now=clock.now(), token=token)
        click.echo(f"revoked {len(tokens)} token(s)")

    @users.command("list")
    def users_list() -> None:
        """List accounts."""
        for user in db.session.execute(select(User).order_by(User.id)).scalars():
            state = "active" if user.active else "disabled"
            click.echo(f"{user.id:>4} {user.username:<16} {user.role:<10} unit={user.unit_id} {state}")

    @users.command("reset-password")
    @click.argument("username")
    def users_reset(username: str) -> None:
        """Set a new random password and print it."""
        _cli_origin("users reset-password")
        user = _existing_user(username)
        password = accounts.generate_password()
        with db.transaction():
            accounts.reset_password(actor=None, now=clock.now(), user=user, password=password)
        click.echo(f"password: {password}")

    app.cli.add_command(users)
    _register_backup(app)


def _register_backup(app: Flask) -> None:
    group = AppGroup("backup", help="Backups of the database, uploads and audit checkpoints.")

    @group.command("create")
    @click.argument("path", required=False, type=click.Path(file_okay=False))
    def backup_create(path: str | None) -> None:
        """Write a consistent backup (database snapshot, uploads, audit checkpoints, manifest) to PATH
        (default: a new folder under HOTLINE_BACKUP_DIR)."""
        from pathlib import Path

        _cli_origin("backup create")
        now = clock.now()
        target = Path(path) if path else backup.default_target(app, now)
        try:
            manifest = backup.create(backup.source_of(app), target, now=now)
            with db.transaction():
                backup.record_created(target, manifest, now=now)
        except DomainError as err:
            _fail(err)
        size = sum(f["size"] for f in manifest["files"])
        click.echo(f"backup written to {target}: {manifest['database']} database, {len(manifest['files'])} files, "
                   f"{size / 1e6:.1f} MB; keys included: {', '.join(manifest['keys_included']) or 'none (set in the environment)'}")

    @group.command("restore")
    @click.argument("path", type=click.Path(exists=True, file_okay=False))
    def backup_restore(path: str) -> None:
        """Restore the backup at PATH into this new, empty instance, then verify the audit trail."""
        from pathlib import Path

        _cli_origin("backup restore")
        src = backup.source_of(app)
        try:
            done = backup.restore(src, Path(path))
        except DomainError as err:
            _fail(err)
        for name, setting in (("secret_key", "SECRET_KEY"), ("audit_key", "AUDIT_KEY")):
            if f"restored instance/{name}" in done:
                app.config[setting] = (src.instance / name).read_text().strip()
        for line in done:
            click.echo(line)
        result = audit.verify()
        if not result.ok:
            raise click.ClickException(f"restored, but the audit trail does not verify: {result.reason}")
        with db.transaction():
            backup.record_restored(Path(path), now=clock.now())
        click.echo(f"audit trail intact: {result.count} events")

    app.cli.add_command(group)
