"""Highlighting: mark the matched words in the text shown to the operator (HTML-escaped).

`{{参数}}` placeholders are left intact (never marked inside), so the caller can put the current
local figures in the marked text as it does in the answer itself.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterable

from kb.search.normalize import PLACEHOLDER_RE, CharTable, to_simplified


def _one(ch: str) -> str:
    n = unicodedata.normalize("NFKC", ch).lower()
    return n if len(n) == 1 else ch.lower()[:1] or " "


_ALIGN_TABLE = CharTable(_one)


def aligned(text: str) -> str:
    """A normalized copy of `text` with exactly one character per original character."""
    out = text.translate(_ALIGN_TABLE)
    converted = to_simplified(out)
    return converted if len(converted) == len(out) else out


def spans(text: str, terms: Iterable[str], norm: str | None = None) -> list[tuple[int, int]]:
    """Where `terms` occur in `text` (matched on `norm`, its `aligned` form, computed if not given)."""
    if norm is None or len(norm) != len(text):
        norm = aligned(text)
    found: list[tuple[int, int]] = []
    # single characters (办, 钱) would light up half the text: words only
    for term in sorted({t for t in terms if len(t) >= 2}, key=len, reverse=True):
        start = norm.find(term)
        while start != -1:
            found.append((start, start + len(term)))
            start = norm.find(term, start + len(term))
    # never inside a {{参数}} placeholder: the caller substitutes those in the marked text
    blocked = [m.span() for m in PLACEHOLDER_RE.finditer(text)]
    if blocked:
        found = [(s, e) for s, e in found if not any(s < be and e > bs for bs, be in blocked)]
    found.sort()
    merged: list[tuple[int, int]] = []
    for s, e in found:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def mark(text: str, terms: Iterable[str], max_chars: int | None = None, norm: str | None = None) -> str:
    """`text` HTML-escaped with <mark> around each term; cut to the densest `max_chars` window."""
    text = text or ""
    found = spans(text, terms, norm)
    start, end = 0, len(text)
    if max_chars and len(text) > max_chars:
        best, best_cov = 0, -1
        for s, _ in found or [(0, 0)]:
            lo = max(0, min(s - max_chars // 4, len(text) - max_chars))
            cov = sum(min(e2, lo + max_chars) - max(s2, lo) for s2, e2 in found if e2 > lo and s2 < lo + max_chars)
            if cov > best_cov:
                best, best_cov = lo, cov
        start, end = best, best + max_chars
    out = ["…"] if start > 0 else []
    pos = start
    for s, e in found:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[pos:s]))
        out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)
