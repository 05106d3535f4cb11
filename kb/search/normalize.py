"""Text normalization shared by indexing and querying: one function, so both sides always agree.

full-width → half-width (NFKC), traditional → simplified (OpenCC), lower case, and every character
that is not a letter or a digit (punctuation, symbols, emoji, control characters) → a space.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import opencc

#: `{{参数名}}` placeholders in answers: local figures rendered at display time, never indexed.
PLACEHOLDER_RE = re.compile(r"\{\{\s*[^{}]{0,60}?\s*\}\}")

_SPACES_RE = re.compile(r"\s+")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ALL_CJK_RE = re.compile(_CJK_RE.pattern + "+")
_LATIN_RE = re.compile(r"[a-z]+")

# OpenCC's "tw2s" is t2s plus the Taiwan variant table; plain t2s leaves 著 (跟著, 睡著) alone,
# which Taiwan and Hong Kong input produces constantly.
_CONVERTER_CONFIG = "tw2s"
_converter = None
_converter_lock = threading.Lock()

# Characters OpenCC leaves as they are but callers mean as their common form.
_EXTRA_MAP = str.maketrans({"妳": "你", "甚": "什", "祢": "你", "〇": "零"})


def _opencc():
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                _converter = opencc.OpenCC(_CONVERTER_CONFIG)
    return _converter


def to_simplified(text: str) -> str:
    """Traditional (and Taiwan-variant) characters → simplified; other text unchanged."""
    return _opencc().convert(text).translate(_EXTRA_MAP)


def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LN" and cat != "Nl" or ch == " "


class CharTable(dict):
    """A `str.translate` table filled in as characters are met: `rule(ch)` is computed once per
    character, and every later text is mapped in C instead of a Python loop per character."""

    def __init__(self, rule):
        super().__init__()
        self._rule = rule

    def __missing__(self, code: int) -> str:
        value = self[code] = self._rule(chr(code))
        return value


_KEEP_TABLE = CharTable(lambda ch: ch if _keep(ch) else " ")


def normalize(text: object) -> str:
    """Normalize a query or a field for matching; never raises, returns "" for nothing usable."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = text.decode("utf-8", "replace") if isinstance(text, bytes | bytearray) else str(text)
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    # Lone surrogates (from broken UTF-16) cannot be encoded for OpenCC: drop them first.
    text = text.encode("utf-8", "ignore").decode("utf-8")
    text = text.translate(_KEEP_TABLE)
    text = _SPACES_RE.sub(" ", text).strip()
    if not text:
        return ""
    if _CJK_RE.search(text):
        text = to_simplified(text)
    return text.lower()


def strip_placeholders(text: str | None) -> str:
    """Remove `{{参数}}` placeholders (their rendered value is not part of the answer's wording)."""
    return PLACEHOLDER_RE.sub(" ", text or "")


def is_cjk(ch: str) -> bool:
    return bool(_CJK_RE.fullmatch(ch))


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def all_cjk(text: str) -> bool:
    """Every character of `text` is a CJK one (`is_cjk`), and there is one at least."""
    return bool(_ALL_CJK_RE.fullmatch(text))


def latin_runs(text: str) -> list[str]:
    """Runs of ASCII letters in normalized text (candidates for pinyin)."""
    return _LATIN_RE.findall(text)
