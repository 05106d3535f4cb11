"""The search index's life: built from the database into a fresh directory, swapped in atomically,
followed by every process.

The database is the source of truth; its KB revision counts changes. Each host keeps its own
index under instance/search/: `current.json` names the directory built for a revision. A builder
holds an exclusive file lock and writes a new directory, so readers never see a half-built index.
A new revision is written incrementally: the previous directory's index with only the entries
added, edited or removed since cut again (`SearchEngine.update`), and in full only when the
analyzer, the lexicon or the synonyms changed, or too many entries did since the last full build. Processes reopen when `current.json` moves, and start a
rebuild (in the background, serving the old index meanwhile) when the database is ahead.
Each directory also keeps the published entries' cards and the local parameters (kb.cards), so the
card opened from a search result is served while the database is down.
"""

from __future__ import annotations

import fcntl
import hashlib
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

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.db import new_session, read_only, session
from core.errors import DomainError
from kb import cards, services
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
    mode: str = "full"      # "full" or "update": how the directory was written


def read_pointer(root: Path) -> IndexInfo | None:
    try:
        data = json.loads((root / POINTER).read_text(encoding="utf-8"))
        return IndexInfo(data["directory"], int(data["revision"]), int(data["entries"]), float(data["built_at"]),
                         str(data.get("mode", "full")))
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
    """Published entries as the engine indexes them, with the rest of their card (kb.cards) — columns only:
    no ORM objects for 10,000 rows."""
    rows = (db or session).execute(
        select(Entry.id, Entry.category, Entry.question, Entry.similar_json, Entry.keywords_json, Entry.answer,
               Entry.detail, Entry.policy_basis_json, Entry.level, Entry.eligibility, Entry.materials,
               Entry.process, Entry.handling_unit, Entry.contact, Entry.review_date)
        .where(Entry.status == "published").order_by(Entry.id))
    return [{"id": i, "category": c, "question": q, "similar": json.loads(s or "[]"),
             "keywords": json.loads(k or "[]"), "answer": a, "detail": d, "policy_basis": json.loads(pb or "[]"),
             "level": lv, "eligibility": el, "materials": m, "process": pr, "handling_unit": hu, "contact": co,
             "review_date": rd.isoformat() if rd else ""}
            for i, c, q, s, k, a, d, pb, lv, el, m, pr, hu, co, rd in rows]


def _snapshot() -> tuple[int, list[dict[str, Any]], list[tuple[str, str]], dict[str, Any]]:
    """Read what the index is built from in a short session of its own, so a slow build holds no
    database transaction (on SQLite that would be the write lock) and never touches the caller's.
    The local parameters come along for the cards (a parameter change bumps the revision too)."""
    with new_session() as db:
        read_only(db)
        row = db.get(KbRevision, 1)
        synonyms = [(t, c) for t, c in db.execute(select(Synonym.term, Synonym.canonical))]
        params = cards.param_data(services.parameter_states(clock.today_local(), db=db))
        return (row.revision if row else 0), entry_documents(db), synonyms, params


MANIFEST = "manifest.json"


class IndexUnavailable(DomainError):
    """No usable index on this host yet (first start, or every index damaged); a build is running."""

    def __init__(self) -> None:
        super().__init__("知识库检索索引正在建立，请几秒后再试", code="index_building", status=503)


def database_revision() -> int:
    """The KB revision, read in a short session of its own (no transaction is held afterwards)."""
    with new_session() as db:
        read_only(db)
        row = db.get(KbRevision, 1)
        return row.revision if row else 0


