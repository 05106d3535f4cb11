"""/metrics (Prometheus) for a local scraper or an admin; JSON log lines carrying the request id."""

from __future__ import annotations

import json
import logging

from core import logs


def test_metrics_count_requests_by_endpoint_for_a_local_scraper(client):
    client.get("/healthz")
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'hotline_requests_total{endpoint="health.healthz",method="GET",status="200"}' in text
    assert "hotline_request_seconds_bucket" in text and "# HELP hotline_job_runs_total" in text


def test_metrics_are_refused_to_others_and_open_to_admins(client, login):
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/metrics", environ_base=remote).status_code == 403
    proxied = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={"X-Forwarded-For": "1.2.3.4"})
    assert proxied.status_code == 403
    login("operator")
    assert client.get("/metrics", environ_base=remote).status_code == 403
    login("admin")
    assert client.get("/metrics", environ_base=remote).status_code == 200


def test_search_latency_is_its_own_histogram(client, login):
    login("operator")
    assert client.get("/kb/search.json?q=低保").status_code == 200
    text = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    assert 'hotline_search_seconds_count{endpoint="kb.search_json"}' in text


def test_a_json_log_line_carries_the_request_id(app, client):
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(logs.RequestContext())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("hotline.request")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        response = client.get("/healthz")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    line = json.loads(records[-1])
    assert line["request_id"] == response.headers["X-Request-ID"] and line["status"] == 200
    assert line["endpoint"] == "health.healthz" and line["level"] == "info" and "ms" in line
