"""Import and export of entries: JSON lines, YAML files, and a spreadsheet a bureau clerk can fill in."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from openpyxl.utils import get_column_letter

from audit import services as audit
from core import uploads, xlsx
from core.errors import DomainError
from kb import services
from kb.models import FIELD_LABELS, Entry

MAX_IMPORT_BYTES = 5 * 1024 * 1024
#: What an imported workbook may unpack to (the bundled 100 entries: 1.3 MB, 7× compressed).
SHEET_LIMITS = uploads.SheetLimits(max_unpacked_bytes=40 * 1024 * 1024, max_rows=5000, max_columns=60)
SHEET = "知识库条目"
#: Spreadsheet columns: (field, header shown to the clerk).
COLUMNS = (
    ("id", "编号"), ("category", "分类"), ("question", "标准问题"), ("similar", "相似问法(每行一条)"),
    ("keywords", "关键词(每行一个)"), ("answer", "答复口径"), ("detail", "详细解答"),
    ("policy_basis", "政策依据(每行一条:文件名称|文号|条款)"), ("level", "层级(国家/省/市)"),
    ("eligibility", "申请条件"), ("materials", "所需材料"), ("process", "办理流程及时限"),
    ("handling_unit", "承办单位"), ("contact", "联系方式"), ("status", "状态(已发布/草稿/已停用)"),
    ("review_date", "复核日期(年-月-日)"),
)
REQUIRED = ("id", "category", "question", "answer", "level", "status")


class ImportError_(DomainError):
    """Import refused; `errors` lists every problem found (each names its place)."""

    def __init__(self, errors: list[str]):
        super().__init__(errors[0] if len(errors) == 1 else f"共{len(errors)}处错误,首个:{errors[0]}")
        self.errors = errors


# --- export --------------------------------------------------------------------------------------

def export_records(entries: list[Entry]) -> list[dict[str, Any]]:
    records = []
    for entry in entries:
        data = entry.as_data()
        records.append({"id": data["id"], "category": data["category"], "question": data["question"],
                        "similar": data["similar"], "keywords": data["keywords"], "answer": data["answer"],
                        "detail": data["detail"], **{k: v for k, v in data.items() if k not in (
                            "id", "category", "question", "similar", "keywords", "answer", "detail")},
                        "version": entry.version})
    return records


def export_jsonl(entries: list[Entry]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in export_records(entries))


EXPORT_FORMATS = ("xlsx", "jsonl")


def export_file(*, actor: Any, now: datetime, fmt: str, everything: bool) -> bytes:
    """The entries as an .xlsx workbook (all of them, or the published ones) or JSON lines (published
    only), recorded in the audit trail: the one place a KB file export is built."""
    if fmt not in EXPORT_FORMATS:
        raise DomainError(f"不支持的导出格式：{fmt}", status=404)
    entries = services.entries() if everything else services.entries(status="published")
    if fmt == "jsonl":
        entries = [e for e in entries if e.status == "published"]
    body = export_xlsx(entries) if fmt == "xlsx" else export_jsonl(entries).encode("utf-8")
    audit.record("export", "kb_entry", "", actor=actor, now=now, changes={"format": fmt, "rows": len(entries)})
    return body


def export_directory(*, actor: Any, now: datetime, directory: Path, everything: bool) -> int:
    """One YAML file per entry into `directory` (the bundle layout), recorded in the audit trail."""
    entries = services.entries() if everything else services.entries(status="published")
    count = export_yaml(entries, directory)
    audit.record("export", "kb_entry", "", actor=actor, now=now,
                 changes={"format": "yaml", "rows": count, "directory": str(directory)})
    return count


def entry_yaml(data: dict[str, Any]) -> str:
    ordered = {"id": data["id"], "category": data["category"], "question": data["question"],
               "level": data["level"], "status": data["status"], "review_date": data["review_date"] or None,
               "keywords": data["keywords"], "similar": data["similar"], "answer": data["answer"],
               "detail": data["detail"], "policy_basis": data["policy_basis"], "eligibility": data["eligibility"],
               "materials": data["materials"], "process": data["process"], "handling_unit": data["handling_unit"],
               "contact": data["contact"]}
    return yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False, width=100000)


def export_yaml(entries: list[Entry], directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        (directory / f"{entry.id}.yaml").write_text(entry_yaml(entry.as_data()), encoding="utf-8")
    return len(entries)


def _cell(field_name: str, value: Any) -> str:
    if field_name == "policy_basis":
        return "\n".join("|".join([b["name"], b.get("number", ""), b.get("article", "")]).rstrip("|") for b in value)
    if isinstance(value, list):
        return "\n".join(value)
    if field_name == "status":
        return services.STATUSES.get(value, value)
    return value or ""


WIDTHS = {"id": 8, "category": 14, "level": 8, "status": 10, "review_date": 12, "question": 30}


def export_xlsx(entries: list[Entry]) -> bytes:
    wb = xlsx.new_workbook()
    rows = ([_cell(f, data[f]) for f, _ in COLUMNS] for data in (e.as_data() for e in entries))
    xlsx.add_sheet(wb, SHEET, [header for _, header in COLUMNS], rows,
                   widths=[WIDTHS.get(name, 40) for name, _ in COLUMNS], freeze="C2", wrap=True)
    return xlsx.to_bytes(wb)


# --- import --------------------------------------------------------------------------------------

@dataclass
class PlannedChange:
    entry_id: str
    kind: str  # 新增 / 修改 / 无变化
    fields: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportPlan:
    source: str
    changes: list[PlannedChange]

    @property
    def created(self) -> int:
        return sum(c.kind == "新增" for c in self.changes)

    @property
    def updated(self) -> int:
        return sum(c.kind == "修改" for c in self.changes)

    @property
    def unchanged(self) -> int:
        return sum(c.kind == "无变化" for c in self.changes)


def _header_field(text: str) -> str | None:
    text = (text or "").strip()
    for name, header in COLUMNS:
        if text in (name, header, header.split("(")[0], FIELD_LABELS[name]):
            return name
    return None


def _read_xlsx(content: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Rows as (place, data); every problem is collected and raised together."""
    try:
        title, sheet = uploads.read_sheet(content, SHEET_LIMITS, SHEET)
    except uploads.UploadError as err:
        raise ImportError_([err.message]) from None
    rows = iter(sheet)
    header = next(rows, None)
    errors: list[str] = []
    where = f"工作表“{title}”"
    if not header:
        raise ImportError_([f"{where}第1行:缺少表头"])
    columns: dict[int, str] = {}
    for idx, text in enumerate(header):
        if text is None or str(text).strip() == "":
            continue
        name = _header_field(str(text))
        if name is None:
            errors.append(f"{where}第1行{get_column_letter(idx + 1)}列:无法识别的列名“{text}”")
        elif name in columns.values():
            errors.append(f"{where}第1行{get_column_letter(idx + 1)}列:列“{text}”重复")
        else:
            columns[idx] = name
    missing = [dict(COLUMNS)[f] for f in REQUIRED if f not in columns.values()]
    if missing:
        errors.append(f"{where}第1行:缺少必填列:{'、'.join(missing)}")
    if errors:
        raise ImportError_(errors)
    letters = {name: get_column_letter(idx + 1) for idx, name in columns.items()}
    out = []
    for rownum, row in enumerate(rows, start=2):
        if row is None or all(v is None or str(v).strip() == "" for v in row):
            continue
        data = {name: (row[idx] if idx < len(row) else None) for idx, name in columns.items()}
        for name in ("id", "question", "answer", "category", "level", "status"):
            if isinstance(data.get(name), (int, float)):
                data[name] = str(data[name])
        out.append((f"{where}第{rownum}行", data, letters))
    if not out:
        raise ImportError_([f"{where}:没有数据行"])
    return out


