"""Imports every area's models so metadata (Alembic, create_all) sees all tables."""

import audit.models  # noqa: F401
import core.models  # noqa: F401
import kb.models  # noqa: F401
import spotchecks.models  # noqa: F401
import tickets.models  # noqa: F401
