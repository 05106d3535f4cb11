"""Reading a choice from a form, the API or a spreadsheet: its code or its Chinese label."""

from __future__ import annotations

from typing import Any

from core.errors import DomainError


def choose(value: Any, choices: dict[str, str], label: str, field: str,
           error: type[DomainError] = DomainError) -> str:
    """The code for `value` given as a code (`urgent`) or as its label (`急难`); otherwise `error` naming the options."""
    text = str(value or "").strip()
    if text in choices:
        return text
    for code, name in choices.items():
        if text == name:
            return code
    raise error(f"请选择{label}(可选:{'、'.join(f'{k}={v}' for k, v in choices.items())})", field=field)
