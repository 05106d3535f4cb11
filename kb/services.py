"""Entries and their versions, local parameters, synonyms: the only code that changes the knowledge base."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from audit import services as audit
from core import clock
from core.db import session
from core.errors import Conflict, DomainError, NotFound
from core.models import User
from kb.models import (
    CATEGORIES,
    FIELD_LABELS,
    LEVELS,
    LIST_FIELDS,
    PARAMETER_KINDS,
    STATUSES,
    TEXT_FIELDS,
    Entry,
    EntryVersion,
    KbRevision,
    Parameter,
    ParameterValue,
    Synonym,
)

ID_RE = re.compile(r"^Q\d{3,5}$")
PARAM_RE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
LIMITS = {"question": 300, "answer": 2000, "detail": 20000, "handling_unit": 300, "contact": 2000,
          "eligibility": 10000, "materials": 10000, "process": 10000}


class KbError(DomainError):
    pass


class StaleEntry(Conflict):
    """A save from a form that started at an older version: nothing is written, and the editor is shown
    the entry as it is now and what changed since the version the form started from."""

    def __init__(self, entry: Entry, started_from: int):
        super().__init__(f"条目{entry.id}已被他人修改为第{entry.version}版（您从第{started_from}版开始编辑），"
                         "本次未保存。请对照下方他人的改动，在表单中调整后再保存；您填写的内容仍在表单中",
                         code="stale_version")
        self.entry_id, self.version, self.started_from = entry.id, entry.version, started_from


# --- validation ----------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").strip()


def _str_list(value: Any, field: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.split("\n")
    if not isinstance(value, (list, tuple)):
        raise KbError(f"{FIELD_LABELS[field]}应为列表", field=field)
    items = [_text(v) for v in value]
    return [v for v in items if v]


def _basis(value: Any) -> list[dict[str, str]]:
    """Policy basis as a list of {name, number, article}; text lines "名称|文号|条款" are accepted too."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [line for line in value.split("\n") if line.strip()]
    if not isinstance(value, (list, tuple)):
        raise KbError("政策依据应为列表", field="policy_basis")
    out = []
    for item in value:
        if isinstance(item, str):
            parts = [p.strip() for p in item.split("|")]
            item = {"name": parts[0], "number": parts[1] if len(parts) > 1 else "",
                    "article": parts[2] if len(parts) > 2 else ""}
        if not isinstance(item, dict) or not _text(item.get("name")):
            raise KbError("政策依据的每一条都要有文件名称", field="policy_basis")
        out.append({"name": _text(item.get("name")).strip("《》"), "number": _text(item.get("number")),
                    "article": _text(item.get("article"))})
    return out


