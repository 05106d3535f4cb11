"""What the knowledge base does not answer and how near entries differ: the table of other 12345
matters with their usual department, and kb_editors' notes on entry pairs that searches confuse.
The only code that changes them; search reads them through `search_scope`."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from audit import services as audit
from core.db import session
from core.errors import NotFound
from core.models import User
from kb import services
from kb.models import Entry, OutsideMatter, PairNote, SearchLog
from kb.search import levels
from kb.services import KbError

SEED = Path(__file__).resolve().parent / "data" / "matters.yaml"
MAX_TERMS = 40


def _terms(raw: Any) -> list[str]:
    items = raw if isinstance(raw, (list, tuple)) else re.split(r"[、，,;；\s]+", str(raw or ""))
    out = list(dict.fromkeys(str(t).strip() for t in items if str(t).strip()))
    if not out:
        raise KbError("至少填写一个来电人会用的说法", field="terms")
    if len(out) > MAX_TERMS:
        raise KbError(f"说法不超过{MAX_TERMS}个", field="terms")
    short = [t for t in out if len(t) < 2 or len(t) > 20]
    if short:
        raise KbError(f"每个说法2到20个字：{'、'.join(short[:3])}", field="terms")
    return out


# --- matters outside the knowledge base ----------------------------------------------------------

def matters() -> list[OutsideMatter]:
    return list(session.execute(select(OutsideMatter).order_by(OutsideMatter.matter)).scalars())


def matter_form(matter_id: int | None) -> dict[str, Any]:
    """A matter's fields as the page's form shows them (empty for a new one)."""
    row = session.get(OutsideMatter, matter_id) if matter_id else None
    if row is None:
        return {}
    return {"id": row.id, "matter": row.matter, "department": row.department, "terms": "、".join(row.terms),
            "note": row.note}


def save_matter(*, actor: User | None, now: datetime, matter: str, department: str, terms: Any, note: str = "",
                matter_id: int | None = None) -> OutsideMatter:
    matter, department, note = str(matter or "").strip(), str(department or "").strip(), str(note or "").strip()
    if not matter or not department:
        raise KbError("事项和承办部门都不能为空", field="matter" if not matter else "department")
    if len(matter) > 50 or len(department) > 100 or len(note) > 200:
        raise KbError("事项不超过50字，部门不超过100字，备注不超过200字")
    words = _terms(terms)
    clash = session.execute(select(OutsideMatter).where(OutsideMatter.matter == matter)).scalar_one_or_none()
    if clash is not None and clash.id != matter_id:
        raise KbError(f"“{matter}”已在表中", field="matter")
    after = {"matter": matter, "department": department, "terms": words, "note": note}
    if matter_id is None:
        row = OutsideMatter(matter=matter, department=department, terms_json=json.dumps(words, ensure_ascii=False),
                            note=note, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        audit.record("create", "kb_outside_matter", row.id, actor=actor, now=now, changes={"after": after})
    else:
        row = session.get(OutsideMatter, matter_id)
        if row is None:
            raise NotFound("事项不存在")
        before = {"matter": row.matter, "department": row.department, "terms": row.terms, "note": row.note}
        row.matter, row.department, row.note, row.updated_at = matter, department, note, now
        row.terms_json = json.dumps(words, ensure_ascii=False)
        session.flush()
        audit.record("update", "kb_outside_matter", row.id, actor=actor, now=now, changes=audit.diff(before, after))
    services.bump_revision(now)
    return row


def delete_matter(*, actor: User, now: datetime, matter_id: int) -> None:
    row = session.get(OutsideMatter, matter_id)
    if row is None:
        raise NotFound("事项不存在")
    _delete(row, "kb_outside_matter", {"matter": row.matter, "department": row.department, "terms": row.terms},
            actor=actor, now=now)


def _delete(row: Any, entity_type: str, before: dict[str, Any], *, actor: User, now: datetime) -> None:
    audit.record("delete", entity_type, row.id, actor=actor, now=now, changes={"before": before})
    session.delete(row)
    session.flush()
    services.bump_revision(now)


def read_seed(path: Path = SEED) -> list[levels.Matter]:
    """The bundled table (kb/data/matters.yaml)."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [levels.Matter(str(r["matter"]), str(r["department"]), tuple(str(t) for t in r["terms"])) for r in rows]


