"""Searching the knowledge base for an operator or an integration, logging what was shown and opened,
and reporting the phrasings that found no confident answer."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session

from core.db import session
from core.errors import DomainError
from core.masking import mask_numbers
from kb import scope, services
from kb.models import Entry, SearchLog
from kb.search import SearchEngine, SearchResult, levels

MAX_QUERY = 500
MAX_LIMIT = 50


def clean_query(raw: str | None) -> str:
    """Trim to a searchable length and drop characters a database cannot store (NUL, lone surrogates)."""
    text = (raw or "")[:MAX_QUERY * 4]
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")
    return text.strip()[:MAX_QUERY]


def check_limit(value: Any, default: int = 5) -> int:
    if value in (None, ""):
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise DomainError("limit 应为1到50之间的整数", code="bad_request", status=400, field="limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise DomainError("limit 应为1到50之间的整数", code="bad_request", status=400, field="limit")
    return limit


def answer_scripts() -> dict[str, str]:
    """Every published entry's answer script by id (cached per index revision by the caller)."""
    return dict(session.execute(select(Entry.id, Entry.answer).where(Entry.status == "published")).all())


def as_json(result: SearchResult, query: str, states: dict[str, services.ParamState],
            answers: dict[str, str]) -> dict[str, Any]:
    """The search API's answer shape; answer scripts with local parameters filled in."""
    return {
        "query": query,
        "results": [{"id": h.id, "question": h.question, "category": h.category, "score": round(h.score, 4),
                     "answer": services.render(answers.get(h.id, ""), states), "highlights": h.highlights}
                    for h in result.hits],
        "confident": result.confident,
        "level": result.level,
        "level_label": levels.LABELS[result.level],
        "reason": result.reason,
        "dispatch_to": result.dispatch_to or None,
        "pair": result.pair,
        "took_ms": round(result.took_ms, 2),
    }


#: Hits fetched beyond the limit, so dropping entries retired since the index was built still fills it.
SPARE_HITS = 3


def search(engine: SearchEngine, query: str, limit: int, *, offline: bool = False, revision: int | None = None,
           published: frozenset[str] | None = None) -> SearchResult:
    """Search, then keep only entries the database says are published now: an index that has not
    caught up yet (a build running, a host without a scheduler) never serves a retired entry.
    The engine's table of outside matters and pair notes is read again when the KB revision moves.
    `offline`: the database is down, and the index answers alone, as it was last brought up to date.
    `revision` and `published`: the KB revision and the published entries' ids as the caller has just
    read them (kb.index.IndexHolder caches both per revision); by default both are asked of the database."""
    if offline:
        result = engine.search(clean_query(query), limit=limit)
        return replace(result, hits=result.hits[:limit])
    revision = services.current_revision() if revision is None else revision
    if getattr(engine, "scope_revision", revision) != revision:  # (a stand-in engine may have no scope)
        engine.set_scope(scope.search_scope(), revision)
    result = engine.search(clean_query(query), limit=min(MAX_LIMIT, limit + SPARE_HITS))
    ids = [h.id for h in result.hits]
    if published is not None:
        live = published.intersection(ids)
    else:
        live = set(session.execute(select(Entry.id).where(Entry.id.in_(ids), Entry.status == "published"))
                   .scalars()) if ids else set()
    hits = [h for h in result.hits if h.id in live][:limit]
    if hits and hits[0].id == ids[0] or result.level == levels.OUT:
        return replace(result, hits=hits)
    if not hits:
        return replace(result, hits=hits, confident=False, level=levels.OUT, reason="知识库里没有相关条目", pair=None)
    return replace(result, hits=hits, confident=False, level=levels.MAYBE, pair=None,
                   reason=f"可能是“{hits[0].question}”，请先核对条目再答复")


