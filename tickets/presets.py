"""Time-limit presets: whole tables of limits (kind × urgency), shipped as examples and edited by admins.

A preset is complete or it is refused: every kind and urgency needs its first-contact, closure and
callback limit, all problems are named at once and nothing is written. Exactly one preset is active;
new tickets take their limits from it (tickets.policy). Each edit is a new version, kept and audited.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update

from audit import services as audit
from core.db import session
from core.errors import Conflict, NotFound
from core.models import User
from tickets.models import FIRST_CONTACT_UNITS, KINDS, URGENCIES, DeadlinePreset, DeadlinePresetVersion
from tickets.policy import DEFAULT_POLICIES, Policy, table_from_json
from tickets.validation import TicketError

EXAMPLES = Path(__file__).parent / "data" / "presets"
#: Largest amount of each unit a limit may have.
MAX_AMOUNT = {"hours": 720, "working_days": 120}
_UNIT_WORDS = {"小时": "hours", "hours": "hours", "hour": "hours", "h": "hours",
               "工作日": "working_days", "个工作日": "working_days", "working_days": "working_days",
               "working_day": "working_days"}
_LIMIT = re.compile(r"^\s*(\d+)\s*(\S+)\s*$")
_PARTS = (("first_contact", "首次联系"), ("closure", "办结"), ("callback", "回访"))


class PresetError(TicketError):
    """A refused preset: `problems` lists every gap and bad value, `message` sums them up."""

    def __init__(self, problems: list[str], **kwargs: Any) -> None:
        super().__init__("时限预设有误：" + "；".join(problems) + "。", code="invalid_preset", **kwargs)
        self.problems = problems


def _limit(value: Any) -> tuple[int, str] | None:
    """"2 小时", "10 工作日", {"amount": 2, "unit": "hours"} or [2, "hours"] as (amount, unit); None if unreadable."""
    if isinstance(value, dict):
        value = [value.get("amount"), value.get("unit")]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        amount, unit = value
    elif isinstance(value, str) and (match := _LIMIT.match(value)):
        amount, unit = match.group(1), match.group(2)
    else:
        return None
    unit = _UNIT_WORDS.get(str(unit).strip().lower())
    if unit is None or isinstance(amount, bool) or not str(amount).strip().isdigit():
        return None
    return int(str(amount).strip()), unit


def _row_limit(row: dict[str, Any], part: str) -> Any:
    """A row's limit, given as one value (`closure: 2 工作日`) or as amount and unit fields."""
    if part in row:
        return row[part]
    if part == "callback" and "callback_working_days" in row:
        return [row["callback_working_days"], "working_days"]
    return [row.get(f"{part}_amount"), row.get(f"{part}_unit")] if f"{part}_amount" in row else None


def validate(rows: Any) -> list[Policy]:
    """The rows of a table as policies, in kind and urgency order; every problem raised at once."""
    if not isinstance(rows, list) or not rows:
        raise PresetError(["请填写时限表（每种工单类型和紧急程度各一行）"], field="limits")
    problems: list[str] = []
    table: dict[tuple[str, str], Policy] = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            problems.append(f"第{number}行不是一条时限")
            continue
        kind, urgency = row.get("kind"), row.get("urgency")
        if kind not in KINDS or urgency not in URGENCIES:
            problems.append(f"第{number}行的工单类型或紧急程度不认识（{kind}/{urgency}）")
            continue
        name = f"{KINDS[kind]}/{URGENCIES[urgency]}"
        if (kind, urgency) in table:
            problems.append(f"{name}重复填写")
            continue
        limits: dict[str, tuple[int, str]] = {}
        for part, label in _PARTS:
            limit = _limit(_row_limit(row, part))
            if limit is None:
                problems.append(f"{name}缺少{label}时限（如“2 小时”或“5 工作日”）")
            elif not 1 <= limit[0] <= MAX_AMOUNT[limit[1]]:
                problems.append(f"{name}的{label}时限应为1到{MAX_AMOUNT[limit[1]]}{FIRST_CONTACT_UNITS[limit[1]]}")
            elif part == "closure" and limit[1] == "hours" and urgency != "urgent":
                problems.append(f"{name}的办结时限应按工作日计（按小时计的只有急难件）")
            elif part == "callback" and limit[1] != "working_days":
                problems.append(f"{name}的回访时限应按工作日计")
            else:
                limits[part] = limit
        if len(limits) == len(_PARTS):
            table[(kind, urgency)] = Policy(kind, urgency, *limits["first_contact"], *limits["closure"],
                                            callback_working_days=limits["callback"][0])
    gaps = [f"{KINDS[k]}/{URGENCIES[u]}" for k, u in DEFAULT_POLICIES if (k, u) not in table
            and not any(p.startswith(f"{KINDS[k]}/{URGENCIES[u]}") for p in problems)]
    if gaps:
        problems.append(f"缺少{'、'.join(gaps)}的时限")
    if problems:
        raise PresetError(problems, field="limits")
    return [table[key] for key in DEFAULT_POLICIES]


def table_json(policies: list[Policy]) -> str:
    return audit.canonical([p.__dict__ for p in policies])


def policies_of(preset: DeadlinePreset) -> list[Policy]:
    table = table_from_json(preset.table_json)
    return [table[key] for key in DEFAULT_POLICIES if key in table]


# --- reading ------------------------------------------------------------------------------------

def list_presets() -> list[DeadlinePreset]:
    return list(session.execute(select(DeadlinePreset).order_by(DeadlinePreset.active.desc(),
                                                                DeadlinePreset.id)).scalars())


