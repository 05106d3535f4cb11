"""Review before publish (the lifecycle of GB/T 44191-2024): an editor's change that would go live waits
for a second kb_editor's approval; periodic re-checks keep entries current; the due-for-review list.

Changes that do not go live (a draft, retiring an entry) are written at once. An admin may publish
alone in an emergency, recorded as such. The bundled files (`flask kb load`) are the deploy path and
are not editors' changes: they write live through kb.services.save_entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from audit import services as audit
from core.db import session
from core.errors import Conflict, Forbidden, NotFound
from core.models import User
from kb import register, services
from kb.models import CHANGE_STATES, STATUSES, Entry, EntryChange, EntryFlag, EntryReview
from kb.services import KbError, StaleEntry, canonical


@dataclass(frozen=True)
class ReviewSettings:
    #: A change that would go live needs a second kb_editor (KB_REVIEW_REQUIRED).
    required: bool = True
    #: Days ahead of its review date an entry joins the due-for-review list (KB_REVIEW_DUE_DAYS).
    due_days: int = 30

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ReviewSettings:
        return cls(required=bool(config.get("KB_REVIEW_REQUIRED", True)),
                   due_days=int(config.get("KB_REVIEW_DUE_DAYS", 30)))


@dataclass(frozen=True)
class Submitted:
    """What became of a submitted change: written live (`entry`), or waiting for approval (`change`)."""

    entry_id: str
    entry: Entry | None = None
    change: EntryChange | None = None
    changed: bool = True


def _note(note: str) -> str:
    note = services._text(note)
    if not note:
        raise KbError("请填写修改说明(为什么改)", field="note")
    return note[:500]


def pending_for(entry_id: str) -> EntryChange | None:
    return session.execute(select(EntryChange).where(EntryChange.entry_id == entry_id.upper(),
                                                     EntryChange.state == "pending")).scalars().first()


def pending_changes() -> list[EntryChange]:
    return list(session.execute(select(EntryChange).where(EntryChange.state == "pending")
                                .order_by(EntryChange.created_at, EntryChange.id)).scalars())


def get_change(change_id: int) -> EntryChange:
    change = session.get(EntryChange, change_id)
    if change is None:
        raise NotFound(f"待审核修改不存在:{change_id}")
    return change


def submit(*, actor: User | None, now: datetime, data: dict[str, Any], note: str, settings: ReviewSettings,
           base_version: int | None = None, create_only: bool = False, emergency: bool = False) -> Submitted:
    """An editor's change: written at once unless it would go live, then kept for a second editor.

    `base_version` is the version the editor started from (a stale one raises StaleEntry, nothing
    written); `emergency` lets an admin publish alone, recorded in the audit trail as such."""
    note = _note(note)
    clean = services.clean_entry(data)
    existing = session.get(Entry, clean["id"])
    if existing is not None and create_only:
        raise KbError(f"编号已存在:{clean['id']}", field="id")
    if existing is not None and base_version is not None and base_version != existing.version:
        raise StaleEntry(existing, base_version)
    if existing is not None and canonical(existing.as_data()) == canonical(clean):
        return Submitted(existing.id, entry=existing, changed=False)
    if emergency:
        return _emergency(actor=actor, now=now, data=clean, note=note, base_version=base_version,
                          create_only=create_only)
    if not (settings.required and actor is not None and clean["status"] == "published"):
        entry, changed = services.save_entry(actor=actor, now=now, data=clean, note=note, create_only=create_only,
                                             base_version=base_version)
        return Submitted(entry.id, entry=entry, changed=changed)
    if existing is not None:
        # Hold the entry's row (a no-op UPDATE) so two editors submitting at once are told in turn.
        session.execute(update(Entry).where(Entry.id == existing.id).values(version=Entry.version)
                        .execution_options(synchronize_session=False))
    waiting = pending_for(clean["id"])
    if waiting is not None:
        raise KbError(f"条目{clean['id']}已有一项待审核的修改(由{waiting.author.display_name}提交),"
                      "请先审核、退回或撤回它再提交新的修改", code="change_pending", status=409)
    change = EntryChange(entry_id=clean["id"], base_version=existing.version if existing else None,
                         data_json=canonical(clean), note=note, state="pending", author_id=actor.id, created_at=now)
    session.add(change)
    session.flush()
    before = existing.as_data() if existing else {}
    audit.record("submit_change", "kb_entry", clean["id"], actor=actor, now=now, changes={
        **audit.diff(before, clean), "change": change.id, "base_version": change.base_version, "note": note})
    return Submitted(clean["id"], change=change)


def _emergency(*, actor: User | None, now: datetime, data: dict[str, Any], note: str, base_version: int | None,
               create_only: bool) -> Submitted:
    if actor is None or actor.role != "admin":
        raise Forbidden("只有管理员可以在紧急情况下不经第二人审核直接发布")
    entry, changed = services.save_entry(actor=actor, now=now, data=data, note=f"紧急发布:{note}",
                                         create_only=create_only, base_version=base_version)
    session.add(EntryReview(entry_id=entry.id, kind="emergency", reviewer_id=actor.id, reviewed_at=now,
                            version=entry.version, note=note))
    waiting = pending_for(entry.id)
    if waiting is not None:
        # The admin's version replaces what was waiting: its author starts again from the new version.
        waiting.state, waiting.decided_by_id, waiting.decided_at = "rejected", actor.id, now
        waiting.decision_note = f"管理员紧急发布了第{entry.version}版,此修改需在新版本上重新提交"
    session.flush()
    audit.record("emergency_publish", "kb_entry", entry.id, actor=actor, now=now,
                 changes={"version": entry.version, "note": note, "without_second_review": True})
    return Submitted(entry.id, entry=entry, changed=changed)


def approve(*, actor: User, now: datetime, change: EntryChange, note: str = "") -> Entry:
    """A second kb_editor lets a change go live; approving one's own change is refused."""
    if change.state != "pending":
        raise KbError(f"该修改已{CHANGE_STATES[change.state]},不能再审核", code="change_decided", status=409)
    if actor.id == change.author_id:
        raise Forbidden("不能审核自己提交的修改:须由另一位知识库编辑审核通过后才能发布", code="own_change")
    existing = session.get(Entry, change.entry_id)
    if (existing.version if existing else None) != change.base_version:
        raise Conflict(f"条目{change.entry_id}在此修改提交后已变为第{existing.version if existing else 0}版"
                       f"(此修改基于第{change.base_version or 0}版),不能直接通过;请退回,由提交人在最新版本上重新修改",
                       code="stale_change")
    note = services._text(note)[:500]
    entry, _ = services.save_entry(actor=actor, now=now, data=change.data, note=change.note,
                                   base_version=change.base_version, create_only=existing is None,
                                   author=change.author)
    change.state, change.decided_by_id, change.decided_at = "approved", actor.id, now
    change.decision_note, change.applied_version = note, entry.version
    session.add(EntryReview(entry_id=entry.id, kind="approve", reviewer_id=actor.id, reviewed_at=now,
                            version=entry.version, note=note))
    session.flush()
    audit.record("approve_change", "kb_entry", entry.id, actor=actor, now=now, changes={
        "change": change.id, "author": change.author.username, "version": entry.version, "note": note})
    return entry