def load_seed(*, now: datetime, actor: User | None = None, path: Path = SEED) -> int:
    """Fill an empty table from the bundled file; a table kb_editors have kept is left as they keep it."""
    if session.execute(select(func.count()).select_from(OutsideMatter)).scalar_one():
        return 0
    seed = read_seed(path)
    for m in seed:
        save_matter(actor=actor, now=now, matter=m.name, department=m.department, terms=list(m.terms), note="内置")
    return len(seed)


# --- notes on near-neighbour pairs ---------------------------------------------------------------

def pair_notes() -> list[PairNote]:
    return list(session.execute(select(PairNote).order_by(PairNote.entry_a, PairNote.entry_b)).scalars())


def save_pair_note(*, actor: User | None, now: datetime, entry_a: str, entry_b: str, note: str,
                   question: str) -> PairNote:
    """Create or replace the note on a pair (either order)."""
    a, b = services.get_entry(str(entry_a or "").strip()).id, services.get_entry(str(entry_b or "").strip()).id
    if a == b:
        raise KbError("请选择两个不同的条目", field="entry_b")
    a, b = sorted((a, b))
    note, question = str(note or "").strip(), str(question or "").strip()
    if not note or not question:
        raise KbError("区别说明和问来电人的一句话都不能为空", field="note" if not note else "question")
    if len(note) > 300 or len(question) > 200:
        raise KbError("区别说明不超过300字，问话不超过200字")
    row = session.execute(select(PairNote).where(PairNote.entry_a == a, PairNote.entry_b == b)).scalar_one_or_none()
    after = {"entry_a": a, "entry_b": b, "note": note, "question": question}
    if row is None:
        row = PairNote(entry_a=a, entry_b=b, note=note, question=question, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        audit.record("create", "kb_pair_note", row.id, actor=actor, now=now, changes={"after": after})
    else:
        before = {"entry_a": a, "entry_b": b, "note": row.note, "question": row.question}
        row.note, row.question, row.updated_at = note, question, now
        session.flush()
        audit.record("update", "kb_pair_note", row.id, actor=actor, now=now, changes=audit.diff(before, after))
    services.bump_revision(now)
    return row


def entry_questions() -> dict[str, str]:
    """Published entries' questions by id, for choosing a pair."""
    return dict(session.execute(select(Entry.id, Entry.question).where(Entry.status == "published")
                                .order_by(Entry.id)).all())


def delete_pair_note(*, actor: User, now: datetime, note_id: int) -> None:
    row = session.get(PairNote, note_id)
    if row is None:
        raise NotFound("说明不存在")
    _delete(row, "kb_pair_note", {"entry_a": row.entry_a, "entry_b": row.entry_b, "note": row.note},
            actor=actor, now=now)


def confused_pairs(start: datetime, end: datetime, *, limit: int = 20) -> list[dict[str, Any]]:
    """Entry pairs searches mixed up, most often first: the operator opened the second or third result
    instead of the first, or the first two were shown as equally likely (可能, not 确定). Pairs that
    already have a note are marked."""
    rows = session.execute(select(SearchLog.result_ids, SearchLog.opened_id, SearchLog.confident)
                           .where(SearchLog.at >= start, SearchLog.at < end, SearchLog.result_ids != "[]")).all()
    opened: Counter[tuple[str, str]] = Counter()
    unsure: Counter[tuple[str, str]] = Counter()
    for ids_json, opened_id, confident in rows:
        try:
            ids = json.loads(ids_json)
        except ValueError:
            continue
        if len(ids) < 2:
            continue
        if opened_id and opened_id in ids[1:3]:
            opened[tuple(sorted((ids[0], opened_id)))] += 1
        elif not confident:
            unsure[tuple(sorted(ids[:2]))] += 1
    pairs = set(opened) | set(unsure)
    noted = {(n.entry_a, n.entry_b) for n in pair_notes()}
    questions = dict(session.execute(select(Entry.id, Entry.question)).all())
    out = [{"a": a, "b": b, "opened_other": opened[(a, b)], "unsure": unsure[(a, b)],
            "questions": [questions.get(a, a), questions.get(b, b)], "noted": (a, b) in noted}
           for a, b in pairs if a in questions and b in questions]
    out.sort(key=lambda p: (-(2 * p["opened_other"] + p["unsure"]), p["a"], p["b"]))
    return out[:limit]


# --- what search reads ---------------------------------------------------------------------------

def search_scope() -> levels.Scope:
    """The matters and pair notes as the search engine applies them."""
    return levels.Scope.of(
        (levels.Matter(m.matter, m.department, tuple(m.terms)) for m in matters()),
        (levels.PairNote(n.entry_a, n.entry_b, n.note, n.question) for n in pair_notes()))
