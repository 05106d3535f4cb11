"""Each entry's stored data in an index directory: one SQLite file, one row per document number.

A row holds what the re-ranker reads (`rr`), what a hit displays (`show`), the term counts per
field that the BM25F statistics were built from (`fields`, read only to update or explain) and the
hash of the entry's text (to find what an edit changed). `rr` is read for most candidates of a query
on a large index, so it is marshalled (twice as fast to read as JSON, and its tokens come back
interned, shared with every other entry's); the other columns are JSON. A finished index never changes: readers
open the file immutable (no locking, many processes); an incremental update copies it into the
next index directory and rewrites only the changed rows there.
"""

from __future__ import annotations

import json
import marshal
import shutil
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

FILE = "docs.sqlite"
COLUMNS = ("rr", "show", "fields")


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _row(docnum: int, id: str, rr: dict, show: dict, fields: dict) -> tuple:
    return docnum, id, marshal.dumps(rr), dumps(show), dumps(fields)


class Writer:
    """Rows written into a new index directory (a fresh file, or a copy of the previous index's)."""

    def __init__(self, directory: Path, copy_from: Path | None = None):
        path = Path(directory) / FILE
        if copy_from is not None:
            shutil.copyfile(Path(copy_from) / FILE, path)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE IF NOT EXISTS doc (docnum INTEGER PRIMARY KEY, id TEXT NOT NULL, "
                         "rr BLOB NOT NULL, show TEXT NOT NULL, fields TEXT NOT NULL)")
        self._db.execute("BEGIN")

    def put(self, docnum: int, id: str, rr: dict, show: dict, fields: dict) -> None:
        self._db.execute("INSERT OR REPLACE INTO doc VALUES (?, ?, ?, ?, ?)", _row(docnum, id, rr, show, fields))

    def put_many(self, rows: Iterable[tuple[int, str, dict, dict, dict]]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO doc VALUES (?, ?, ?, ?, ?)",
                             (_row(*row) for row in rows))

    def delete(self, docnum: int) -> None:
        self._db.execute("DELETE FROM doc WHERE docnum = ?", (docnum,))

    def commit(self) -> None:
        self._db.execute("COMMIT")
        self._db.close()

    def cancel(self) -> None:
        self._db.close()


class ImmutableFile:
    """A finished index's SQLite file, read-only: one connection per thread, closed together."""

    FILE = FILE

    def __init__(self, directory: Path):
        self.path = Path(directory) / self.FILE
        if not self.path.is_file():
            raise ValueError(f"index {directory} has no {self.FILE}")
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            dbs, self._all = self._all, []
        for db in dbs:
            db.close()


class Reader(ImmutableFile):
    """Read-only access to a finished index's rows."""

    def get(self, docnum: int, column: str) -> dict:
        if column not in COLUMNS:
            raise ValueError(column)
        row = self._db().execute(f"SELECT {column} FROM doc WHERE docnum = ?", (docnum,)).fetchone()
        if row is None:
            raise KeyError(docnum)
        return marshal.loads(row[0]) if column == "rr" else json.loads(row[0])

    def count(self) -> int:
        return self._db().execute("SELECT count(*) FROM doc").fetchone()[0]
