"""The dispatch catalogue (派单目录): which unit answers for which matter, and the first owner it proposes.

A matter is keyed by knowledge-base category and/or entry and ticket kind. Every change writes a whole
new version (the catalogue is tens of rows), so the history is the list of versions and any one of them
reads as it stood. A ticket whose matter is in no row waits on the supervisor's desk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from audit import services as audit
from core import uploads, xlsx
from core.db import session
from core.errors import Forbidden, NotFound
from core.models import UNIT_LEVELS, Unit, User
from tickets import services
from tickets.models import KINDS, Call, CatalogueMatter, CatalogueVersion, Ticket
from tickets.queries import LIST_LOADS, Suggestion, suggest_owners
from tickets.validation import TicketError

DATA = Path(__file__).resolve().parent / "data" / "catalogue.yaml"
SOURCES = {"page": "页面编辑", "import": "表格导入", "desk": "派单时加入", "seed": "初始目录", "api": "接口"}
FIELDS = ("category", "entry_id", "kind", "level", "unit_id", "cohandling_ids", "note")


class CatalogueImportError(TicketError):
    """The import was refused; `errors` names every problem by sheet, row and column."""

    def __init__(self, errors: list[str]):
        super().__init__(errors[0] if len(errors) == 1 else f"共{len(errors)}处错误，首个：{errors[0]}",
                         code="import_invalid", status=422)
        self.errors = errors


@dataclass(frozen=True)
class RowError:
    #: 0-based position of the row in what was submitted.
    index: int
    field: str
    message: str


# --- reading -----------------------------------------------------------------------------------

def current_version() -> CatalogueVersion | None:
    return session.execute(select(CatalogueVersion).order_by(CatalogueVersion.number.desc()).limit(1)
                           ).scalar_one_or_none()


def versions() -> list[CatalogueVersion]:
    return list(session.execute(select(CatalogueVersion).order_by(CatalogueVersion.number.desc())).scalars())


def get_version(number: int) -> CatalogueVersion:
    found = session.execute(select(CatalogueVersion).where(CatalogueVersion.number == number)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"派单目录没有第{number}版")
    return found


def current_matters() -> list[CatalogueMatter]:
    version = current_version()
    return list(version.matters) if version is not None else []


def matter_dict(m: CatalogueMatter) -> dict[str, Any]:
    return {"category": m.category, "entry_id": m.entry_id, "kind": m.kind, "level": m.level,
            "unit_id": m.unit_id, "cohandling_ids": m.cohandling_ids, "note": m.note}


def matter_json(m: CatalogueMatter) -> dict[str, Any]:
    units = _units(m.cohandling_ids)
    return {"id": m.id, **matter_dict(m), "kind_label": KINDS.get(m.kind, "全部类型"),
            "level_label": UNIT_LEVELS.get(m.level, m.level), "unit": m.unit.name if m.unit else None,
            "cohandling": [units[i].name for i in m.cohandling_ids if i in units]}


def version_json(v: CatalogueVersion, *, with_matters: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"number": v.number, "source": v.source, "source_label": SOURCES.get(v.source, v.source),
                            "note": v.note, "created_at": v.created_at.isoformat(),
                            "created_by": v.created_by.display_name if v.created_by else None,
                            "matters_count": len(v.matters)}
    if with_matters:
        body["matters"] = [matter_json(m) for m in v.matters]
    return body


def _units(ids: list[int]) -> dict[int, Unit]:
    if not ids:
        return {}
    return {u.id: u for u in session.execute(select(Unit).where(Unit.id.in_(sorted(set(ids))))).scalars()}


def describe(m: CatalogueMatter) -> str:
    """How a matter reads on a page: “医疗救助·全部类型 → 县级（所在县民政局）”."""
    what = m.category or ""
    if m.entry_id:
        what = f"{what}（{m.entry_id}）" if what else m.entry_id
    owner = m.unit.name if m.unit else {"township": "所在乡镇（街道）", "county": "所在县级民政部门"}.get(m.level, "")
    return f"{what}·{KINDS.get(m.kind, '全部类型')} → {UNIT_LEVELS.get(m.level, m.level)}（{owner}）"


# --- matching and proposing ---------------------------------------------------------------------

def match(topic: str, kind: str, entry_ids: list[str] | tuple[str, ...] = (),
          matters: list[CatalogueMatter] | None = None) -> CatalogueMatter | None:
    """The most specific matter of the current catalogue (or of `matters`) for a ticket: an entry before
    its category, a row for the ticket's kind before one for every kind."""
    best: tuple[int, CatalogueMatter] | None = None
    for m in current_matters() if matters is None else matters:
        if m.kind and m.kind != kind:
            continue
        if m.entry_id:
            if m.entry_id not in entry_ids:
                continue
            score = 4
        elif m.category and m.category == topic:
            score = 2
        else:
            continue
        score += bool(m.kind)
        if best is None or score > best[0]:
            best = (score, m)
    return best[1] if best else None


