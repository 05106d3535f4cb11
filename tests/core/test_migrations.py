"""The migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from core import migrate
from core.db import Base


def test_the_migrated_schema_matches_the_models(backend):
    with backend["engine"].connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == [], "models and migrations differ; add a migration:\n" + "\n".join(map(str, diffs))


def test_the_migrations_form_one_line(backend):
    script = ScriptDirectory.from_config(migrate.alembic_config(backend["url"]))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    assert len(script.get_bases()) == 1
