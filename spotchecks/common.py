"""What every spot-check service shares: its error, text-field checks, a row or 404, the supervisor check."""

from __future__ import annotations

from typing import Any, TypeVar

from core.db import session
from core.errors import DomainError, Forbidden, NotFound
from core.models import User

MAX_TEXT = 2000
T = TypeVar("T")


class SpotcheckError(DomainError):
    pass


def clean_text(value: Any, label: str, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise SpotcheckError(f"请填写{label}", field=field)
    if len(text) > limit:
        raise SpotcheckError(f"{label}不能超过{limit}字", field=field)
    return text


def get_or_404(model: type[T], key: Any, message: str) -> T:
    """The row with this primary key, or NotFound with a message naming what was not found."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(message)
    return row


def require_supervisor(actor: User | None, action: str) -> None:
    if actor is not None and not actor.has_role("supervisor"):
        raise Forbidden(f"只有督查人员可以{action}")
