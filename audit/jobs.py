"""Scheduled work of the audit trail: publish a signed checkpoint of the chain's head."""

from __future__ import annotations

from apscheduler.triggers.interval import IntervalTrigger

from audit.services import checkpoint_job
from core.scheduler import Job

JOBS: list[Job] = [
    Job("audit_checkpoint", checkpoint_job,
        lambda app: IntervalTrigger(minutes=app.config["AUDIT_CHECKPOINT_MINUTES"]), catch_up=True,
        per_host=True),  # each host appends to its own checkpoint file
]
