"""Masking of phone and ID numbers: the one helper every list, export and API response uses."""

from __future__ import annotations


def mask_phone(value: str | None) -> str:
    """13812345678 → 138****5678; landlines keep the area code and the last 4 digits."""
    if not value:
        return ""
    digits = value.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) == 11 and digits.isdigit():
        return f"{digits[:3]}****{digits[-4:]}"
    head = digits[:4] if len(digits) > 8 else digits[:2]
    return f"{head}{'*' * (len(digits) - len(head) - 4)}{digits[-4:]}"


def mask_id_number(value: str | None) -> str:
    """230102198001011234 → 2301**********1234."""
    if not value:
        return ""
    v = value.strip()
    if len(v) < 8:
        return "*" * len(v)
    return f"{v[:4]}{'*' * (len(v) - 8)}{v[-4:]}"