def _write_manifest(directory: Path) -> None:
    files = {p.name: {"size": p.stat().st_size, "sha256": _sha256(p)}
             for p in sorted(directory.iterdir()) if p.is_file() and p.name != MANIFEST}
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"files": files}), encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_directory(directory: Path) -> None:
    """Refuse an index whose files differ from what its build wrote (truncated, altered, missing),
    before anything maps or unpickles them."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"index {directory.name} has no readable manifest") from err
    for name, expected in manifest.items():
        path = directory / name
        if not path.is_file() or path.stat().st_size != expected["size"] or _sha256(path) != expected["sha256"]:
            raise ValueError(f"index {directory.name}: file {name} differs from its manifest")


def rebuild(root: Path, *, force: bool = False, blocking: bool = True) -> IndexInfo | None:
    """Build the index for the database's current revision unless it exists already (needs an app context).

    Returns the index now current, or None when another process holds the build lock and
    `blocking` is False. No database transaction is held during the build.
    """
    with _build_lock(root, blocking) as locked:
        if not locked:
            return None
        _prune(root, keep=set())  # half-built directories of builds that were killed
        revision, documents, synonyms, params = _snapshot()
        pointer = read_pointer(root)
        if (not force and pointer and pointer.revision == revision and (root / pointer.directory).is_dir()
                and cards.present(root / pointer.directory)):
            return pointer
        name = f"rev-{revision}-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        try:
            engine = None if force or pointer is None else _update(root / pointer.directory, documents, synonyms,
                                                                   root / name)
            mode = "full" if engine is None else "update"
            if engine is None:
                engine = SearchEngine.build(documents, synonyms, root / name)
            engine.close()
            cards.write(root / name, documents, params, copy_from=root / pointer.directory if mode == "update" else None)
            _write_manifest(root / name)
        except BaseException:
            shutil.rmtree(root / name, ignore_errors=True)
            raise
        info = IndexInfo(name, revision, len(documents), time.time(), mode)
        tmp = root / (POINTER + ".tmp")
        tmp.write_text(json.dumps(info.__dict__), encoding="utf-8")
        os.replace(tmp, root / POINTER)
        log.info("search index %s %s: %d entries in %.2fs", name, "built" if mode == "full" else "updated",
                 len(documents), time.perf_counter() - started)
        _prune(root, keep={name, pointer.directory if pointer else ""})
        return info


def _update(previous: Path, documents: list[dict[str, Any]], synonyms: list[tuple[str, str]],
            directory: Path) -> SearchEngine | None:
    """The previous index changed into `directory`, or None when it must be built in full (a changed
    lexicon, or a previous index that cannot be read: then the full build replaces it)."""
    try:
        return SearchEngine.update(previous, documents, synonyms, directory)
    except Exception:
        log.exception("search index %s could not be updated; building in full", previous.name)
        shutil.rmtree(directory, ignore_errors=True)
        return None


def _prune(root: Path, keep: set[str]) -> None:
    """Remove superseded and half-built index directories (called under the build lock, so no build
    is writing; processes still reading a superseded one keep their open files)."""
    current = read_pointer(root)
    keep = keep | ({current.directory} if current else set())
    for path in root.glob("rev-*"):
        if path.is_dir() and path.name not in keep and time.time() - path.stat().st_mtime > 60:
            shutil.rmtree(path, ignore_errors=True)


class IndexHolder:
    """A process's open engine, following the database's KB revision.

    A web worker never waits for a build: when its index is behind or unusable it starts a build in
    a detached child process and goes on serving the last good index (or answers 503 when it has
    none yet); the new index is swapped in when its pointer appears. The CLI (no app given) and the
    tests build in line.
    """

    def __init__(self, root: Path, poll_seconds: float = 2.0, revision_seconds: float = 0.0):
        self.root = Path(root)
        self.poll_seconds = poll_seconds
        self.revision_seconds = revision_seconds
        self._revision: tuple[float, int, int] | None = None  # (read at, local changes then, revision)
        self._published: tuple[tuple[int, int], frozenset[str]] | None = None
        self._engine: SearchEngine | None = None
        self._info: IndexInfo | None = None
        self._checked = 0.0
        self._stamp: int | None = None   # the pointer file's mtime when last looked at
        self._lock = threading.Lock()
        self._building = False
        self._stale_since: float | None = None
        self._bad: set[str] = set()
        self._params: tuple[Any, int, int, dict[str, services.ParamState]] | None = None  # (day, rev, local, states)
        self._answers: dict[str, str] | None = None
        self._cards: cards.Reader | None = None

    @property
    def info(self) -> IndexInfo | None:
        return self._info

    def engine(self, app: Any = None) -> SearchEngine:
        """The engine to search now; opens or reopens as needed (needs an app context).

        Raises IndexUnavailable when a web worker has no usable index yet.
        """
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._open_first(app)
            if self._engine is None:
                raise IndexUnavailable()
            return self._engine
        # the revision is asked of the database every poll; the pointer (one stat) on every search, so
        # an index the scheduler has just written is served at once
        if time.monotonic() - self._checked >= self.poll_seconds or self._pointer_stamp() != self._stamp:
            self._follow(app)
        return self._engine

    def _pointer_stamp(self) -> int | None:
        try:
            return (self.root / POINTER).stat().st_mtime_ns
        except OSError:
            return None

    def _inline(self, app: Any) -> bool:
        return app is None or app.testing

    def _open_first(self, app: Any) -> None:
        pointer = read_pointer(self.root)
        if self._inline(app):
            if pointer is None or pointer.revision != services.current_revision():
                pointer = rebuild(self.root)
            try:
                self._swap(pointer)
            except Exception:  # a damaged index: rebuild once
                log.warning("search index %s is unusable; rebuilding from the database", pointer.directory)
                self._swap(rebuild(self.root, force=True))
            return
        if pointer is not None:
            try:
                self._swap(pointer)
            except Exception:
                log.exception("search index %s is unusable; building a new one", pointer.directory)
                self._bad.add(pointer.directory)
                self._start_build(app, force=True)
                return
        if pointer is None or pointer.revision != services.current_revision():
            self._start_build(app, force=False)

    def _swap(self, info: IndexInfo) -> None:
        self._stamp = self._pointer_stamp()
        directory = self.root / info.directory
        check_directory(directory)
        engine = SearchEngine.open(directory, services.synonym_pairs())
        if info.entries and engine.doc_count != info.entries:
            engine.close()
            raise ValueError(f"index {info.directory} holds {engine.doc_count} entries, expected {info.entries}")
        old, old_cards = self._engine, self._cards
        self._engine, self._info, self._answers = engine, info, None
        self._cards = cards.Reader(directory) if cards.present(directory) else None
        self._checked = time.monotonic()
        for closing in (old, old_cards):
            if closing is not None:
                closer = threading.Timer(30, closing.close)  # let in-flight searches on the old index finish
                closer.daemon = True
                closer.start()

    def _follow(self, app: Any) -> None:
        stamp = self._pointer_stamp()
        with self._lock:
            if time.monotonic() - self._checked < self.poll_seconds and stamp == self._stamp:
                return
            self._checked, self._stamp = time.monotonic(), stamp
        revision = services.current_revision()
        pointer = read_pointer(self.root)
        if pointer and self._info and pointer.directory != self._info.directory and pointer.directory not in self._bad:
            try:
                with self._lock:
                    self._swap(pointer)
            except Exception:
                log.exception("new search index %s is unusable; serving %s", pointer.directory, self._info.directory)
                self._bad.add(pointer.directory)
                if not self._inline(app):
                    self._start_build(app, force=True)
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
            self._start_build(app, force=False)

    def _start_build(self, app: Any, *, force: bool) -> None:
        """Start a build in a detached child process and return at once; a thread only reaps it."""
        if self._building:
            return
        self._building = True
        try:
            child = _spawn_build(app.instance_path, app.config["DATABASE_URL"], force=force, env=app.config.get("ENV", ""))
        except OSError:
            log.exception("could not start the index build")
            self._building = False
            return

        def reap() -> None:
            try:
                child.wait()
            finally:
                self._building = False
                self._stale_since = None
                self._checked = 0.0  # look for the new pointer on the next search

        threading.Thread(target=reap, name="kb-index-build", daemon=True).start()

    def offline(self) -> tuple[SearchEngine, dict[str, services.ParamState], dict[str, str]]:
        """The engine, parameters and answer scripts as last read, without asking the database (which is
        down): searches go on from this host's index. Raises IndexUnavailable when there is none yet."""
        if self._engine is None:
            raise IndexUnavailable()
        answers: Any = self._answers if self._answers is not None else (cards.Answers(self._cards) if self._cards else {})
        return self._engine, self._offline_parameters(), answers

    def _offline_parameters(self) -> dict[str, services.ParamState]:
        """The parameters as this process last read them, else as the index was written with."""
        if self._params is not None:
            return self._params[3]
        return self._cards.parameter_states(clock.today_local()) if self._cards else {}

    def offline_card(self, entry_id: str) -> tuple[dict[str, Any], dict[str, services.ParamState]] | None:
        """A published entry's card data and the parameters to fill it with, from this host's index, without
        asking the database (which is down); None when the index holds no such entry (or no cards).
        Raises IndexUnavailable when there is no index yet."""
        if self._engine is None:
            raise IndexUnavailable()
        found = self._cards.card(entry_id) if self._cards else None
        return None if found is None else (found, self._offline_parameters())

    def answers(self) -> dict[str, str]:
        """Answer scripts of the published entries, read once per index revision."""
        if self._answers is None:
            from kb.lookup import answer_scripts

            self._answers = answer_scripts()
        return self._answers

    def parameter_states(self, today, revision: int | None = None) -> dict[str, services.ParamState]:
        """Local parameters as of today and the database's KB revision (a parameter change bumps it),
        so an edit reaches the cards of every worker at once, searched or not. `revision`: the one
        the caller has just read (`revision()`)."""
        revision = services.current_revision() if revision is None else revision
        key = (today, revision, services.local_changes())
        if self._params is None or self._params[:3] != key:
            self._params = (*key, services.parameter_states(today))
        return self._params[3]

    def revision(self) -> int:
        """The database's KB revision, read at most once per `revision_seconds` (SEARCH_REVISION_SECONDS):
        a change committed by another process reaches this one's searches within that time, a change
        made by this process at once (services.local_changes). 0 seconds: read every time."""
        changes = services.local_changes()
        cached = self._revision
        if (cached is not None and cached[1] == changes
                and time.monotonic() - cached[0] < self.revision_seconds):
            return cached[2]
        revision = services.current_revision()
        self._revision = (time.monotonic(), changes, revision)
        return revision

    def published(self, revision: int) -> frozenset[str]:
        """Ids of the published entries at `revision`, read once per revision (every change of an entry's
        status bumps it): what a search keeps of the index's hits (kb.lookup.search)."""
        key = (revision, services.local_changes())
        cached = self._published
        if cached is None or cached[0] != key:
            ids = frozenset(session.execute(select(Entry.id).where(Entry.status == "published")).scalars())
            cached = self._published = (key, ids)
        return cached[1]


def _spawn_build(instance_path: str, database_url: str, *, force: bool, env: str = "") -> subprocess.Popen:
    """`flask kb reindex` for this database and instance, in its own session (a worker killed by
    gunicorn does not take the build with it, and its half-built folder is pruned by the next)."""
    child_env = dict(os.environ, HOTLINE_INSTANCE_PATH=instance_path, HOTLINE_DATABASE_URL=database_url)
    if env:
        child_env["HOTLINE_ENV"] = env  # the keys it needs come with os.environ (set on every host)
    args = [sys.executable, "-m", "flask", "--app", "app", "kb", "reindex"] + ([] if force else ["--if-stale"])
    return subprocess.Popen(args, cwd=ROOT, env=child_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


_holders: dict[str, IndexHolder] = {}


def holder_for(app: Any) -> IndexHolder:
    root = str(Path(app.instance_path) / "search")
    holder = _holders.get(root)
    if holder is None:
        holder = _holders.setdefault(root, IndexHolder(Path(root), app.config["SEARCH_INDEX_POLL_SECONDS"],
                                                       app.config["SEARCH_REVISION_SECONDS"]))
    return holder
