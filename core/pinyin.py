"""Pinyin of Chinese names for matching what people type: 北林区紫来街道 → blqzljd or beilinquzilaijiedao."""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=4096)
def initials(text: str) -> str:
    """北林区紫来街道 → blqzljd (first letters of each character's reading; Latin and digits kept)."""
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER, errors=lambda chars: list(chars))
    return "".join(letters).lower()


@lru_cache(maxsize=4096)
def spelled(text: str) -> str:
    """北林区 → beilinqu (the reading without tones, for a full-pinyin search)."""
    return "".join(lazy_pinyin(text, errors=lambda chars: list(chars))).lower()