def reject(*, actor: User, now: datetime, change: EntryChange, note: str) -> EntryChange:
    """A second kb_editor sends a change back with the reason; its author withdraws instead."""
    if change.state != "pending":
        raise KbError(f"该修改已{CHANGE_STATES[change.state]},不能再处理", code="change_decided", status=409)
    if actor.id == change.author_id:
        raise Forbidden("不能退回自己提交的修改;如不再需要,请撤回", code="own_change")
    note = services._text(note)
    if not note:
        raise KbError("请填写退回原因", field="note")
    return _decide(actor=actor, now=now, change=change, state="rejected", note=note[:500], action="reject_change")


def withdraw(*, actor: User, now: datetime, change: EntryChange) -> EntryChange:
    if change.state != "pending":
        raise KbError(f"该修改已{CHANGE_STATES[change.state]},不能撤回", code="change_decided", status=409)
    if actor.id != change.author_id:
        raise Forbidden("只有提交人可以撤回修改")
    return _decide(actor=actor, now=now, change=change, state="withdrawn", note="", action="withdraw_change")


def _decide(*, actor: User, now: datetime, change: EntryChange, state: str, note: str, action: str) -> EntryChange:
    change.state, change.decided_by_id, change.decided_at, change.decision_note = state, actor.id, now, note
    session.flush()
    audit.record(action, "kb_entry", change.entry_id, actor=actor, now=now,
                 changes={"change": change.id, "note": note})
    return change


def change_diff(change: EntryChange) -> list[services.FieldDiff]:
    """What the change would alter in the entry as it is now."""
    existing = session.get(Entry, change.entry_id)
    current = json.loads(canonical(existing.as_data())) if existing else {}
    return services.version_diff(current, change.data)


def set_status(*, actor: User, now: datetime, entry: Entry, status: str, note: str, settings: ReviewSettings,
               emergency: bool = False) -> Submitted:
    """Publish (through review) or retire (at once: taking an entry off the line needs no second editor)."""
    if status not in STATUSES:
        raise KbError("状态无效")
    if entry.status == status:
        raise KbError(f"该条目已是“{STATUSES[status]}”状态")
    return submit(actor=actor, now=now, data=entry.as_data() | {"status": status}, note=note, settings=settings,
                  base_version=entry.version, emergency=emergency)


def restore(*, actor: User, now: datetime, entry: Entry, number: int, note: str,
            settings: ReviewSettings) -> Submitted:
    version = services.version_to_restore(entry, number)
    result = submit(actor=actor, now=now, data=version.data, note=services._text(note) or f"恢复为第{number}版",
                    settings=settings, base_version=entry.version)
    if not result.changed:
        raise KbError("该版本内容与当前版本相同")
    return result


# --- periodic review -----------------------------------------------------------------------------

