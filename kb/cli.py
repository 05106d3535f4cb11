"""`flask kb …`: load the bundled entries, export, import, reindex, search and evaluate the search."""

from __future__ import annotations

import io
import json
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from audit import services as audit
from core import clock, db, seed
from core.errors import DomainError
from kb import bundle, evaluation, index, lookup, scope, transfer


def _load_bundle(now: datetime) -> str:
    counts = bundle.load(now=now)
    return ("knowledge base: {created} created, {updated} updated, {unchanged} unchanged; "
            "{parameters} parameters, {synonyms} synonyms and {documents} policy documents added").format(**counts)


def _load_matters(now: datetime) -> str:
    added = scope.load_seed(now=now)
    return f"matters outside the knowledge base: {added} added" if added else "matters outside the knowledge base: kept"


def _require_schema() -> None:
    """A clear message instead of a database traceback when `flask init` has not been run."""
    from sqlalchemy import inspect

    if not inspect(db.session.get_bind()).has_table("kb_revision"):
        raise click.ClickException("the database has no knowledge-base tables yet: run `flask --app app init` first")


def _ensure_knowledge_base(app: Flask) -> None:
    """`kb search` and `kb eval` on a fresh clone: create the schema and load the bundled knowledge base
    when the database has none yet (said on stderr, so stdout stays the results)."""
    from sqlalchemy import func, inspect, select

    from core import migrate
    from kb.models import Entry

    if not inspect(db.session.get_bind()).has_table("kb_revision"):
        db.session.remove()
        click.echo("the database has no schema yet: creating it (as `flask init` would)", err=True)
        migrate.upgrade(db.engine())
    if not db.session.execute(select(func.count()).select_from(Entry)).scalar_one():
        db.session.remove()
        audit.set_origin("cli:kb", "cli")
        click.echo("the knowledge base is empty: loading the bundled data (as `flask init` would)", err=True)
        seed.load_bundled(app, clock.now(), report=lambda said: click.echo(said, err=True))
    db.session.remove()


def _index_root(app: Flask) -> Path:
    return Path(app.instance_path) / "search"


