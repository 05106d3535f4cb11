"""The search index's life: built from the database into a fresh directory, swapped in atomically,
followed by every process.

The database is the source of truth; its KB revision counts changes. Each host keeps its own
index under instance/search/: `current.json` names the directory built for a revision. A builder
holds an exclusive file lock and writes a new directory, so readers never see a half-built index
and Whoosh's write lock is never contended. Processes reopen when `current.json` moves, and start a
rebuild (in the background, serving the old index meanwhile) when the database is ahead.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import read_only, session
from kb import services
from kb.models import Entry, KbRevision, Synonym
from kb.search import SearchEngine

log = logging.getLogger("hotline.kb.index")
ROOT = Path(__file__).resolve().parent.parent
POINTER = "current.json"


@dataclass(frozen=True)
class IndexInfo:
    directory: str
    revision: int
    entries: int
    built_at: float


def read_pointer(root: Path) -> IndexInfo | None:
    try:
        data = json.loads((root / POINTER).read_text(encoding="utf-8"))
        return IndexInfo(data["directory"], int(data["revision"]), int(data["entries"]), float(data["built_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def _build_lock(root: Path, blocking: bool):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def entry_documents(db: Session | None = None) -> list[dict[str, Any]]:
    """Published entries as the engine indexes them."""
    rows = (db or session).execute(select(Entry).where(Entry.status == "published").order_by(Entry.id)).scalars()
    return [{"id": e.id, "category": e.category, "question": e.question, "similar": e.similar,
             "keywords": e.keywords, "answer": e.answer, "detail": e.detail} for e in rows]


def _snapshot() -> tuple[int, list[dict[str, Any]], list[tuple[str, str]]]:
    """Read what the index is built from in a short session of its own, so a slow build holds no
    database transaction (on SQLite that would be the write lock) and never touches the caller's."""
    with current_app.extensions["hotline.sessionmaker"]() as db:
        read_only(db)
        row = db.get(KbRevision, 1)
        synonyms = [(t, c) for t, c in db.execute(select(Synonym.term, Synonym.canonical))]
        return (row.revision if row else 0), entry_documents(db), synonyms


def rebuild(root: Path, *, force: bool = False, blocking: bool = True) -> IndexInfo | None:
    """Build the index for the database's current revision unless it exists already (needs an app context).

    Returns the index now current, or None when another process holds the build lock and
    `blocking` is False.
    """
    with _build_lock(root, blocking) as locked:
        if not locked:
            return None
        revision, documents, synonyms = _snapshot()
        pointer = read_pointer(root)
        if not force and pointer and pointer.revision == revision and (root / pointer.directory).is_dir():
            return pointer
        name = f"rev-{revision}-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        engine = SearchEngine.build(documents, synonyms, root / name)
        engine.close()
        info = IndexInfo(name, revision, len(documents), time.time())
        tmp = root / (POINTER + ".tmp")
        tmp.write_text(json.dumps(info.__dict__), encoding="utf-8")
        os.replace(tmp, root / POINTER)
        log.info("search index %s built: %d entries in %.2fs", name, len(documents), time.perf_counter() - started)
        _prune(root, keep={name, pointer.directory if pointer else ""})
        return info


def _prune(root: Path, keep: set[str]) -> None:
    """Remove superseded index directories (processes still reading one keep their open files)."""
    for path in root.glob("rev-*"):
        if path.is_dir() and path.name not in keep and time.time() - path.stat().st_mtime > 60:
            shutil.rmtree(path, ignore_errors=True)