def recheck(*, actor: User, now: datetime, entry: Entry, note: str, next_review: date | None,
            today: date) -> EntryReview:
    """An editor confirms the live entry is still right: the review is recorded, flags from changed
    policy documents are cleared, and the next review date is set (a new version when it moves)."""
    note = services._text(note)
    if not note:
        raise KbError("请填写复核说明(核对了什么)", field="note")
    if next_review is None or next_review <= today:
        raise KbError("下次复核日期应晚于今天", field="review_date")
    if pending_for(entry.id) is not None:
        raise KbError("该条目有待审核的修改,请先审核或退回,再做复核确认", code="change_pending", status=409)
    if entry.review_date != next_review:
        services.save_entry(actor=actor, now=now, data=entry.as_data() | {"review_date": next_review.isoformat()},
                            note=f"复核确认:{note[:480]}", base_version=entry.version)
    cleared = []
    for flag in register.open_flags(entry.id):
        flag.cleared_at, flag.cleared_by_id = now, actor.id
        cleared.append(flag.reason)
    review = EntryReview(entry_id=entry.id, kind="recheck", reviewer_id=actor.id, reviewed_at=now,
                         version=entry.version, note=note[:500])
    session.add(review)
    session.flush()
    audit.record("recheck", "kb_entry", entry.id, actor=actor, now=now, changes={
        "note": note, "review_date": next_review.isoformat(), "cleared_flags": cleared})
    if cleared:
        services.bump_revision(now)
    return review


def last_review(entry_id: str) -> EntryReview | None:
    return session.execute(select(EntryReview).where(EntryReview.entry_id == entry_id)
                           .order_by(EntryReview.reviewed_at.desc(), EntryReview.id.desc())).scalars().first()


@dataclass(frozen=True)
class DueItem:
    entry: Entry
    overdue: bool
    flags: list[str]
    last: EntryReview | None


def due_for_review(today: date, settings: ReviewSettings) -> list[DueItem]:
    """Entries (not retired) flagged by a policy change, past their review date, or due within
    `settings.due_days`: flagged first, then by review date."""
    horizon = today + timedelta(days=settings.due_days)
    flagged: dict[str, list[str]] = {}
    for flag in session.execute(select(EntryFlag).where(EntryFlag.cleared_at.is_(None))).scalars():
        flagged.setdefault(flag.entry_id, []).append(flag.reason)
    items = []
    for entry in services.entries():
        if entry.status == "retired":
            continue
        soon = entry.review_date is not None and entry.review_date <= horizon
        if soon or entry.id in flagged:
            items.append(DueItem(entry, bool(entry.review_date and entry.review_date < today),
                                 flagged.get(entry.id, []), last_review(entry.id)))
    items.sort(key=lambda i: (not i.flags, i.entry.review_date or date.max, i.entry.id))
    return items


@dataclass(frozen=True)
class EntryView:
    """What the entry page and the search card show beside the content: documents the entry rests on,
    unset parameters, review flags, the last review and a change waiting for approval."""

    links: list[register.BasisLink]
    unset: list[services.ParamState]
    flags: list[str]
    last: EntryReview | None
    pending: EntryChange | None


def entry_view(data: dict[str, Any], states: dict[str, services.ParamState], *, saved: bool = True) -> EntryView:
    """`data` in Entry.as_data() shape; `saved` False for an editor's preview (no flags or reviews yet)."""
    entry_id = data.get("id", "")
    return EntryView(links=register.basis_links(data.get("policy_basis") or []),
                     unset=services.unset_parameters(data, states),
                     flags=[f.reason for f in register.open_flags(entry_id)] if saved else [],
                     last=last_review(entry_id) if saved else None,
                     pending=pending_for(entry_id) if saved and entry_id else None)


def offline_view(data: dict[str, Any], states: dict[str, services.ParamState]) -> EntryView:
    """The view of a card served from the search index while the database is down: the unset parameters
    only (the policy register, review flags and reviews are in the database)."""
    return EntryView(links=register.basis_links(data.get("policy_basis") or [], docs={}),
                     unset=services.unset_parameters(data, states), flags=[], last=None, pending=None)


def reviews_of(entry_id: str) -> list[EntryReview]:
    return list(session.execute(select(EntryReview).where(EntryReview.entry_id == entry_id)
                                .order_by(EntryReview.reviewed_at.desc(), EntryReview.id.desc())).scalars())


def check_import(plan: Any, *, actor: User | None, settings: ReviewSettings) -> None:
    """An import on the page is an editor's change too: while review is required, it may not put a
    published entry's new content live (those rows are imported as drafts and submitted one by one,
    or imported by an admin). Raises transfer.ImportError_ naming the rows."""
    from kb.transfer import ImportError_

    if not settings.required or actor is None or actor.role == "admin":
        return
    live = [c.entry_id for c in plan.changes if c.kind != "无变化" and c.data.get("status") == "published"]
    if live:
        raise ImportError_([f"{entry_id}:状态为“已发布”且内容有变化,导入后会不经审核直接上线;请把状态改为草稿导入后"
                            "在条目页提交审核,或请管理员导入" for entry_id in live])
