"""The policy register: the documents entries rest on, their validity, and which entries depend on each.

An entry's policy_basis names documents by title; a basis item links to the register document of the
same title (《》 and whitespace ignored). Marking a document repealed or superseded flags every entry
resting on it for review; operators see a notice on those entries until an editor re-checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from audit import services as audit
from core.db import session
from core.errors import NotFound
from core.models import User
from kb.models import LEVELS, POLICY_STATUSES, Entry, EntryFlag, PolicyDocument
from kb.services import KbError, _text, entries

_SPACE = re.compile(r"[\s\u3000]+")


def title_key(title: str) -> str:
    """The form titles are compared in: without 《》, brackets' width or any whitespace."""
    text = _SPACE.sub("", title or "").strip("《》")
    return text.replace("(", "（").replace(")", "）")


def documents() -> list[PolicyDocument]:
    order = {level: i for i, level in enumerate(LEVELS)}
    docs = list(session.execute(select(PolicyDocument)).scalars())
    return sorted(docs, key=lambda d: (order.get(d.level, 9), d.effective_date or date.min, d.title))


def by_title() -> dict[str, PolicyDocument]:
    return {title_key(d.title): d for d in session.execute(select(PolicyDocument)).scalars()}


def get_document(doc_id: int) -> PolicyDocument:
    doc = session.get(PolicyDocument, doc_id)
    if doc is None:
        raise NotFound(f"政策文件不存在:{doc_id}")
    return doc


@dataclass(frozen=True)
class BasisLink:
    """One policy_basis item of an entry and the register document it names (None: not in the register)."""

    name: str
    number: str
    article: str
    document: PolicyDocument | None


def basis_links(basis: list[dict[str, str]], docs: dict[str, PolicyDocument] | None = None) -> list[BasisLink]:
    docs = by_title() if docs is None else docs
    return [BasisLink(b.get("name", ""), b.get("number", ""), b.get("article", ""),
                      docs.get(title_key(b.get("name", "")))) for b in basis]


def dependents(doc: PolicyDocument, among: list[Entry] | None = None) -> list[Entry]:
    """Entries (not retired) whose policy basis names this document."""
    key = title_key(doc.title)
    return [e for e in (entries() if among is None else among)
            if e.status != "retired" and any(title_key(b.get("name", "")) == key for b in e.policy_basis)]


def unmatched(among: list[Entry] | None = None) -> list[tuple[Entry, list[str]]]:
    """Entries (not retired) with basis items naming no register document, and those names."""
    docs = by_title()
    out = []
    for e in entries() if among is None else among:
        if e.status == "retired":
            continue
        missing = [b["name"] for b in e.policy_basis if title_key(b.get("name", "")) not in docs]
        if missing:
            out.append((e, missing))
    return out


def _date(value: Any, field: str = "effective_date") -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(_text(value))
    except ValueError:
        raise KbError(f"生效日期格式应为 年-月-日:{value}", field=field) from None


def _clean(data: dict[str, Any], doc_id: int | None) -> dict[str, Any]:
    out = {"title": _text(data.get("title")).strip("《》").strip(), "number": _text(data.get("number")),
           "issuer": _text(data.get("issuer")), "level": _text(data.get("level")),
           "status": _text(data.get("status")) or "有效", "note": _text(data.get("note")),
           "effective_date": _date(data.get("effective_date"))}
    if not out["title"]:
        raise KbError("文件名称不能为空", field="title")
    limits = {"title": ("文件名称", 200), "number": ("文号", 100), "issuer": ("发文机关", 200), "note": ("核实说明", 5000)}
    for field, (label, limit) in limits.items():
        if len(out[field]) > limit:
            raise KbError(f"{label}过长（不超过{limit}字）", field=field)
    if out["level"] not in LEVELS:
        raise KbError(f"层级无效：{out['level'] or '（空）'}（可选：国家、省、市）", field="level")
    if out["status"] not in POLICY_STATUSES:
        raise KbError(f"状态无效：{out['status']}（可选：{'、'.join(POLICY_STATUSES)}）", field="status")
    clash = by_title().get(title_key(out["title"]))
    if clash is not None and clash.id != doc_id:
        raise KbError(f"登记簿中已有同名文件:《{clash.title}》", field="title")
    superseded_by = data.get("superseded_by_id")
    if superseded_by in (None, "", 0, "0"):
        superseded_by = None
    else:
        try:
            superseded_by = int(superseded_by)
        except (TypeError, ValueError):
            raise KbError("替代文件无效", field="superseded_by_id") from None
        if doc_id is not None and superseded_by == doc_id:
            raise KbError("文件不能被它自己替代", field="superseded_by_id")
        successor = session.get(PolicyDocument, superseded_by)
        if successor is None:
            raise KbError("替代文件不在登记簿中", field="superseded_by_id")
        seen = {doc_id} if doc_id is not None else set()
        step: PolicyDocument | None = successor
        while step is not None:
            if step.id in seen:
                raise KbError(f"替代关系形成循环:《{successor.title}》已直接或间接被本文件替代", field="superseded_by_id")
            seen.add(step.id)
            step = step.superseded_by
    if out["status"] == "被替代" and superseded_by is None:
        raise KbError("状态为“被替代”时请选择替代它的文件", field="superseded_by_id")
    if out["status"] != "被替代" and superseded_by is not None:
        raise KbError("只有“被替代”的文件才填写替代文件", field="superseded_by_id")
    out["superseded_by_id"] = superseded_by
    return out


