"""The published entries' cards kept beside each search index (`cards.sqlite`), with the local parameters as
they were when the index was written: while the database is down, the card an operator opens from a search
result — the answer script first — is served from here, as the search itself is served from the index.

Written by the index build (kb.index) into the new index directory: copied from the previous one and only
the entries whose card changed rewritten. Read like the index: immutable, one connection per thread.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from kb.models import LIST_FIELDS, TEXT_FIELDS
from kb.search.store import ImmutableFile
from kb.services import ParamState

FILE = "cards.sqlite"
#: What a card shows (Entry.as_data() without the status: only published entries are kept).
FIELDS = tuple(f for f in TEXT_FIELDS if f != "status") + LIST_FIELDS + ("review_date",)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def card_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """An entry's card data, in Entry.as_data() shape, from a row of kb.index.entry_documents()."""
    data = {"id": str(document["id"]), "status": "published"}
    for field in FIELDS:
        value = document.get(field)
        data[field] = value if value is not None else ([] if field in LIST_FIELDS else "")
    return data


def param_data(states: Mapping[str, ParamState]) -> dict[str, dict[str, Any]]:
    """Parameters as plain data (the value in effect when written, and the next one, applied by date)."""
    out = {}
    for name, s in states.items():
        nxt = s.upcoming
        out[name] = {"label": s.label, "unit": s.unit, "value": s.value, "kind": s.kind, "source": s.source,
                     "effective_date": s.effective_date.isoformat() if s.effective_date else None,
                     "next": None if nxt is None else {"value": nxt.value, "unit": nxt.unit or s.unit,
                                                      "source": nxt.source,
                                                      "effective_date": nxt.effective_date.isoformat()}}
    return out


def write(directory: Path, documents: Iterable[Mapping[str, Any]], params: Mapping[str, dict[str, Any]],
          copy_from: Path | None = None) -> int:
    """Write the cards of `documents` (all published entries) into `directory`; with `copy_from` (the
    previous index) only the changed ones are rewritten. Returns how many rows were written or removed."""
    path = Path(directory) / FILE
    if copy_from is not None and (Path(copy_from) / FILE).is_file():
        shutil.copyfile(Path(copy_from) / FILE, path)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE IF NOT EXISTS card (id TEXT PRIMARY KEY, hash TEXT NOT NULL, data TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("BEGIN")
        old = dict(db.execute("SELECT id, hash FROM card"))
        changed, seen = [], set()
        for document in documents:
            text = _dumps(card_of(document))
            digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
            seen.add(str(document["id"]))
            if old.get(str(document["id"])) != digest:
                changed.append((str(document["id"]), digest, text))
        gone = [(i,) for i in old if i not in seen]
        db.executemany("INSERT OR REPLACE INTO card VALUES (?, ?, ?)", changed)
        db.executemany("DELETE FROM card WHERE id = ?", gone)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('parameters', ?)", (_dumps(params),))
        db.execute("COMMIT")
    finally:
        db.close()
    return len(changed) + len(gone)


def present(directory: Path) -> bool:
    return (Path(directory) / FILE).is_file()


class Reader(ImmutableFile):
    """Read-only access to an index directory's cards."""

    FILE = FILE

    def card(self, entry_id: str) -> dict[str, Any] | None:
        row = self._db().execute("SELECT data FROM card WHERE id = ?", (entry_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def answer(self, entry_id: str) -> str:
        card = self.card(entry_id)
        return card["answer"] if card else ""

    def parameter_states(self, today: date) -> dict[str, ParamState]:
        """The parameters as written, with a scheduled value that has come into effect since applied."""
        row = self._db().execute("SELECT value FROM meta WHERE key = 'parameters'").fetchone()
        states = {}
        for name, p in (json.loads(row[0]) if row else {}).items():
            current = p
            if p["next"] and date.fromisoformat(p["next"]["effective_date"]) <= today:
                current = p["next"]
            effective = current["effective_date"]
            states[name] = ParamState(name=name, label=p["label"], unit=current["unit"], value=current["value"],
                                      effective_date=date.fromisoformat(effective) if effective else None,
                                      source=current["source"], upcoming=None, kind=p["kind"])
        return states

class Answers:
    """The answer scripts by id read from the cards, for an offline search in a worker that never read them
    from the database (a worker started or recycled during the outage)."""

    def __init__(self, reader: Reader):
        self._reader = reader

    def get(self, entry_id: str, default: str = "") -> str:
        return self._reader.answer(entry_id) or default