def clean_entry(data: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise entry data (from a form, YAML or a spreadsheet row); raise KbError naming the field."""
    out: dict[str, Any] = {}
    entry_id = _text(data.get("id")).upper()
    if not entry_id:
        raise KbError("编号不能为空", field="id")
    if not ID_RE.match(entry_id):
        raise KbError(f"编号格式应为Q加3位以上数字,如Q001:{entry_id}", field="id")
    out["id"] = entry_id
    for field in TEXT_FIELDS:
        out[field] = _text(data.get(field))
    for field in ("category", "question", "answer", "level", "status"):
        if not out[field]:
            raise KbError(f"{FIELD_LABELS[field]}不能为空", field=field)
    for field, limit in LIMITS.items():
        if len(out[field]) > limit:
            raise KbError(f"{FIELD_LABELS[field]}过长(不超过{limit}字)", field=field)
    if out["category"] not in CATEGORIES:
        raise KbError(f"分类无效:{out['category']}(可选:{'、'.join(CATEGORIES)})", field="category")
    if out["level"] not in LEVELS:
        raise KbError(f"层级无效:{out['level']}(可选:国家、省、市)", field="level")
    status = {v: k for k, v in STATUSES.items()}.get(out["status"], out["status"])
    if status not in STATUSES:
        raise KbError(f"状态无效:{out['status']}(可选:draft/published/retired 或 草稿/已发布/已停用)", field="status")
    out["status"] = status
    out["similar"] = _str_list(data.get("similar"), "similar")
    out["keywords"] = _str_list(data.get("keywords"), "keywords")
    if isinstance(data.get("keywords"), str) and len(out["keywords"]) == 1:
        out["keywords"] = [k.strip() for k in re.split(r"[、,,;;]+", out["keywords"][0]) if k.strip()]
    out["policy_basis"] = _basis(data.get("policy_basis"))
    review = data.get("review_date")
    if isinstance(review, datetime):
        review = review.date()
    if review in (None, ""):
        out["review_date"] = ""
    elif isinstance(review, date):
        out["review_date"] = review.isoformat()
    else:
        try:
            out["review_date"] = date.fromisoformat(_text(review)).isoformat()
        except ValueError:
            raise KbError(f"复核日期格式应为 年-月-日:{review}", field="review_date") from None
    for field in ("answer", "detail", "contact", "process", "eligibility", "materials"):
        for name in PARAM_RE.findall(out[field]):
            if session.get(Parameter, name.strip()) is None:
                raise KbError(f"{FIELD_LABELS[field]}引用了不存在的本地参数:{{{{{name}}}}}", field=field)
    return out


# --- entries -------------------------------------------------------------------------------------

def get_entry(entry_id: str) -> Entry:
    entry = session.get(Entry, entry_id.upper())
    if entry is None:
        raise NotFound(f"知识库条目不存在:{entry_id}")
    return entry


def canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _apply(entry: Entry, data: dict[str, Any]) -> None:
    for field in TEXT_FIELDS:
        setattr(entry, field, data[field])
    entry.similar_json = json.dumps(data["similar"], ensure_ascii=False)
    entry.keywords_json = json.dumps(data["keywords"], ensure_ascii=False)
    entry.policy_basis_json = json.dumps(data["policy_basis"], ensure_ascii=False)
    entry.review_date = date.fromisoformat(data["review_date"]) if data["review_date"] else None


def bump_revision(now: datetime) -> int:
    """Count a KB change (UPDATE … SET revision = revision + 1); search indexes compare this number with
    the one they were built from."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(KbRevision).values(id=1, revision=1, changed_at=now).on_conflict_do_update(
        index_elements=["id"], set_={"revision": KbRevision.revision + 1, "changed_at": now})
    revision = session.execute(stmt.returning(KbRevision.revision)).scalar_one()
    cached = session.identity_map.get(session.identity_key(KbRevision, 1))
    if cached is not None:
        session.expire(cached)
    _count_local_change()
    return revision


def current_revision() -> int:
    return session.execute(select(KbRevision.revision).where(KbRevision.id == 1)).scalar_one_or_none() or 0


_local_changes = 0


def _count_local_change() -> None:
    global _local_changes
    _local_changes += 1


def local_changes() -> int:
    """How many KB changes this process has made (committed or not): what caches keyed by the revision
    also compare, so this process's own change counts at once, before any TTL runs out (see
    kb.index.IndexHolder.revision)."""
    return _local_changes