def _read_yaml(path: Path) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    if not files:
        raise ImportError_([f"{path}:目录中没有YAML文件"])
    out = []
    errors = []
    for file in files:
        if file.stat().st_size > MAX_IMPORT_BYTES:
            errors.append(f"{file.name}:文件过大(超过{MAX_IMPORT_BYTES // 1024 // 1024}MB)")
            continue
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            errors.append(f"{file.name}:不是有效的YAML({str(err).splitlines()[0]})")
            continue
        items = doc if isinstance(doc, list) else [doc]
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                errors.append(f"{file.name}第{n}条:应为键值对象")
                continue
            place = file.name if len(items) == 1 else f"{file.name}第{n}条"
            out.append((place, item, {}))
    if errors:
        raise ImportError_(errors)
    return out


def read_rows(path: Path, content: bytes | None = None) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        if content is None:
            if path.stat().st_size > MAX_IMPORT_BYTES:
                raise ImportError_([f"文件过大(超过{MAX_IMPORT_BYTES // 1024 // 1024}MB),请拆分后导入"])
            content = path.read_bytes()
        if len(content) > MAX_IMPORT_BYTES:
            raise ImportError_([f"文件过大(超过{MAX_IMPORT_BYTES // 1024 // 1024}MB),请拆分后导入"])
        return _read_xlsx(content)
    if suffix in (".yaml", ".yml") or path.is_dir():
        return _read_yaml(path)
    raise ImportError_([f"不支持的文件类型:{path.suffix or '(无扩展名)'};请导入.xlsx或YAML"])