def get_preset(preset_id: Any) -> DeadlinePreset:
    preset = session.get(DeadlinePreset, preset_id) if str(preset_id).isdigit() else None
    if preset is None:
        raise NotFound("该时限预设不存在")
    return preset


def active_preset() -> DeadlinePreset | None:
    return session.execute(select(DeadlinePreset).where(DeadlinePreset.active.is_(True))
                           .order_by(DeadlinePreset.id).limit(1)).scalar_one_or_none()


def examples() -> list[dict[str, Any]]:
    """The shipped example presets (tickets/data/presets/*.yaml), as read from their files."""
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES.glob("*.yaml"))]


# --- changing (admins) ----------------------------------------------------------------------------

def _name(value: Any, *, keep: DeadlinePreset | None = None) -> str:
    name = str(value or "").strip()
    if not name:
        raise PresetError(["请填写预设名称"], field="name")
    if len(name) > 50:
        raise PresetError(["预设名称不能超过50字"], field="name")
    clash = session.execute(select(DeadlinePreset.id).where(DeadlinePreset.name == name)).scalar_one_or_none()
    if clash is not None and (keep is None or clash != keep.id):
        raise PresetError([f"已有名为“{name}”的时限预设，请换一个名称"], field="name")
    return name


def _version(preset: DeadlinePreset, actor: User | None, now: datetime) -> None:
    preset.versions.append(DeadlinePresetVersion(version=preset.version, name=preset.name,
                                                 table_json=preset.table_json, saved_at=now,
                                                 saved_by_id=actor.id if actor else None))


def create_preset(*, actor: User | None, now: datetime, name: Any, limits: Any, description: Any = "",
                  active: bool = False) -> DeadlinePreset:
    """A new preset (inactive unless `active` and no other preset is active: two active ones are refused)."""
    name = _name(name)
    policies = validate(limits)
    if active and active_preset() is not None:
        raise PresetError([f"已有启用中的时限预设“{active_preset().name}”，新预设请先保存，再用“启用”切换"],
                          field="active")
    preset = DeadlinePreset(name=name, description=str(description or "").strip()[:1000], active=bool(active),
                            table_json=table_json(policies), version=1, created_at=now, updated_at=now,
                            updated_by_id=actor.id if actor else None)
    session.add(preset)
    _version(preset, actor, now)
    session.flush()
    audit.record("create", "deadline_preset", preset.id, actor=actor, now=now,
                 changes={"after": {"name": name, "active": preset.active, "limits": json.loads(preset.table_json)}})
    return preset


def update_preset(*, actor: User, now: datetime, preset: DeadlinePreset, version: Any, limits: Any,
                  name: Any = None, description: Any = None) -> DeadlinePreset:
    """Save a new version of a preset's table (and name, description); the editor's version must be current."""
    if str(version) != str(preset.version):
        raise Conflict(f"该预设已被他人修改（当前为第{preset.version}版），请刷新后重试", code="stale_version")
    new_name = _name(name, keep=preset) if name not in (None, "") else preset.name
    policies = validate(limits)
    before = {"name": preset.name, "description": preset.description, "limits": json.loads(preset.table_json)}
    preset.name = new_name
    if description is not None:
        preset.description = str(description).strip()[:1000]
    preset.table_json = table_json(policies)
    after = {"name": preset.name, "description": preset.description, "limits": json.loads(preset.table_json)}
    changes = audit.diff(before, after)
    if not changes["after"]:
        return preset
    preset.version += 1
    preset.updated_at, preset.updated_by_id = now, actor.id
    _version(preset, actor, now)
    session.flush()
    changes["version"] = preset.version
    audit.record("update", "deadline_preset", preset.id, actor=actor, now=now, changes=changes)
    return preset


def activate(*, actor: User | None, now: datetime, preset: DeadlinePreset) -> DeadlinePreset:
    """Make this preset the one new tickets follow; the one active before stops (tickets keep their limits)."""
    previous = active_preset()
    if previous is not None and previous.id == preset.id:
        return preset
    session.execute(update(DeadlinePreset).where(DeadlinePreset.id != preset.id, DeadlinePreset.active.is_(True))
                    .values(active=False))
    preset.active, preset.updated_at = True, now
    session.flush()
    audit.record("activate", "deadline_preset", preset.id, actor=actor, now=now,
                 changes={"name": preset.name, "before": {"active": previous.name if previous else None}})
    return preset


def seed_presets(now: datetime) -> str:
    """Add the shipped example presets that are missing by name (init loader; never changes an admin's
    edits); the one marked active becomes active only when no preset is."""
    existing = {name for name in session.execute(select(DeadlinePreset.name)).scalars()}
    added = 0
    for example in examples():
        if example["name"] in existing:
            continue
        wants_active = bool(example.get("active")) and active_preset() is None
        create_preset(actor=None, now=now, name=example["name"], description=example.get("description", ""),
                      limits=example["limits"], active=wants_active)
        added += 1
    return f"deadline presets added: {added}"


def preset_json(preset: DeadlinePreset) -> dict[str, Any]:
    return {"id": preset.id, "name": preset.name, "description": preset.description, "active": preset.active,
            "version": preset.version,
            "limits": [{"kind": p.kind, "urgency": p.urgency,
                        "first_contact": {"amount": p.first_contact_amount, "unit": p.first_contact_unit},
                        "closure": {"amount": p.closure_amount, "unit": p.closure_unit},
                        "callback": {"amount": p.callback_working_days, "unit": "working_days"},
                        "text": f"首次联系{p.first_contact_label}，办结{p.closure_label}，回访{p.callback_label}"}
                       for p in policies_of(preset)]}
