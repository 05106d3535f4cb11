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
from audit import export as audit_export
from audit import jobs as audit_jobs
from core import jobs as core_jobs
from core.exports import Kind
from core.models import UNIT_KINDS, UNIT_LEVELS
from core.scheduler import Job
from kb import jobs as kb_jobs
from kb.models import STATUSES as KB_STATUSES
from spotchecks import jobs as spotchecks_jobs
from spotchecks import notices as spotchecks_notices
from spotchecks.models import (
    HOTLINE_LEVELS,
    NOTICE_STATES,
    RECTIFICATION_STATES,
    SUMMONS_RULES,
    SUMMONS_STATES,
)
from spotchecks.rubric import FAULT_TYPES
from tickets import deadlines as tickets_deadlines
from tickets import exports as tickets_exports
from tickets import jobs as tickets_jobs
from tickets.jobs import LIMIT_LABELS
from tickets.models import CALL_STATES, CALLBACK_OUTCOMES, KINDS, OUTCOMES, SATISFACTION, STATES, URGENCIES

#: Every scheduled job, in the order the scheduler starts (and catches up on) them.
JOBS: list[Job] = [*core_jobs.JOBS, *kb_jobs.JOBS, *tickets_jobs.JOBS, *spotchecks_jobs.JOBS, *audit_jobs.JOBS]

#: The areas' codes, as the audit page shows them: (entity type or None for any, field) → labels.
AUDIT_VALUE_LABELS: dict[tuple[str | None, str], dict[str, str]] = {
    ("ticket", "state"): STATES, ("ticket", "kind"): KINDS, (None, "urgency"): URGENCIES,
    (None, "satisfaction"): SATISFACTION, (None, "limit"): LIMIT_LABELS,
    ("call", "status"): CALL_STATES, ("call", "outcome"): {**OUTCOMES, **CALLBACK_OUTCOMES},
    ("rectification", "state"): RECTIFICATION_STATES, ("summons", "state"): SUMMONS_STATES,
    ("summons", "rule"): SUMMONS_RULES, ("notice", "status"): NOTICE_STATES, ("kb_entry", "status"): KB_STATUSES,
    ("hotline", "level"): HOTLINE_LEVELS, ("unit", "level"): UNIT_LEVELS, ("unit", "kind"): UNIT_KINDS,
    (None, "faults"): FAULT_TYPES,
}

#: What can be exported in the background (core.exports), by kind name.
EXPORTS: list[Kind] = [*tickets_exports.EXPORTS, *audit_export.kinds(AUDIT_VALUE_LABELS)]

#: The weekly spot-check notice ends with the tickets overdue past their margin (issue: overdue tickets
#: land on the weekly supervisor notice); the two wings meet only here.
spotchecks_notices.WEEKLY_APPENDICES[:] = [tickets_deadlines.overdue_paragraphs]
