"""Idempotency-Key on changing API requests (POST, PUT, PATCH, DELETE under /api/): a client that retries
after a network stall gets the first request's answer again, and the work is done once (core.idempotency).

The key row is inserted before the handler runs and the answer kept in the same transaction as the work,
so an answer is kept only if the work was committed; an error answer rolls the key back with everything
else, and a retry then runs afresh."""

from __future__ import annotations

import hashlib

from flask import Flask, g, request
from flask_login import current_user

from core import clock, idempotency
from core.db import session
from core.errors import DomainError
from handlers.common import actor, domain_error_response, wants_json

HEADER = "Idempotency-Key"
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}?{request.query_string.decode('latin-1')}\n".encode())
    digest.update(request.get_data(cache=True, parse_form_data=True))
    for name, value in sorted(request.form.items(multi=True)):
        digest.update(f"\nform {name}={value}".encode())
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        position = upload.stream.tell()
        digest.update(f"\nfile {name} {upload.filename}\n".encode())
        digest.update(hashlib.sha256(upload.stream.read()).digest())
        upload.stream.seek(position)
    return digest.hexdigest()


def _replay(kept: idempotency.Kept):
    response = Flask.response_class(kept.body, status=kept.status, content_type=kept.content_type or None)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def init_app(app: Flask) -> None:
    @app.before_request
    def _idempotent_start():
        raw = request.headers.get(HEADER)
        if raw is None or request.method not in CHANGING or not wants_json() or not current_user.is_authenticated:
            return None
        user = actor()
        try:
            key = idempotency.check_key(raw.strip())
            fingerprint = _fingerprint()
            try:
                found = idempotency.begin(user=user, key=key, fingerprint=fingerprint, now=clock.now())
            except idempotency.InFlight:
                session.rollback()  # the other request committed while this one waited on the key
                found = idempotency.kept(user=user, key=key, fingerprint=fingerprint)
                if found is None:
                    raise DomainError("同一请求正在处理，请稍后重试", code="idempotency_in_progress",
                                      status=409) from None
        except DomainError as err:
            return domain_error_response(err)
        if isinstance(found, idempotency.Kept):
            session.rollback()
            return _replay(found)
        g.idempotency_row = found
        return None

    @app.after_request
    def _idempotent_keep(response):
        """Runs before the commit point (registered after it): keep a successful answer with the work."""
        row = g.pop("idempotency_row", None)
        if row is not None and response.status_code < 400 and not response.is_streamed:
            idempotency.settle(row, status=response.status_code, content_type=response.content_type or "",
                               body=response.get_data(as_text=True))
        return response
