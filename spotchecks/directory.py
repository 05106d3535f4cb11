"""The public hotline directory: grouped by county, searchable by name, number and pinyin initials."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from spotchecks import hotlines
from spotchecks.models import Hotline


@lru_cache(maxsize=4096)
def initials(text: str) -> str:
    """北林区紫来街道 → blqzljd (first letters of each character's reading; Latin and digits kept)."""
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER, errors=lambda chars: list(chars))
    return "".join(letters).lower()


@dataclass(frozen=True)
class Listing:
    id: int
    area: str
    unit: str
    name: str
    level: str
    number: str
    service_hours: str
    #: Lower-case text the page's search box matches: name, unit, area, number and their pinyin initials.
    search_key: str


def _key(h: Hotline) -> str:
    parts = [h.name, h.unit.name, h.unit.area, h.number, h.number.replace("-", ""),
             initials(h.name), initials(h.unit.name), initials(h.unit.area + h.unit.name)]
    return " ".join(parts).lower()


def listings() -> list[Listing]:
    return [Listing(id=h.id, area=h.unit.area, unit=h.unit.name, name=h.name, level=h.level_label, number=h.number,
                    service_hours="24小时" if h.service_hours == "00:00-24:00" else h.service_hours,
                    search_key=_key(h))
            for h in hotlines.hotlines(active_only=True)]


def matches(listing: Listing, query: str) -> bool:
    """Every word of the query must appear (case-insensitive) in the listing's search key."""
    words = [w for w in re.split(r"\s+", query.strip().lower()) if w]
    return all(word in listing.search_key for word in words)


def grouped(rows: list[Listing]) -> list[tuple[str, list[Listing]]]:
    groups: dict[str, list[Listing]] = {}
    for row in rows:
        groups.setdefault(row.area, []).append(row)
    return list(groups.items())
