"""The hotline registry as a spreadsheet: export, and an all-or-nothing validated import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openpyxl.utils import get_column_letter

from audit import services as audit
from core import uploads, xlsx
from core.db import session
from core.errors import DomainError
from core.models import User
from spotchecks import hotlines
from spotchecks.models import HOTLINE_LEVELS, Hotline

SHEET = "社会救助热线"
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
#: What an imported workbook may unpack to (the 183 hotlines: 0.17 MB, 10× compressed).
SHEET_LIMITS = uploads.SheetLimits(max_unpacked_bytes=20 * 1024 * 1024, max_rows=MAX_ROWS, max_columns=40)
#: (field, header). 层级 follows the unit and is written for reading only.
COLUMNS = (
    ("id", "编号(新增留空)"), ("area", "所属县(市、区)"), ("unit", "所属单位"), ("level", "层级"),
    ("name", "热线名称"), ("number", "电话号码"), ("service_hours", "服务时间"), ("contact", "联系人"),
    ("leader", "分管领导"), ("leader_title", "领导职务"), ("active", "状态(在用/停用)"),
)
HEADERS = {header: name for name, header in COLUMNS}
REQUIRED = ("area", "unit", "name", "number", "service_hours")


class HotlineImportError(DomainError):
    """The import was refused; `errors` names every problem by row and column."""

    def __init__(self, errors: list[str]):
        super().__init__(errors[0] if len(errors) == 1 else f"共{len(errors)}处错误,首个:{errors[0]}")
        self.errors = errors


def export_hotlines(*, actor: User, now: datetime) -> bytes:
    """The whole registry as xlsx, in the import layout (audited)."""
    rows = hotlines.hotlines()
    audit.record("export", "hotline", "", actor=actor, now=now, changes={"format": "xlsx", "rows": len(rows)})
    return export_xlsx(rows)


WIDTHS = {"id": 10, "area": 12, "unit": 18, "level": 10, "name": 32, "number": 15, "service_hours": 13,
          "active": 10}


def export_xlsx(rows: list[Hotline]) -> bytes:
    wb = xlsx.new_workbook()
    xlsx.add_sheet(wb, SHEET, [header for _, header in COLUMNS],
                   ([h.id, h.unit.area, h.unit.name, HOTLINE_LEVELS.get(h.level, h.level), h.name, h.number,
                     h.service_hours, h.contact, h.leader, h.leader_title, "在用" if h.active else "停用"]
                    for h in rows),
                   widths=[WIDTHS.get(name, 12) for name, _ in COLUMNS])
    return xlsx.to_bytes(wb)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _place(row: int, col: int, header: str) -> str:
    return f"第{row}行「{header}」列({get_column_letter(col)}列)"


def read_rows(content: bytes) -> tuple[list[tuple[int, dict[str, str]]], dict[str, int]]:
    """The data rows as (row number, {field: text}) and each field's column number; refuses a malformed file."""
    if len(content) > MAX_BYTES:
        raise HotlineImportError([f"文件过大(超过{MAX_BYTES // 1024 // 1024}MB)"])
    try:
        _, sheet = uploads.read_sheet(content, SHEET_LIMITS, SHEET)
    except uploads.UploadError as err:
        raise HotlineImportError([err.message]) from None
    rows = iter(sheet)
    header = next(rows, None) or ()
    columns: dict[str, int] = {}
    for index, title in enumerate(header, start=1):
        name = HEADERS.get(_cell_text(title))
        if name:
            columns[name] = index
    missing = [HEADERS_BY_NAME[name] for name in REQUIRED if name not in columns]
    if missing:
        raise HotlineImportError([f"第1行缺少列:{'、'.join(missing)}(请用“导出”得到的模板填写)"])
    data = []
    for number, values in enumerate(rows, start=2):
        record = {name: _cell_text(values[col - 1]) if col - 1 < len(values) else "" for name, col in columns.items()}
        if any(record.values()):
            data.append((number, record))
        if len(data) > MAX_ROWS:
            raise HotlineImportError([f"行数过多(超过{MAX_ROWS}行)"])
    return data, columns


HEADERS_BY_NAME = dict(COLUMNS)


