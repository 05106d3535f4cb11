"""What the application is made of: every area's models and scheduled jobs, listed in one place.

`core` is the ground floor and knows no area; the areas (audit, kb, tickets, spotchecks) each declare
their own models (`models.py`) and jobs (`jobs.py`, `JOBS: list[Job]`). The app (app.py), the schema
migrations (migrations/env.py) and the tests take them from here. A new area adds one line to each list.
"""

from __future__ import annotations

import audit.models  # noqa: F401  (registers the tables with core.db.Base.metadata)
import core.models  # noqa: F401
import eligibility.models  # noqa: F401
import kb.models  # noqa: F401
import spotchecks.models  # noqa: F401
import tickets.models  # noqa: F401
from audit import jobs as audit_jobs
from core import jobs as core_jobs
from core.scheduler import Job
from kb import jobs as kb_jobs
from spotchecks import jobs as spotchecks_jobs
from tickets import jobs as tickets_jobs

#: Every scheduled job, in the order the scheduler starts (and catches up on) them.
JOBS: list[Job] = [*core_jobs.JOBS, *kb_jobs.JOBS, *tickets_jobs.JOBS, *spotchecks_jobs.JOBS, *audit_jobs.JOBS]