def plan_import(rows: list[tuple[str, dict[str, Any], dict[str, str]]], source: str) -> ImportPlan:
    """Validate every row first; any error refuses the whole import with every problem listed."""
    errors: list[str] = []
    seen: dict[str, str] = {}
    changes = []
    for place, data, letters in rows:
        try:
            cleaned = services.clean_entry(data)
        except DomainError as err:
            column = f"{letters[err.field]}列" if err.field in letters else ""
            label = f"({FIELD_LABELS.get(err.field, err.field)})" if err.field and column else ""
            errors.append(f"{place}{column}{label}:{err.message}")
            continue
        if cleaned["id"] in seen:
            column = f"{letters['id']}列" if "id" in letters else ""
            errors.append(f"{place}{column}:编号{cleaned['id']}重复(与{seen[cleaned['id']]}相同)")
            continue
        seen[cleaned["id"]] = place
        existing = services.session.get(Entry, cleaned["id"])
        if existing is None:
            changes.append(PlannedChange(cleaned["id"], "新增", data=cleaned))
            continue
        current = existing.as_data()
        changed = [FIELD_LABELS[k] for k in cleaned if k != "id" and current.get(k) != cleaned[k]]
        changes.append(PlannedChange(cleaned["id"], "修改" if changed else "无变化", changed, cleaned))
    if errors:
        raise ImportError_(errors)
    return ImportPlan(source, changes)


def apply_import(plan: ImportPlan, *, actor, now: datetime) -> ImportPlan:
    for change in plan.changes:
        if change.kind != "无变化":
            services.save_entry(actor=actor, now=now, data=change.data, note=f"导入 {plan.source}")
    services.audit.record("import", "kb_entry", "", actor=actor, now=now, changes={
        "source": plan.source, "created": plan.created, "updated": plan.updated, "unchanged": plan.unchanged})
    return plan


# --- staged uploads (the import page: upload and preview, then confirm) ---------------------------

STAGED_PREFIX = "kb-import-"
#: A previewed upload neither confirmed nor cancelled within this time is removed at the next upload.
STAGED_MAX_AGE = timedelta(days=1)


def stage_upload(directory: Path, filename: str, content: bytes, *, now: datetime) -> tuple[str, ImportPlan]:
    """Keep an uploaded file under a random token and plan its import; nothing in the database changes.

    A file that fails validation is not kept; files staged more than a day ago are removed."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".xlsx", ".yaml", ".yml"):
        raise ImportError_(["只能导入.xlsx或YAML文件"])
    if len(content) > MAX_IMPORT_BYTES:
        raise ImportError_([f"文件过大(超过{MAX_IMPORT_BYTES // 1024 // 1024}MB),请拆分后导入"])
    directory.mkdir(parents=True, exist_ok=True)
    purge_staged(directory, now)
    token = secrets.token_hex(16)
    path = directory / f"{STAGED_PREFIX}{token}{suffix}"
    path.write_bytes(content)
    try:
        return token, plan_import(read_rows(path, content), filename)
    except DomainError:
        path.unlink(missing_ok=True)
        raise


def _staged(directory: Path, token: str) -> Path | None:
    if not token.isalnum() or len(token) > 64:
        raise ImportError_(["上传的文件标识无效,请重新上传"])
    return next(iter(sorted(directory.glob(f"{STAGED_PREFIX}{token}.*"))), None)


def apply_staged(directory: Path, token: str, filename: str, *, actor, now: datetime) -> ImportPlan:
    """Validate the staged file again (the entries may have changed since the preview) and import it.

    The staged file is removed whatever the outcome: a refused import is uploaded again after fixing."""
    path = _staged(directory, token)
    if path is None:
        raise ImportError_(["上传的文件已过期,请重新上传"])
    try:
        return apply_import(plan_import(read_rows(path), filename or path.name), actor=actor, now=now)
    finally:
        path.unlink(missing_ok=True)


def discard_staged(directory: Path, token: str) -> None:
    """The editor cancelled after the preview."""
    path = _staged(directory, token)
    if path is not None:
        path.unlink(missing_ok=True)


def purge_staged(directory: Path, now: datetime) -> int:
    """Remove staged uploads older than STAGED_MAX_AGE (previewed, then neither confirmed nor cancelled)."""
    removed = 0
    for path in directory.glob(f"{STAGED_PREFIX}*"):
        try:
            if now.timestamp() - path.stat().st_mtime > STAGED_MAX_AGE.total_seconds():
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
