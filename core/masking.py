"""Masking of phone and ID numbers: the one helper every list, export and API response uses."""

from __future__ import annotations

import re


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


# --- numbers typed into free text (descriptions, notes, search queries) ---------------------------

#: Character by character (so positions stay put): full-width digits and X, dash-like marks, wide spaces.
_NARROW = str.maketrans({
    **{chr(0xFF10 + d): str(d) for d in range(10)}, "Ｘ": "X", "ｘ": "x",
    "－": "-", "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "﹣": "-",
    "\u3000": " ", "\u00a0": " ", "（": "(", "）": ")", "＋": "+",
})
_SEP = r"[ \-]?"
_NUMBERS = re.compile(
    r"(?<![0-9])(?:"
    rf"(?P<id18>\d(?:{_SEP}\d){{16}}{_SEP}[0-9Xx])"
    rf"|(?P<id15>\d(?:{_SEP}\d){{14}})"
    rf"|(?P<cc>\+?86{_SEP})?(?P<mobile>1{_SEP}[3-9](?:{_SEP}\d){{9}})"
    rf"|\(?(?P<area>0[1-9]\d{{1,2}})\)?{_SEP}(?P<local>\d{{3,4}}{_SEP}\d{{4}})"
    r")(?![0-9])"
)
_NOT_DIGIT = re.compile(r"[^0-9Xx]")


def _masked(match: re.Match[str]) -> str:
    digits = _NOT_DIGIT.sub("", match.group(0) if match.group("mobile") is None else match.group("mobile"))
    if match.group("id18") or match.group("id15"):
        return mask_id_number(digits.upper())
    if match.group("mobile"):
        return f"{match.group('cc') or ''}{mask_phone(digits)}"
    local = _NOT_DIGIT.sub("", match.group("local"))
    return f"{match.group('area')}-{'*' * (len(local) - 4)}{local[-4:]}"


def mask_numbers(text: str | None) -> str:
    """Mask the phone and ID numbers a person typed into free text, leaving every other character as it was.

    Mobiles (1[3-9] and 9 more digits), landlines with an area code, 18-character ID numbers (last may be X)
    and 15-digit old ones are found with spaces or dashes inside and in full-width digits."""
    if not text:
        return ""
    narrow = text.translate(_NARROW)
    out, last = [], 0
    for match in _NUMBERS.finditer(narrow):
        out.append(text[last:match.start()])
        out.append(_masked(match))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


_NUMBER_CHARS = "0123456789Xx -" + "".join(chr(0xFF10 + d) for d in range(10)) + "Ｘｘ－\u3000"


def clip(text: str | None, limit: int) -> str:
    """The first `limit` characters without ending inside a number: a number cut short (a snippet
    quoted in a notification) would no longer look like one and slip past mask_numbers."""
    text = text or ""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if text[limit] in _NUMBER_CHARS and cut[-1] in _NUMBER_CHARS:
        cut = cut.rstrip(_NUMBER_CHARS)
    return cut