class IndexHolder:
    """A process's open engine, following the database's KB revision."""

    def __init__(self, root: Path, poll_seconds: float = 2.0):
        self.root = Path(root)
        self.poll_seconds = poll_seconds
        self._engine: SearchEngine | None = None
        self._info: IndexInfo | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._building = False
        self._stale_since: float | None = None
        self._params: tuple[Any, dict[str, services.ParamState]] | None = None
        self._answers: dict[str, str] | None = None

    @property
    def info(self) -> IndexInfo | None:
        return self._info

    def engine(self, app: Any = None) -> SearchEngine:
        """The engine to search now; opens, reopens or rebuilds as needed (needs an app context)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._open_or_build(app)
            return self._engine  # type: ignore[return-value]
        if time.monotonic() - self._checked >= self.poll_seconds:
            self._follow(app)
        return self._engine

    def _open_or_build(self, app: Any = None) -> None:
        pointer = read_pointer(self.root)
        if pointer is None or pointer.revision != services.current_revision():
            pointer = self._build_now(app)
        try:
            self._swap(pointer)
        except Exception:  # a missing file, a truncated lexicon, Whoosh's own errors: rebuild once
            log.warning("search index %s is unusable; rebuilding from the database", pointer.directory)
            self._swap(self._build_now(app, force=True))

    def _build_now(self, app: Any, force: bool = False) -> IndexInfo:
        """Build before serving: in a child process where possible, so the build's memory (pypinyin
        tables, the Whoosh writer) never stays in a web worker."""
        if app is not None and not app.testing and _build_in_child(app, force=force):
            info = read_pointer(self.root)
            if info is not None:
                return info
        return rebuild(self.root, force=force)

    def _swap(self, info: IndexInfo) -> None:
        engine = SearchEngine.open(self.root / info.directory, services.synonym_pairs())
        if info.entries and engine.doc_count != info.entries:
            engine.close()
            raise ValueError(f"index {info.directory} holds {engine.doc_count} entries, expected {info.entries}")
        old = self._engine
        self._engine, self._info, self._params, self._answers = engine, info, None, None
        self._checked = time.monotonic()
        if old is not None:
            threading.Timer(30, old.close).start()  # let in-flight searches on the old index finish

    def _follow(self, app: Any) -> None:
        with self._lock:
            if time.monotonic() - self._checked < self.poll_seconds:
                return
            self._checked = time.monotonic()
        revision = services.current_revision()
        pointer = read_pointer(self.root)
        if pointer and self._info and pointer.directory != self._info.directory:
            with self._lock:
                self._swap(pointer)
        if revision == (pointer.revision if pointer else -1):
            self._stale_since = None
            return
        if app is None or self._building:
            return
        if app.testing:  # tests share one connection across threads: build in line
            self._building = True
            try:
                self._swap(rebuild(self.root))
            finally:
                self._building = False
            return
        # The scheduler's job normally rebuilds within one poll; a worker steps in only when it has not.
        self._stale_since = self._stale_since or time.monotonic()
        if time.monotonic() - self._stale_since >= 3 * self.poll_seconds:
            self._building = True
            threading.Thread(target=self._rebuild_elsewhere, args=(app,), daemon=True).start()

    def _rebuild_elsewhere(self, app: Any) -> None:
        try:
            _build_in_child(app, force=False)
        finally:
            self._building = False
            self._stale_since = None

    def answers(self) -> dict[str, str]:
        """Answer scripts of the published entries, read once per index revision."""
        if self._answers is None:
            from kb.lookup import answer_scripts

            self._answers = answer_scripts()
        return self._answers

    def parameter_states(self, today) -> dict[str, services.ParamState]:
        """Local parameters as of this index's revision and today, cached (a parameter change bumps the revision)."""
        if self._params is None or self._params[0] != today:
            self._params = (today, services.parameter_states(today))
        return self._params[1]


def _build_in_child(app: Any, *, force: bool) -> bool:
    """Run `flask kb reindex` for this app's database and instance in a child process."""
    env = dict(os.environ, HOTLINE_INSTANCE_PATH=app.instance_path, HOTLINE_DATABASE_URL=app.config["DATABASE_URL"])
    args = [sys.executable, "-m", "flask", "--app", "app", "kb", "reindex"] + ([] if force else ["--if-stale"])
    try:
        done = subprocess.run(args, cwd=ROOT, env=env, timeout=3600, capture_output=True, text=True, check=False)
    except (OSError, subprocess.TimeoutExpired):
        log.exception("could not run the index build in a child process")
        return False
    if done.returncode != 0:
        log.error("index build in a child process failed: %s", done.stderr[-2000:])
    return done.returncode == 0


_holders: dict[str, IndexHolder] = {}


def holder_for(app: Any) -> IndexHolder:
    root = str(Path(app.instance_path) / "search")
    holder = _holders.get(root)
    if holder is None:
        holder = _holders.setdefault(root, IndexHolder(Path(root), app.config["SEARCH_INDEX_POLL_SECONDS"]))
    return holder