def _claim(entry: Entry, expected: int) -> None:
    """Take the entry's next version number if it is still at `expected` (UPDATE … WHERE version = :v).

    The UPDATE holds the row until commit, and a second editor's UPDATE re-checks the condition after
    the first commits (PostgreSQL), so each version number is written once and no save is lost.
    """
    claimed = session.execute(
        update(Entry).where(Entry.id == entry.id, Entry.version == expected)
        .values(version=Entry.version + 1).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        session.refresh(entry)
        raise StaleEntry(entry, expected)
    set_committed_value(entry, "version", expected + 1)


def save_entry(*, actor: User | None, now: datetime, data: dict[str, Any], note: str,
               bundle_hash: str | None = None, create_only: bool = False,
               base_version: int | None = None, author: User | None = None) -> tuple[Entry, bool]:
    """Create or change an entry. A change makes a new version (who, when, why); no change makes nothing.

    This writes live: editors' changes go through kb.review, which calls it once a change may go live
    (`author` then names who wrote the change, `actor` who approved it). The bundled files (`flask kb
    load`, the deploy path) and imports call it directly.

    `base_version` is the version an editor's form started from (None: the one loaded here); a change
    to an entry that has moved on since raises StaleEntry and writes nothing.
    Returns the entry and whether a new version was written.
    """
    note = _text(note)
    if not note:
        raise KbError("请填写修改说明(为什么改)", field="note")
    data = clean_entry(data)
    entry = session.get(Entry, data["id"])
    if entry is not None and create_only:
        raise KbError(f"编号已存在:{data['id']}", field="id")
    if entry is None:
        entry = Entry(id=data["id"], version=1, created_at=now, bundle_hash="")
        before: dict[str, Any] = {}
    else:
        before = entry.as_data()
        if canonical(before) == canonical(data):
            if bundle_hash is not None:
                entry.bundle_hash = bundle_hash
            return entry, False
        started_from = entry.version if base_version is None else base_version
        if started_from != entry.version:
            raise StaleEntry(entry, started_from)
        _claim(entry, started_from)
    _apply(entry, data)
    entry.updated_at = now
    if bundle_hash is not None:
        entry.bundle_hash = bundle_hash
    if not before:
        _insert(entry)
    writer = author or actor
    session.add(EntryVersion(entry=entry, number=entry.version, data_json=canonical(data), note=note[:500],
                             actor_id=getattr(writer, "id", None),
                             actor_name=getattr(writer, "username", "") or "system", created_at=now))
    session.flush()
    extra = {"author": author.username} if author is not None else {}
    audit.record("create" if not before else "update", "kb_entry", entry.id, actor=actor, now=now,
                 changes={**audit.diff(before, data), "version": entry.version, "note": note, **extra})
    bump_revision(now)
    return entry, True


def _insert(entry: Entry) -> None:
    """Add a new entry; of two editors creating the same id at once, the second is told it exists."""
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        raise KbError(f"编号已存在:{entry.id}", field="id") from None


def set_status(*, actor: User, now: datetime, entry: Entry, status: str, note: str) -> Entry:
    if status not in STATUSES:
        raise KbError("状态无效")
    if entry.status == status:
        raise KbError(f"该条目已是“{STATUSES[status]}”状态")
    data = entry.as_data()
    data["status"] = status
    save_entry(actor=actor, now=now, data=data, note=note)
    return entry


def version_to_restore(entry: Entry, number: int) -> EntryVersion:
    """An earlier version of the entry, to be saved again as its newest."""
    version = session.execute(select(EntryVersion).where(EntryVersion.entry_id == entry.id,
                                                         EntryVersion.number == number)).scalar_one_or_none()
    if version is None:
        raise NotFound(f"版本不存在:第{number}版")
    if number == entry.version:
        raise KbError("这已是当前版本")
    return version


def restore_version(*, actor: User, now: datetime, entry: Entry, number: int, note: str = "") -> Entry:
    version = version_to_restore(entry, number)
    _, changed = save_entry(actor=actor, now=now, data=version.data,
                            note=_text(note) or f"恢复为第{number}版")
    if not changed:
        raise KbError("该版本内容与当前版本相同")
    return entry


@dataclass(frozen=True)
class FieldDiff:
    field: str
    label: str
    html: str


def version_diff(old: dict[str, Any], new: dict[str, Any]) -> list[FieldDiff]:
    """A readable, word-level diff of two versions, one block per changed field."""
    from markupsafe import escape

    def as_text(value: Any) -> str:
        if isinstance(value, list):
            return "\n".join(" | ".join(v for v in item.values() if v) if isinstance(item, dict) else str(item)
                             for item in value)
        return str(value or "")

    out = []
    for field in ("question", "answer", *[f for f in TEXT_FIELDS if f not in ("question", "answer")],
                  *LIST_FIELDS, "review_date"):
        a, b = as_text(old.get(field)), as_text(new.get(field))
        if a == b:
            continue
        parts = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                parts.append(str(escape(a[i1:i2])))
            if op in ("delete", "replace"):
                parts.append(f"<del>{escape(a[i1:i2])}</del>")
            if op in ("insert", "replace"):
                parts.append(f"<ins>{escape(b[j1:j2])}</ins>")
        out.append(FieldDiff(field, FIELD_LABELS[field], "".join(parts).replace("\n", "<br>")))
    return out


@dataclass(frozen=True)
class ChangesSince:
    """What others saved to an entry after the version an editor's form started from."""

    started_from: int
    versions: list[EntryVersion]
    diffs: list[FieldDiff]


def changes_since(entry: Entry, started_from: int) -> ChangesSince:
    """The versions saved after `started_from` (who, when, why) and one diff from it to the entry as it is now."""
    base = next((v for v in entry.versions if v.number == started_from), None)
    newer = [v for v in entry.versions if v.number > started_from]
    current = json.loads(canonical(entry.as_data()))  # the shape versions are stored in
    return ChangesSince(started_from, newer, version_diff(base.data if base else {}, current))


def entries(*, status: str | None = None, category: str | None = None) -> list[Entry]:
    query = select(Entry).order_by(Entry.id)
    if status:
        query = query.where(Entry.status == status)
    if category:
        query = query.where(Entry.category == category)
    return list(session.execute(query).scalars())


def review_due(today: date) -> list[Entry]:
    return list(session.execute(select(Entry).where(Entry.review_date.is_not(None), Entry.review_date < today,
                                                    Entry.status != "retired").order_by(Entry.review_date)).scalars())


# --- local parameters ----------------------------------------------------------------------------

#: What each kind of parameter value must look like, and how a refusal explains it.
KIND_RULES = {
    "amount": (re.compile(r"^\d{1,9}(\.\d{1,2})?$"), "应为金额数字（如 700 或 700.50），不带单位和文字"),
    "number": (re.compile(r"^\d{1,6}$"), "应为整数（如 6），不带单位和文字"),
    "phone": (re.compile(r"^\d[\d\-]{2,19}$"), "应为电话号码（数字和连字符，如 0455-8888888）"),
}


def kind_for(unit: str, kind: str | None = None) -> str:
    """A parameter's kind as declared, or inferred from its unit when the bundled list names none."""
    if kind:
        if kind not in PARAMETER_KINDS:
            raise KbError(f"参数类型无效:{kind}(可选:{'、'.join(PARAMETER_KINDS)})", field="kind")
        return kind
    if unit.startswith("元"):
        return "amount"
    return "number" if unit in ("个月", "周岁", "天", "个工作日") else "text"


@dataclass(frozen=True)
class ParamState:
    name: str
    label: str
    unit: str
    value: str
    effective_date: date | None
    source: str
    upcoming: ParameterValue | None
    kind: str = "text"

    @property
    def is_set(self) -> bool:
        return bool(self.value)

    @property
    def gap(self) -> str:
        return unset_gap(self.label)

    @property
    def rendered(self) -> str:
        return f"{self.value}{self.unit}" if self.value else self.gap


def unset_gap(label: str) -> str:
    """What an unset parameter shows: a visible gap, never words a caller could take as an answer."""
    return f"【未设置：{label}】"


def parameter_states(today: date, db: Session | None = None) -> dict[str, ParamState]:
    """Every parameter with the value in effect today (and the next scheduled change, if any)."""
    states = {}
    for param in (db or session).execute(select(Parameter).order_by(Parameter.name)).scalars():
        current = None
        upcoming = None
        for value in param.values:
            if value.effective_date <= today:
                if current is None or (value.effective_date, value.id) >= (current.effective_date, current.id):
                    current = value
            elif upcoming is None or value.effective_date < upcoming.effective_date:
                upcoming = value
        states[param.name] = ParamState(
            name=param.name, label=param.label,
            unit=(current.unit if current and current.unit else param.unit),
            value=current.value if current else "", effective_date=current.effective_date if current else None,
            source=current.source if current else "", upcoming=upcoming, kind=param.kind or "text")
    return states


def render(text: str, states: dict[str, ParamState]) -> str:
    """Plain text (copied scripts, the API): {{name}} becomes the parameter's current value and unit, or
    the visible gap 【未设置：…】 when unset."""
    def sub(match: re.Match) -> str:
        name = match.group(1).strip()
        state = states.get(name)
        return state.rendered if state else unset_gap(name)

    return PARAM_RE.sub(sub, text or "")


def render_html(text: str, states: dict[str, ParamState], gap_link: str | None = None):
    """The same for a page: the text escaped, each unset parameter's gap highlighted (`<mark>`) and, for
    whoever may set it, linked to the parameters page (`gap_link` with {name} in it)."""
    from markupsafe import Markup, escape

    parts: list[str] = []
    last = 0
    for match in PARAM_RE.finditer(text or ""):
        parts.append(str(escape(text[last:match.start()])))
        name = match.group(1).strip()
        state = states.get(name)
        if state is not None and state.is_set:
            parts.append(str(escape(state.rendered)))
        else:
            gap = escape(state.gap if state else unset_gap(name))
            mark = f'<mark class="param-unset" title="本地参数 {escape(name)} 未设置">{gap}</mark>'
            if gap_link:
                mark = f'<a href="{escape(gap_link.replace("__NAME__", name))}">{mark}</a>'
            parts.append(mark)
        last = match.end()
    parts.append(str(escape((text or "")[last:])))
    return Markup("".join(parts))


def unset_parameters(entry_or_data: Entry | dict[str, Any], states: dict[str, ParamState]) -> list[ParamState]:
    """The parameters an entry refers to that have no value today (an unknown name counts as unset)."""
    out = []
    for name in parameters_used(entry_or_data):
        state = states.get(name)
        if state is None:
            state = ParamState(name=name, label=name, unit="", value="", effective_date=None, source="",
                               upcoming=None)
        if not state.is_set:
            out.append(state)
    return out


PARAM_FIELDS = ("answer", "detail", "contact", "process", "eligibility", "materials")


def parameters_used(entry: Entry | dict[str, Any]) -> list[str]:
    names: list[str] = []
    for field in PARAM_FIELDS:
        text = entry.get(field) if isinstance(entry, dict) else getattr(entry, field)
        for name in PARAM_RE.findall(text or ""):
            if name.strip() not in names:
                names.append(name.strip())
    return names


def parameter_usage() -> dict[str, list[str]]:
    """Which entries refer to each parameter, by id."""
    usage: dict[str, list[str]] = {}
    for e in entries():
        for name in parameters_used(e):
            usage.setdefault(name, []).append(e.id)
    return usage


def define_parameter(*, actor: User | None, now: datetime, name: str, label: str, unit: str = "",
                     kind: str | None = None) -> Parameter:
    """Create a parameter definition if missing (bundled list); an existing one keeps its label and unit,
    and takes the bundled kind (what its values must look like) when that differs."""
    kind = kind_for(unit, kind)
    param = session.get(Parameter, name)
    if param is None:
        param = Parameter(name=name, label=label, unit=unit, kind=kind)
        session.add(param)
        session.flush()
        audit.record("create", "kb_parameter", name, actor=actor, now=now,
                     changes={"after": {"label": label, "unit": unit, "kind": kind}})
    elif param.kind != kind:
        audit.record("update", "kb_parameter", name, actor=actor, now=now,
                     changes={"before": {"kind": param.kind}, "after": {"kind": kind}})
        param.kind = kind
        session.flush()
    return param


def check_value(param: Parameter, value: str) -> None:
    """Refuse a value that does not fit the parameter's kind (text for an amount, …); empty unsets."""
    if not value:
        return
    rule = KIND_RULES.get(param.kind or "text")
    if rule is not None and not rule[0].match(value):
        raise KbError(f"“{param.label}”的取值{rule[1]}:{value}", field="value")


def set_parameter(*, actor: User | None, now: datetime, name: str, value: str, unit: str,
                  effective_date: date | None, source: str = "", today: date | None = None) -> ParameterValue:
    """Set a local figure from a date on (today by default); an empty value unsets it from that date.

    A value must fit the parameter's kind. A date before today is refused when a value was already
    recorded for any day since then: that would rewrite what the knowledge base said on those days
    (a figure never set before may be entered from the date it was published)."""
    param = session.get(Parameter, name)
    if param is None:
        raise NotFound(f"本地参数不存在:{name}")
    value, unit, source = _text(value), _text(unit), _text(source)
    if len(value) > 200 or len(unit) > 30 or len(source) > 200:
        raise KbError("取值不超过200字,单位不超过30字,依据不超过200字")
    if "{{" in value or "}}" in value:
        raise KbError("取值不能包含 {{ }}", field="value")
    check_value(param, value)
    effective = effective_date or today
    if effective is None:
        raise KbError("请填写生效日期", field="effective_date")
    if today is None:
        today = clock.to_local(now).date()
    if effective < today:
        recorded = [v for v in param.values if v.effective_date <= today]
        if recorded:
            latest = max(recorded, key=lambda v: (v.effective_date, v.id))
            raise KbError(
                f"生效日期{effective.isoformat()}早于今天,会改写历史:“{param.label}”自"
                f"{latest.effective_date.isoformat()}起已记录为“{latest.value or '未设置'}”。"
                "新取值请从今天或以后的日期生效", field="effective_date")
    before = parameter_states(effective).get(name)
    row = ParameterValue(name=name, value=value, unit=unit or param.unit, effective_date=effective, source=source,
                         actor_id=actor.id if actor else None, created_at=now)
    session.add(row)
    session.flush()
    session.refresh(param)
    audit.record("update", "kb_parameter", name, actor=actor, now=now, changes={
        "before": {"value": before.value if before else "", "unit": before.unit if before else ""},
        "after": {"value": value, "unit": row.unit}, "effective_date": effective.isoformat(), "source": source})
    bump_revision(now)
    return row


# --- synonyms ------------------------------------------------------------------------------------

def synonyms() -> list[Synonym]:
    return list(session.execute(select(Synonym).order_by(Synonym.canonical, Synonym.term)).scalars())


def synonym_pairs() -> list[tuple[str, str]]:
    return [(s.term, s.canonical) for s in synonyms()]


def save_synonym(*, actor: User | None, now: datetime, term: str, canonical_term: str, note: str = "",
                 synonym_id: int | None = None) -> Synonym:
    term, canonical_term, note = _text(term), _text(canonical_term), _text(note)
    if not term or not canonical_term:
        raise KbError("说法和规范词都不能为空")
    if term == canonical_term:
        raise KbError("说法和规范词不能相同")
    if len(term) > 50 or len(canonical_term) > 50:
        raise KbError("说法和规范词不超过50字")
    clash = session.execute(select(Synonym).where(Synonym.term == term)).scalar_one_or_none()
    if clash is not None and clash.id != synonym_id:
        raise KbError(f"“{term}”已在同义词表中(对应“{clash.canonical}”)", field="term")
    if synonym_id is None:
        syn = Synonym(term=term, canonical=canonical_term, note=note, created_at=now, updated_at=now)
        session.add(syn)
        session.flush()
        audit.record("create", "kb_synonym", syn.id, actor=actor, now=now,
                     changes={"after": {"term": term, "canonical": canonical_term}})
    else:
        syn = session.get(Synonym, synonym_id)
        if syn is None:
            raise NotFound("同义词不存在")
        before = {"term": syn.term, "canonical": syn.canonical, "note": syn.note}
        syn.term, syn.canonical, syn.note, syn.updated_at = term, canonical_term, note, now
        session.flush()
        audit.record("update", "kb_synonym", syn.id, actor=actor, now=now,
                     changes=audit.diff(before, {"term": term, "canonical": canonical_term, "note": note}))
    bump_revision(now)
    return syn


def delete_synonym(*, actor: User, now: datetime, synonym_id: int) -> None:
    syn = session.get(Synonym, synonym_id)
    if syn is None:
        raise NotFound("同义词不存在")
    audit.record("delete", "kb_synonym", syn.id, actor=actor, now=now,
                 changes={"before": {"term": syn.term, "canonical": syn.canonical}})
    session.delete(syn)
    session.flush()
    bump_revision(now)