def unit_for(matter: CatalogueMatter, township: Unit | None) -> Unit | None:
    """The first owner's unit a matter names for a ticket of this township (None for a unit disabled
    since the row was written: the operator picks one)."""
    if matter.unit is not None:
        return matter.unit if matter.unit.active else None
    if township is None:
        return None
    if matter.level == "township":
        return township if township.active else None
    parent = township.parent
    if matter.level == "county" and parent is not None and parent.level == "county" and parent.active:
        return parent
    return None


@dataclass
class Proposal:
    """What the catalogue proposes for a new ticket: the operator confirms or picks someone else."""

    matter: CatalogueMatter | None
    unit: Unit | None
    owners: list[Suggestion] = field(default_factory=list)
    cohandling: list[Unit] = field(default_factory=list)

    @property
    def in_catalogue(self) -> bool:
        return self.matter is not None

    @property
    def owner(self) -> User | None:
        return self.owners[0].user if self.owners else None

    def as_json(self) -> dict[str, Any]:
        return {"in_catalogue": self.in_catalogue,
                "matter": matter_json(self.matter) if self.matter else None,
                "matter_text": describe(self.matter) if self.matter else None,
                "unit": {"id": self.unit.id, "name": self.unit.name} if self.unit else None,
                "owner_id": self.owner.id if self.owner else None,
                "owners": [{"id": s.user.id, "name": s.user.display_name,
                            "unit": s.user.unit.name if s.user.unit else "", "reason": s.reason} for s in self.owners],
                "cohandling": [{"id": u.id, "name": u.name} for u in self.cohandling],
                "message": None if self.matter else "该事项不在派单目录中，工单将转督查人员派单"}


def propose(township_id: Any, topic: str = "", kind: str = "", entry_ids: list[str] | tuple[str, ...] = ()
            ) -> Proposal:
    """The catalogue's unit for the matter and the people of that unit to dispatch to (best first)."""
    township = session.get(Unit, int(township_id)) if str(township_id or "").strip().isdigit() else None
    matter = match(topic or "", kind or "", entry_ids)
    if matter is None:
        return Proposal(None, None)
    unit = unit_for(matter, township)
    owners: list[Suggestion] = []
    if unit is not None:
        owners = [s for s in suggest_owners(township.id if township else None, topic, limit=50)
                  if s.user.unit_id == unit.id]
        seen = {s.user.id for s in owners}
        staff = session.execute(select(User).where(User.unit_id == unit.id, User.role == "caseworker",
                                                   User.active.is_(True)).order_by(User.id)).scalars()
        owners += [Suggestion(u, f"{unit.name}承办人员（派单目录）") for u in staff if u.id not in seen]
    cohandling = [u for u in _units(matter.cohandling_ids).values() if u.active]
    return Proposal(matter, unit, owners[:8], cohandling)


def propose_for(ticket: Ticket) -> Proposal:
    entries = ticket.call.kb_entry_ids if ticket.call is not None else []
    return propose(ticket.township_id, ticket.topic, ticket.kind, entries)


def desk_tickets() -> list[Ticket]:
    """The supervisor's desk: tickets waiting for dispatch whose matter is in no row of the catalogue."""
    # The call's KB entries (to match) and what the list shows, loaded for all the waiting tickets at once.
    waiting = session.execute(select(Ticket).where(Ticket.state == "pending_dispatch")
                              .order_by(Ticket.created_at, Ticket.id)
                              .options(selectinload(Ticket.call).selectinload(Call.entries), *LIST_LOADS)).scalars()
    matters = current_matters()
    return [t for t in waiting
            if match(t.topic, t.kind, t.call.kb_entry_ids if t.call else [], matters=matters) is None]