def log_search(*, actor: Any, now: datetime, query: str, result: SearchResult, source: str,
               session_key: str = "", db: Session | None = None) -> SearchLog:
    """Record one search. Page searches carry a session key: the operator's typing in one search box
    updates one row, so the log holds the phrasing they settled on, not every keystroke."""
    db = db or session
    # Nothing downstream needs a caller's number: the log keeps it masked.
    query = mask_numbers(clean_query(query))
    row = None
    if session_key:
        row = db.execute(select(SearchLog).where(SearchLog.session_key == session_key[:40],
                                                 SearchLog.user_id == getattr(actor, "id", None))
                         ).scalar_one_or_none()
    if row is None:
        row = SearchLog(session_key=session_key[:40] or None, user_id=getattr(actor, "id", None), source=source)
        db.add(row)
    row.at, row.query, row.normalized = now, query[:500], mask_numbers(result.normalized)[:500]
    row.result_ids = json.dumps([h.id for h in result.hits])
    row.top_score = result.hits[0].score if result.hits else 0.0
    row.confident = result.confident
    row.took_ms = result.took_ms
    db.flush()
    return row


def log_open(*, actor: Any, now: datetime, session_key: str, entry_id: str) -> SearchLog | None:
    """Note which entry the operator opened from a search."""
    entry = services.get_entry(entry_id)
    row = session.execute(select(SearchLog).where(SearchLog.session_key == session_key[:40],
                                                  SearchLog.user_id == getattr(actor, "id", None))
                          ).scalar_one_or_none()
    if row is None:
        return None
    row.opened_id, row.opened_at = entry.id, now
    session.flush()
    return row


@dataclass(frozen=True)
class Unanswered:
    phrasing: str
    count: int
    zero_results: int
    last_at: datetime
    examples: list[str]
    opened: list[str]


def unanswered(start: date | datetime, end: date | datetime, *, limit: int = 200, offset: int = 0
               ) -> list[Unanswered]:
    """Searches with no confident answer, grouped by normalized phrasing, most frequent first; `limit` and
    `offset` page the phrasings. The grouping runs in SQL; only the page's phrasings are read row by row
    (for their examples and the entries opened)."""
    phrasing = func.coalesce(func.nullif(SearchLog.normalized, literal_column("''")), SearchLog.query)
    matching = (SearchLog.at >= start, SearchLog.at < end, SearchLog.confident.is_(False), SearchLog.query != "")
    count, last_at = func.count(SearchLog.id), func.max(SearchLog.at)
    groups = session.execute(
        select(phrasing, count, func.sum(case((SearchLog.result_ids == "[]", 1), else_=0)), last_at)
        .where(*matching).group_by(phrasing).order_by(count.desc(), last_at.desc(), phrasing)
        .offset(offset).limit(limit)).all()
    examples: dict[str, list[str]] = defaultdict(list)
    opened: dict[str, Counter] = defaultdict(Counter)
    if groups:
        rows = session.execute(select(phrasing, SearchLog.query, SearchLog.opened_id)
                               .where(*matching, phrasing.in_([g[0] for g in groups]))
                               .order_by(SearchLog.at.desc(), SearchLog.id.desc()))
        for key, query, opened_id in rows:
            if query not in examples[key] and len(examples[key]) < 3:
                examples[key].append(query)
            if opened_id:
                opened[key][opened_id] += 1
    return [Unanswered(phrasing=key, count=n, zero_results=int(zero or 0), last_at=at, examples=examples[key],
                       opened=[i for i, _ in opened[key].most_common(3)]) for key, n, zero, at in groups]


def totals(start: date | datetime, end: date | datetime) -> dict[str, int]:
    searches, confident, zero, opened = session.execute(
        select(func.count(SearchLog.id), func.sum(case((SearchLog.confident.is_(True), 1), else_=0)),
               func.sum(case((SearchLog.result_ids == "[]", 1), else_=0)), func.count(SearchLog.opened_id))
        .where(SearchLog.at >= start, SearchLog.at < end)).one()
    return {"searches": searches, "confident": int(confident or 0), "zero": int(zero or 0), "opened": opened}