def plan_import(content: bytes) -> list[tuple[Hotline | None, dict[str, Any]]]:
    """Validate every row against the registry as it will be after the import; any error refuses all."""
    rows, columns = read_rows(content)
    if not rows:
        raise HotlineImportError(["工作簿中没有热线数据"])
    existing = {h.id: h for h in hotlines.hotlines()}
    errors: list[str] = []
    planned: list[tuple[int, Hotline | None, dict[str, Any]]] = []

    def err(row: int, field: str, message: str) -> None:
        errors.append(f"{_place(row, columns.get(field, 1), HEADERS_BY_NAME[field])}:{message}")

    seen_ids: dict[int, int] = {}
    for row, record in rows:
        target = None
        if record.get("id"):
            if not record["id"].isdigit() or int(record["id"]) not in existing:
                err(row, "id", f"编号{record['id']}不存在(新增的热线请留空)")
                continue
            target = existing[int(record["id"])]
            if target.id in seen_ids:
                err(row, "id", f"编号{target.id}与第{seen_ids[target.id]}行重复")
                continue
            seen_ids[target.id] = row
        blank = [field for field in REQUIRED if not record.get(field)]
        for field in blank:
            err(row, field, "不能为空")
        if blank:
            continue
        unit = hotlines.find_unit(record["area"], record["unit"])
        if unit is None:
            err(row, "unit", f"在{record['area']}找不到单位“{record['unit']}”")
            continue
        try:
            number = hotlines.check_number(record["number"])
        except DomainError as e:
            err(row, "number", e.message)
            continue
        try:
            hours = hotlines.check_service_hours(record["service_hours"])
        except DomainError as e:
            err(row, "service_hours", e.message)
            continue
        state = record.get("active", "") or "在用"
        if state not in ("在用", "停用"):
            err(row, "active", f"应填“在用”或“停用”,收到“{state}”")
            continue
        too_long = [f for f, limit in (("name", 100), ("contact", 50), ("leader", 50), ("leader_title", 50))
                    if len(record.get(f, "")) > limit]
        for field in too_long:
            err(row, field, "内容过长")
        if too_long:
            continue
        planned.append((row, target, {"unit_id": unit.id, "name": record["name"], "number": number,
                                      "service_hours": hours, "contact": record.get("contact", ""),
                                      "leader": record.get("leader", ""),
                                      "leader_title": record.get("leader_title", ""), "active": state == "在用"}))

    # Uniqueness over the registry as it will be: untouched hotlines keep their numbers and names.
    touched = {target.id for _, target, _ in planned if target is not None} | set(seen_ids)
    for field, label in (("number", "电话号码"), ("name", "热线名称")):
        owners: dict[str, str] = {getattr(h, field): f"现有热线“{h.name}”(编号{h.id})"
                                  for h in existing.values() if h.id not in touched}
        for row, _, data in planned:
            value = data[field]
            if value in owners:
                err(row, field, f"{label}{value}与{owners[value]}重复")
            else:
                owners[value] = f"第{row}行"
    if errors:
        raise HotlineImportError(sorted(errors, key=_row_of))
    return [(target, data) for _, target, data in planned]


def _row_of(message: str) -> int:
    digits = message[1:message.index("行")] if message.startswith("第") and "行" in message else "0"
    return int(digits) if digits.isdigit() else 0


def import_xlsx(content: bytes, *, actor: User | None, now: datetime) -> dict[str, int]:
    """Apply a validated workbook; the caller's transaction makes it all or nothing."""
    planned = plan_import(content)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    before = {t.id: hotlines.hotline_snapshot(t) for t, _ in planned if t is not None}
    # Park the numbers and names that change, so two rows may trade values without a transient clash.
    moving = [t for t, data in planned if t is not None and (t.number, t.name) != (data["number"], data["name"])]
    for target in moving:
        target.number, target.name = f"~{target.id}", f"~{target.id}"
    session.flush()
    for target, data in planned:
        if target is None:
            hotlines.create_hotline(actor=actor, now=now, data=data)
            counts["created"] += 1
            continue
        hotlines.update_hotline(actor=actor, now=now, hotline=target, data=data, before=before[target.id])
        counts["updated" if hotlines.hotline_snapshot(target) != before[target.id] else "unchanged"] += 1
    return counts