def register(app: Flask) -> None:
    def _build_index(_now: datetime) -> str:
        info = index.rebuild(_index_root(app))
        return f"search index: revision {info.revision}, {info.entries} entries ({info.directory})"

    app.extensions.setdefault("hotline.init_loaders", []).extend([_load_bundle, _load_matters, _build_index])
    group = AppGroup("kb", help="The knowledge base.")

    @group.command("load")
    def load() -> None:
        """Load kb/data/ (idempotent: only files changed since the last load make new versions)."""
        _require_schema()
        audit.set_origin("cli:kb load", "cli")
        try:
            with db.transaction():
                click.echo(_load_bundle(clock.now()))
        except DomainError as err:
            raise click.ClickException(err.message) from None

    @group.command("export")
    @click.option("--jsonl", "as_jsonl", is_flag=True, help="One JSON object per published entry on stdout.")
    @click.option("--yaml", "yaml_dir", type=click.Path(file_okay=False, path_type=Path), help="Write one YAML file per entry into DIR.")
    @click.option("--xlsx", "xlsx_file", type=click.Path(dir_okay=False, path_type=Path), help="Write a spreadsheet.")
    @click.option("--all", "include_all", is_flag=True, help="Include drafts and retired entries (YAML/xlsx).")
    def export(as_jsonl: bool, yaml_dir: Path | None, xlsx_file: Path | None, include_all: bool) -> None:
        """Export entries as JSON lines (published only), YAML files or an xlsx workbook."""
        _require_schema()
        if not (as_jsonl or yaml_dir or xlsx_file):
            raise click.UsageError("choose --jsonl, --yaml DIR or --xlsx FILE")
        audit.set_origin("cli:kb export", "cli")
        now = clock.now()
        with db.transaction():
            if as_jsonl:
                sys.stdout.write(transfer.export_file(actor=None, now=now, fmt="jsonl", everything=False).decode())
            if yaml_dir:
                count = transfer.export_directory(actor=None, now=now, directory=yaml_dir, everything=include_all)
                click.echo(f"wrote {count} files to {yaml_dir}", err=as_jsonl)
            if xlsx_file:
                xlsx_file.write_bytes(transfer.export_file(actor=None, now=now, fmt="xlsx", everything=include_all))
                click.echo(f"wrote the {'entries' if include_all else 'published entries'} to {xlsx_file}",
                           err=as_jsonl)

    @group.command("import")
    @click.argument("path", type=click.Path(exists=True, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Validate and show what would change, change nothing.")
    def import_(path: Path, dry_run: bool) -> None:
        """Import an .xlsx workbook, a YAML file or a folder of YAML files (all or nothing)."""
        _require_schema()
        audit.set_origin("cli:kb import", "cli")
        try:
            with db.transaction():
                plan = transfer.plan_import(transfer.read_rows(path), path.name)
                for change in plan.changes:
                    if change.kind != "无变化":
                        click.echo(f"{change.kind} {change.entry_id} {'、'.join(change.fields)}")
                if not dry_run:
                    transfer.apply_import(plan, actor=None, now=clock.now())
        except transfer.ImportError_ as err:
            for message in err.errors:
                click.echo(message, err=True)
            raise click.ClickException(f"导入失败,数据库未作任何修改({len(err.errors)}处错误)") from None
        verb = "would change" if dry_run else "imported"
        click.echo(f"{verb}: {plan.created} new, {plan.updated} changed, {plan.unchanged} unchanged")

    @group.command("reindex")
    @click.option("--if-stale", is_flag=True, help="Only when the index is behind the database.")
    def reindex(if_stale: bool) -> None:
        """Rebuild this host's search index from the database now (web workers pick it up within seconds)."""
        _require_schema()
        info = index.rebuild(_index_root(app), force=not if_stale)
        click.echo(f"search index: revision {info.revision}, {info.entries} entries ({info.directory})")

    @group.command("search")
    @click.option("--jsonl", "as_jsonl", is_flag=True, required=True,
                  help="Read queries one per line on stdin, print one JSON result per line.")
    @click.option("--limit", default=5, show_default=True, type=click.IntRange(1, lookup.MAX_LIMIT))
    def search(as_jsonl: bool, limit: int) -> None:
        """Search the published entries, loading everything once (a fresh database gets the bundled KB)."""
        _ensure_knowledge_base(app)
        holder = index.IndexHolder(_index_root(app), poll_seconds=10**9)
        engine = holder.engine()
        states = holder.parameter_states(clock.today_local())
        answers = holder.answers()
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        for line in stdin:
            query = line.rstrip("\n").rstrip("\r")
            result = lookup.search(engine, query, limit)
            sys.stdout.write(json.dumps(lookup.as_json(result, lookup.clean_query(query), states, answers),
                                        ensure_ascii=False) + "\n")
            sys.stdout.flush()

    @group.command("eval")
    @click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def eval_(files: tuple[Path, ...]) -> None:
        """Score labelled queries (TSV: query, expected id(s) or -, type): top-1, top-3, MRR, levels.

        A fresh database gets the schema and the bundled knowledge base first (said on stderr)."""
        _ensure_knowledge_base(app)
        engine = index.IndexHolder(_index_root(app), poll_seconds=10**9).engine()
        try:
            rows = evaluation.read_tsv(files)
        except ValueError as err:
            raise click.ClickException(str(err)) from None
        report = evaluation.evaluate(lambda q: lookup.search(engine, q, 10), rows)
        click.echo(evaluation.format_report(report))

    _register_issue13(group)
    app.cli.add_command(group)


def _register_issue13(group: AppGroup) -> None:
    """`kb parameters list|set`, `kb check` and `kb register list` (issue 13)."""
    from datetime import date

    from kb import readability, register, services

    params = AppGroup("parameters", help="Local parameters (amounts, deadlines, phone numbers).")

    @params.command("list")
    def params_list() -> None:
        """Every parameter: kind, the value in effect today (or 未设置), since when, source, next change."""
        _require_schema()
        today = clock.today_local()
        with db.transaction():
            for name, p in services.parameter_states(today).items():
                since = f" since {p.effective_date}" if p.effective_date else ""
                source = f" ({p.source})" if p.source else ""
                nxt = (f"; from {p.upcoming.effective_date}: {p.upcoming.value or '未设置'}" if p.upcoming else "")
                click.echo(f"{name}\t{p.kind}\t{p.rendered if p.is_set else '未设置'}{since}{source}{nxt}")

    @params.command("set")
    @click.argument("name")
    @click.argument("value")
    @click.option("--effective", help="Effective date YYYY-MM-DD (default today; an earlier date may not rewrite history).")
    @click.option("--source", default="", help="The document or notice that set the figure.")
    @click.option("--unit", default="", help="Unit shown after the value (default: the parameter's unit).")
    def params_set(name: str, value: str, effective: str | None, source: str, unit: str) -> None:
        """Set NAME to VALUE from a date on (an empty VALUE unsets it); audited like the parameters page."""
        _require_schema()
        audit.set_origin("cli:kb parameters set", "cli")
        today = clock.today_local()
        try:
            when = date.fromisoformat(effective) if effective else today
        except ValueError:
            raise click.ClickException(f"生效日期格式应为 年-月-日:{effective}") from None
        try:
            with db.transaction():
                row = services.set_parameter(actor=None, now=clock.now(), name=name, value=value, unit=unit,
                                             effective_date=when, source=source, today=today)
                click.echo(f"{name} = {row.value or '未设置'}{row.unit if row.value else ''} from {row.effective_date}")
        except DomainError as err:
            raise click.ClickException(err.message) from None

    group.add_command(params)

    @group.command("check")
    @click.option("--all", "include_all", is_flag=True, help="Drafts too (default: published entries).")
    def check(include_all: bool) -> None:
        """Readability of answer scripts: length, 12345, parameters inside sentences, register links (exit 1 on any)."""
        _require_schema()
        with db.transaction():
            found = services.entries(status=None if include_all else "published")
            rows = [e.as_data() for e in found if e.status != "retired"]
            problems = readability.check(rows, services.parameter_states(clock.today_local()),
                                         set(register.by_title()))
        for p in problems:
            click.echo(f"{p.entry_id}\t{p.rule}\t{p.message}")
        per_rule = readability.counts(problems)
        click.echo(f"{len(rows)} entries checked; failing: " + ", ".join(
            f"{rule} {n}" for rule, n in per_rule.items()), err=bool(problems))
        if problems:
            raise SystemExit(1)

    reg = AppGroup("register", help="The policy register.")

    @reg.command("list")
    def register_list() -> None:
        """The register's documents with how many entries rest on each; then entries whose basis is unmatched."""
        _require_schema()
        with db.transaction():
            all_entries = services.entries()
            for doc in register.documents():
                successor = f" -> {doc.superseded_by.title}" if doc.superseded_by else ""
                click.echo(f"{doc.id}\t{doc.level}\t{doc.status}{successor}\t{doc.title}\t{doc.number}\t"
                           f"{len(register.dependents(doc, all_entries))} entries")
            for entry, names in register.unmatched(all_entries):
                click.echo(f"unmatched\t{entry.id}\t{'、'.join(names)}")

    group.add_command(reg)