def route_new(ticket: Ticket, *, actor: User, now: datetime) -> None:
    """A new ticket nobody was dispatched to: one outside the catalogue is sent to the supervisors' desk."""
    if match(ticket.topic, ticket.kind, ticket.call.kb_entry_ids if ticket.call else []) is None:
        services.notify(services.supervisor_ids(), ticket, "desk",
                        f"目录外事项待派单决定：{ticket.number}（{ticket.topic or '未选类别'}）", actor=actor, now=now)


# --- validating and writing ---------------------------------------------------------------------

def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _ids(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [p for p in str(value).replace("，", ",").replace("、", ",").split(",") if p.strip()]


def check_rows(rows: list[dict[str, Any]], where: Callable[[int], str] | None = None
               ) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Every row cleaned, and every problem of every row (nothing stops at the first); `where` names a row
    for the user (the sheet's row number on an import), by default 第N条事项."""
    where = where or (lambda index: f"第{index + 1}条事项")
    from kb.models import CATEGORIES, Entry

    errors: list[RowError] = []
    clean: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, row in enumerate(rows):
        before = len(errors)

        def err(name: str, message: str, i: int = i) -> None:
            errors.append(RowError(i, name, message))

        if not isinstance(row, dict):
            err("category", "每条事项应为一个对象")
            continue
        category, entry_id, kind = _text(row.get("category")), _text(row.get("entry_id")), _text(row.get("kind"))
        level, note = _text(row.get("level")), _text(row.get("note"))
        if kind == "all":
            kind = ""
        if not category and not entry_id:
            err("category", "请填写问题类别或知识库条目")
        if category and category not in CATEGORIES:
            err("category", f"问题类别“{category}”不存在（可选：{'、'.join(CATEGORIES)}）")
        if entry_id:
            entry = session.get(Entry, entry_id)
            if entry is None:
                err("entry_id", f"知识库条目{entry_id}不存在")
            elif category and entry.category != category:
                err("entry_id", f"知识库条目{entry_id}属于“{entry.category}”，不属于“{category}”")
            elif not category:
                category = entry.category
        if kind and kind not in KINDS:
            err("kind", f"工单类型“{kind}”无效（可选：{'、'.join(KINDS.values())}，或留空表示全部类型）")
        if level not in UNIT_LEVELS:
            err("level", f"责任层级应为{'、'.join(UNIT_LEVELS.values())}之一" + (f"，收到“{level}”" if level else ""))
        unit = _unit(row.get("unit_id"), "unit_id", "首派单位", err)
        if unit is not None and level in UNIT_LEVELS and unit.level != level:
            err("unit_id", f"首派单位{unit.name}是{unit.level_label}单位，与责任层级“{UNIT_LEVELS[level]}”不符")
        if unit is None and level == "city" and row.get("unit_id") in (None, ""):
            err("unit_id", "市级事项须指定首派单位")
        cohandling: list[int] = []
        for raw in _ids(row.get("cohandling_ids")):
            co = _unit(raw, "cohandling_ids", "协办单位", err)
            if co is not None:
                if unit is not None and co.id == unit.id:
                    err("cohandling_ids", f"{co.name}已是首派单位，不必再列为协办单位")
                elif co.id not in cohandling:
                    cohandling.append(co.id)
        if len(note) > 500:
            err("note", "说明不能超过500字")
        key = (category if not entry_id else "", entry_id, kind)
        if len(errors) == before:
            if key in seen:
                err("category", f"与{where(seen[key])}重复（同一类别/条目和工单类型只能有一条）")
                continue
            seen[key] = i
            clean.append({"category": category, "entry_id": entry_id, "kind": kind, "level": level,
                          "unit_id": unit.id if unit else None, "cohandling_ids": cohandling, "note": note})
    return clean, errors


def _unit(raw: Any, name: str, label: str, err) -> Unit | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, Unit):
        unit = raw
    else:
        text = _text(raw)
        unit = session.get(Unit, int(text)) if text.isdigit() else None
        if unit is None:
            err(name, f"{label}不存在：{text}")
            return None
    if not unit.active:
        err(name, f"{label}“{unit.name}”已停用，不能写入派单目录（请先启用该单位或改选其他单位）")
        return None
    return unit


def _raise_for(errors: list[RowError]) -> None:
    first = errors[0]
    message = f"第{first.index + 1}条事项：{first.message}"
    if len(errors) > 1:
        message = f"共{len(errors)}处错误，首个：{message}"
    raise TicketError(message, field=first.field, code="invalid_catalogue")


def _require_admin(actor: User | None) -> None:
    if actor is None or actor.role != "admin":
        raise Forbidden("只有管理员可以修改派单目录")


def save_version(*, actor: User | None, now: datetime, rows: list[dict[str, Any]], source: str, note: str = ""
                 ) -> CatalogueVersion:
    """Write `rows` as the catalogue's next version (all rows valid, or nothing written), audited with
    what was added and removed against the version before."""
    if source not in ("seed", "desk"):  # a desk addition is checked by `dispatch`
        _require_admin(actor)
    clean, errors = check_rows(rows)
    if errors:
        _raise_for(errors)
    previous = current_version()
    old = {_key(d): d for d in (matter_dict(m) for m in (previous.matters if previous else []))}
    new = {_key(d): d for d in clean}
    if previous is not None and old == new:
        raise TicketError("派单目录没有变化，未生成新版本", code="unchanged")
    number = (session.execute(select(func.max(CatalogueVersion.number))).scalar_one() or 0) + 1
    version = CatalogueVersion(number=number, source=source, note=_text(note)[:500],
                               created_by_id=actor.id if actor else None, created_at=now,
                               matters=[CatalogueMatter(category=d["category"], entry_id=d["entry_id"], kind=d["kind"],
                                                        level=d["level"], unit_id=d["unit_id"],
                                                        cohandling_json=json.dumps(d["cohandling_ids"]),
                                                        note=d["note"]) for d in clean])
    session.add(version)
    session.flush()
    audit.record("create", "dispatch_catalogue", number, actor=actor, now=now, changes={
        "version": number, "source": source, "rows": len(clean), "note": version.note,
        "added": [new[k] for k in new if k not in old], "removed": [old[k] for k in old if k not in new],
        "updated": [new[k] for k in new if k in old and old[k] != new[k]]})
    return version


def _key(d: dict[str, Any]) -> tuple[str, str, str]:
    return (d["category"] if not d["entry_id"] else "", d["entry_id"], d["kind"])


def put_matter(*, actor: User, now: datetime, matter_id: Any, row: dict[str, Any], note: str = "",
               source: str = "page") -> CatalogueVersion:
    """Add one matter (matter_id empty) or change one of the current version, as a new version."""
    rows = [matter_dict(m) for m in current_matters()]
    target = _current_index(matter_id) if matter_id not in (None, "") else None
    if target is None:
        rows.append(row)
    else:
        rows[target] = row
    try:
        return save_version(actor=actor, now=now, rows=rows, source=source, note=note)
    except TicketError as err:
        if err.code == "invalid_catalogue":  # name the field, not the row number of the whole list
            _, errors = check_rows(rows)
            own = [e for e in errors if e.index == (len(rows) - 1 if target is None else target)] or errors
            raise TicketError(own[0].message, field=own[0].field, code="invalid_catalogue") from None
        raise


def remove_matter(*, actor: User, now: datetime, matter_id: Any, note: str = "") -> CatalogueVersion:
    rows = [matter_dict(m) for m in current_matters()]
    del rows[_current_index(matter_id)]
    return save_version(actor=actor, now=now, rows=rows, source="page", note=note)


def _current_index(matter_id: Any) -> int:
    ids = [m.id for m in current_matters()]
    value = int(matter_id) if str(matter_id).strip().isdigit() else None
    if value not in ids:
        raise TicketError("该事项不在现行派单目录中（目录可能已被他人修改，请刷新）", code="stale_version", status=409)
    return ids.index(value)


def dispatch(*, actor: User, now: datetime, ticket: Ticket, user_id: Any, version: Any = None, note: str = "",
             add_to_catalogue: bool = False) -> Ticket:
    """派单; from the supervisor's desk the ticket's matter can join the catalogue in the same step,
    answered for by the chosen owner's unit."""
    if add_to_catalogue and (actor is None or not actor.has_role("supervisor")):
        raise Forbidden("只有督查人员可以在派单时把事项加入派单目录")
    services.dispatch(actor=actor, now=now, ticket=ticket, user_id=user_id, version=version, note=note)
    if add_to_catalogue:
        if not ticket.topic:
            raise TicketError("工单未选择问题类别，不能把事项加入派单目录", field="add_to_catalogue")
        unit = ticket.unit
        relative = (unit.id == ticket.township_id and unit.level == "township") or (
            unit.level == "county" and unit.id == ticket.township.parent_id)
        rows = [matter_dict(m) for m in current_matters()]
        rows.append({"category": ticket.topic, "entry_id": "", "kind": ticket.kind, "level": unit.level,
                     "unit_id": None if relative else unit.id, "cohandling_ids": [], "note": f"由工单{ticket.number}派单时加入"})
        save_version(actor=actor, now=now, rows=rows, source="desk", note=f"督查人员派单时加入（工单{ticket.number}）")
    return ticket


def seed_catalogue(now: datetime) -> str:
    """The bundled catalogue as version 1 when there is none (init loader; never touches an edited one)."""
    if current_version() is not None:
        return "dispatch catalogue: kept"
    by_name = {u.name: u for u in session.execute(select(Unit)).scalars()}
    rows = []
    for item in yaml.safe_load(DATA.read_text(encoding="utf-8")):
        unit = by_name.get(item.get("unit", ""))
        cohandling = [by_name[n].id for n in item.get("cohandling", []) if n in by_name]
        if item.get("unit") and unit is None:
            continue  # a unit renamed or never loaded: the matter waits for an admin
        rows.append({"category": item["category"], "entry_id": "", "kind": item.get("kind", ""),
                     "level": item["level"], "unit_id": unit.id if unit else None, "cohandling_ids": cohandling,
                     "note": item.get("note", "")})
    version = save_version(actor=None, now=now, rows=rows, source="seed", note="初始派单目录")
    return f"dispatch catalogue: version {version.number}, {len(rows)} matters"


# --- xlsx ----------------------------------------------------------------------------------------

def _half_width(text: str) -> str:
    return text.replace("（", "(").replace("）", ")")


SHEET = "派单目录"
MAX_BYTES = 2 * 1024 * 1024
SHEET_LIMITS = uploads.SheetLimits(max_unpacked_bytes=20 * 1024 * 1024, max_rows=2000, max_columns=20)
#: (field, header): the import layout, which the export writes.
COLUMNS = (("category", "问题类别"), ("entry_id", "知识库条目编号"), ("kind", "工单类型（空为全部）"),
           ("level", "责任层级"), ("unit_id", "首派单位（空为所在乡镇或县）"), ("cohandling_ids", "协办单位（用、分隔）"),
           ("note", "说明"))
HEADERS = {header: name for name, header in COLUMNS}
HEADERS.update({_half_width(header): name for name, header in COLUMNS})  # sheets exported with half-width brackets
LABELS = dict(COLUMNS)


def export_xlsx(*, actor: User, now: datetime) -> bytes:
    """The current catalogue as a workbook in the import layout (audited)."""
    matters = current_matters()
    audit.record("export", "dispatch_catalogue", "", actor=actor, now=now, changes={"format": "xlsx",
                                                                                   "rows": len(matters)})
    wb = xlsx.new_workbook()
    units = _units([i for m in matters for i in m.cohandling_ids])
    xlsx.add_sheet(wb, SHEET, [h for _, h in COLUMNS],
                   ([m.category, m.entry_id, KINDS.get(m.kind, ""), UNIT_LEVELS.get(m.level, m.level),
                     _unit_name(m.unit) if m.unit else "",
                     "、".join(_unit_name(units[i]) for i in m.cohandling_ids if i in units), m.note] for m in matters),
                   widths=[18, 14, 16, 12, 28, 40, 30])
    return xlsx.to_bytes(wb)


def _unit_name(unit: Unit) -> str:
    return unit.full_name


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _find_unit(name: str, by_name: dict[str, list[Unit]]) -> Unit | str:
    found = by_name.get(name, [])
    if len(found) == 1:
        return found[0]
    return f"单位“{name}”不存在" if not found else f"单位“{name}”重名，请写成“所属县（市、区）+名称”"


def plan_import(content: bytes) -> list[dict[str, Any]]:
    """Every row of the workbook checked; any error refuses the whole file, with all errors listed."""
    if len(content) > MAX_BYTES:
        raise CatalogueImportError([f"文件过大（超过{MAX_BYTES // 1024 // 1024}MB）"])
    try:
        title, sheet = uploads.read_sheet(content, SHEET_LIMITS, SHEET)
    except uploads.UploadError as err:
        raise CatalogueImportError([err.message]) from None
    if title != SHEET:
        raise CatalogueImportError([f"工作簿中没有名为“{SHEET}”的工作表（请用“导出”得到的模板填写）"])
    rows = iter(sheet)
    columns: dict[str, int] = {}
    for index, title_cell in enumerate(next(rows, None) or (), start=1):
        name = HEADERS.get(_cell(title_cell))
        if name:
            columns[name] = index
    missing = [LABELS[n] for n in ("category", "level") if n not in columns]
    if missing:
        raise CatalogueImportError([f"工作表“{SHEET}”第1行缺少列：{'、'.join(missing)}（请用“导出”得到的模板填写）"])
    by_name: dict[str, list[Unit]] = {}
    for u in session.execute(select(Unit)).scalars():
        for name in {u.name, u.full_name}:
            by_name.setdefault(name, []).append(u)
    kinds = {label: code for code, label in KINDS.items()}
    levels = {label: code for code, label in UNIT_LEVELS.items()}
    levels.update({_half_width(label): code for code, label in UNIT_LEVELS.items()})
    errors: list[str] = []
    records: list[tuple[int, dict[str, Any]]] = []

    def place(row: int, name: str) -> str:
        col = columns.get(name, 1)
        return f"工作表“{SHEET}”第{row}行「{LABELS[name]}」列（{get_column_letter(col)}列）"

    for number, values in enumerate(rows, start=2):
        cells = {n: _cell(values[c - 1]) if c - 1 < len(values) else "" for n, c in columns.items()}
        if not any(cells.values()):
            continue
        record: dict[str, Any] = {"category": cells.get("category", ""), "entry_id": cells.get("entry_id", ""),
                                  "note": cells.get("note", "")}
        kind = cells.get("kind", "")
        record["kind"] = kinds.get(kind, kind if kind in KINDS else ("" if kind in ("", "全部") else f"?{kind}"))
        level = cells.get("level", "")
        record["level"] = levels.get(level, level)
        if cells.get("unit_id"):
            unit = _find_unit(cells["unit_id"], by_name)
            if isinstance(unit, str):
                errors.append(f"{place(number, 'unit_id')}：{unit}")
                continue
            record["unit_id"] = unit
        cohandling = []
        bad = False
        for name in _ids(cells.get("cohandling_ids", "")):
            unit = _find_unit(name.strip(), by_name)
            if isinstance(unit, str):
                errors.append(f"{place(number, 'cohandling_ids')}：{unit}")
                bad = True
            else:
                cohandling.append(unit)
        if bad:
            continue
        record["cohandling_ids"] = cohandling
        if record["kind"].startswith("?"):
            errors.append(f"{place(number, 'kind')}：工单类型“{kind}”无效（可选：{'、'.join(KINDS.values())}，或留空）")
            continue
        records.append((number, record))
    clean, row_errors = check_rows([r for _, r in records], where=lambda index: f"第{records[index][0]}行")
    for e in row_errors:
        errors.append(f"{place(records[e.index][0], e.field)}：{e.message}")
    if not records and not errors:
        errors.append(f"工作表“{SHEET}”中没有事项")
    if errors:
        raise CatalogueImportError(sorted(errors, key=_row_of))
    return clean


def _row_of(message: str) -> int:
    digits = message.split("第", 1)[1].split("行", 1)[0] if "第" in message and "行" in message else "0"
    return int(digits) if digits.isdigit() else 0


def import_xlsx(content: bytes, *, actor: User, now: datetime, note: str = "") -> CatalogueVersion:
    """The workbook as the catalogue's next version: every row valid, or nothing written."""
    _require_admin(actor)
    rows = plan_import(content)
    return save_version(actor=actor, now=now, rows=rows, source="import", note=note or "表格导入")