def _as_audit(doc: PolicyDocument) -> dict[str, Any]:
    return {"title": doc.title, "number": doc.number, "issuer": doc.issuer, "level": doc.level,
            "effective_date": doc.effective_date.isoformat() if doc.effective_date else "",
            "status": doc.status, "superseded_by_id": doc.superseded_by_id, "note": doc.note}


def save_document(*, actor: User | None, now: datetime, data: dict[str, Any],
                  doc_id: int | None = None) -> tuple[PolicyDocument, int]:
    """Add or change a register document; a document newly marked repealed or superseded flags every
    entry resting on it. Returns the document and how many entries were flagged."""
    clean = _clean(data, doc_id)
    if doc_id is None:
        doc = PolicyDocument(created_at=now, updated_at=now, **clean)
        session.add(doc)
        before: dict[str, Any] = {}
        was_valid = True
    else:
        doc = get_document(doc_id)
        before = _as_audit(doc)
        was_valid = doc.status == "有效"
        for key, value in clean.items():
            setattr(doc, key, value)
        doc.updated_at = now
    session.flush()
    session.refresh(doc)
    after = _as_audit(doc)
    if before == after:
        return doc, 0
    audit.record("create" if not before else "update", "kb_policy_document", doc.id, actor=actor, now=now,
                 changes=audit.diff(before, after))
    flagged = 0
    if was_valid and doc.status != "有效":
        flagged = flag_dependents(actor=actor, now=now, doc=doc)
    return doc, flagged


def flag_dependents(*, actor: User | None, now: datetime, doc: PolicyDocument) -> int:
    """Flag every entry resting on a document that is no longer valid (once per entry and document)."""
    reason = f"政策依据《{doc.title}》已{'被《' + doc.superseded_by.title + '》替代' if doc.superseded_by else '废止'}"
    if doc.status == "被替代" and doc.superseded_by is None:
        reason = f"政策依据《{doc.title}》已被替代"
    open_ids = set(session.execute(select(EntryFlag.entry_id).where(
        EntryFlag.document_id == doc.id, EntryFlag.cleared_at.is_(None))).scalars())
    flagged = []
    for entry in dependents(doc):
        if entry.id in open_ids:
            continue
        session.add(EntryFlag(entry_id=entry.id, document_id=doc.id, reason=reason[:500], flagged_at=now))
        flagged.append(entry.id)
    session.flush()
    if flagged:
        audit.record("flag_for_review", "kb_policy_document", doc.id, actor=actor, now=now,
                     changes={"reason": reason, "entries": flagged})
        from kb.services import bump_revision

        bump_revision(now)
    return len(flagged)


def open_flags(entry_id: str) -> list[EntryFlag]:
    return list(session.execute(select(EntryFlag).where(EntryFlag.entry_id == entry_id,
                                                        EntryFlag.cleared_at.is_(None))
                                .order_by(EntryFlag.flagged_at)).scalars())


def flagged_entry_ids() -> set[str]:
    return set(session.execute(select(EntryFlag.entry_id).where(EntryFlag.cleared_at.is_(None))).scalars())


# --- the bundled seed -----------------------------------------------------------------------------

def load_seed(*, now: datetime, actor: User | None, path: Path) -> int:
    """Add the bundled documents the register lacks (an existing title is left as editors keep it).
    `superseded_by` names another document by title. Returns how many were added."""
    if not path.exists():
        return 0
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    known = by_title()
    added = 0
    pending_links = []
    for item in items:
        if title_key(item.get("title", "")) in known:
            continue
        data = {k: v for k, v in item.items() if k != "superseded_by"}
        if item.get("superseded_by"):
            pending_links.append((item["title"], item["superseded_by"], data.get("status", "被替代")))
            data["status"] = "有效"
        doc, _ = save_document(actor=actor, now=now, data=data)
        known[title_key(doc.title)] = doc
        added += 1
    for title, successor, status in pending_links:
        doc, target = known[title_key(title)], known.get(title_key(successor))
        if target is None:
            raise KbError(f"policies.yaml:《{title}》的替代文件《{successor}》不在文件中")
        save_document(actor=actor, now=now, doc_id=doc.id, data=_as_audit(doc) | {
            "status": status, "superseded_by_id": target.id})
    return added
