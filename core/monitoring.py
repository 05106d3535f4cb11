"""Prometheus metrics of the web workers and the scheduler (`/metrics`).

Under `make run` / `python -m core.serve` every process (both gunicorn workers, the scheduler) writes its
figures into PROMETHEUS_MULTIPROC_DIR and `/metrics` adds them up, whichever worker answers the scrape;
without that variable (development server, tests) a process serves its own figures.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("hotline_requests", "HTTP requests answered, by endpoint, method and status",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("hotline_request_seconds", "Time to answer a request, by endpoint", ["endpoint"],
                    buckets=_BUCKETS)
SEARCH = Histogram("hotline_search_seconds", "Time to answer a knowledge-base search (page, API)", ["endpoint"],
                   buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
JOBS = Counter("hotline_job_runs", "Scheduled job runs, by job and outcome (ok, failed, skipped: another "
               "host's slot)", ["job", "outcome"])
DATABASE_DOWN = Counter("hotline_database_unavailable", "Requests the database failed (answered 503, or a search "
                        "answered from the local index)")

#: Endpoints whose time is also the search latency.
SEARCH_ENDPOINTS = frozenset({"kb.search_json", "kb_api.api_search"})


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(endpoint, method, str(status)).inc()
    LATENCY.labels(endpoint).observe(seconds)
    if endpoint in SEARCH_ENDPOINTS and status < 400:
        SEARCH.labels(endpoint).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The text format of every process's figures (or this process's alone)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def prepare_multiproc_dir(instance: Path) -> Path:
    """A fresh folder for this run's figures (set in the environment before the processes start)."""
    folder = instance / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    return folder
