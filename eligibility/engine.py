"""The hint engine (初步研判): each programme's rule file, read against what the caller said.

A rule is a list of conditions (eligibility/data/<program>.yaml), each naming a check below and the plain
sentence an editor reads. Every check answers yes, no or "not known yet" (with the facts it still
needs), so a programme comes out likely (every condition holds), unlikely (one fails, with its reason)
or need_info (none fails, some are unknown: the missing facts). Figures come only from local parameters;
an unset one makes the verdict need_info naming it — never a wrong "likely". It never decides: the
notice says so on every result.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from eligibility.household import PROGRAMS, Household, Member

DATA = Path(__file__).resolve().parent / "data"
#: On every result: a hint, never a decision (the short form on each programme, the long one on the whole).
NOTICE_SHORT = "初步研判，以审核确认为准"
NOTICE = f"{NOTICE_SHORT}：仅供参考，是否符合由乡镇（街道）和民政部门审核确认。"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass
class Check:
    value: bool | None
    says: str
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    value: float | None
    unit: str

    @property
    def monthly(self) -> float | None:
        """The figure per person per month (a yearly standard divided by twelve)."""
        if self.value is None:
            return None
        return self.value / 12 if "年" in self.unit else self.value

    @property
    def shown(self) -> str:
        return f"{self.value:g}{self.unit}" if self.value is not None else f"【未设置：{self.name}】"


def parameters_from(states: dict) -> dict[str, Parameter]:
    """The knowledge base's local parameters (kb.services.parameter_states) as numbers."""
    found = {}
    for name, state in states.items():
        match = _NUMBER.search(state.value or "")
        found[name] = Parameter(name, state.label, float(match.group()) if match else None, state.unit)
    return found


@dataclass
class Context:
    household: Household
    params: dict[str, Parameter]
    verdicts: dict[str, str] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)

    def param(self, name: str) -> Parameter:
        return self.params.get(name) or Parameter(name, name, None, "")


def _yuan(amount: float) -> str:
    return f"{amount:,.0f}元"


# --- the checks ---------------------------------------------------------------------------------

CHECKS: dict[str, Callable[..., Check]] = {}


def check(fn: Callable[..., Check]) -> Callable[..., Check]:
    CHECKS[fn.__name__] = fn
    return fn


def _standard(ctx: Context, base: str) -> tuple[Parameter | None, Check | None]:
    hukou = ctx.household.hukou
    if hukou is None:
        return None, Check(None, "还不知道是城市户口还是农村户口（决定适用哪个标准）", ["hukou"])
    param = ctx.param(f"{base}_{'城市' if hukou == 'urban' else '农村'}")
    if param.monthly is None:
        return None, Check(None, f"本地{param.label}未设置，需核对本地标准", [f"parameter:{param.name}"])
    return param, None


def _income(ctx: Context) -> tuple[float | None, Check | None]:
    income = ctx.household.monthly_income_per_capita
    if income is None:
        return None, Check(None, "还不知道家庭人均月收入", ["monthly_income_per_capita"])
    return income, None


@check
def income_below(ctx: Context, standard: str, multiple: str = "") -> Check:
    """Per-capita monthly income below the local standard (× a local multiple)."""
    param, unknown = _standard(ctx, standard)
    income, no_income = _income(ctx)
    if unknown or no_income:
        said = [c for c in (no_income, unknown) if c]
        return Check(None, "；".join(c.says for c in said), [f for c in said for f in c.missing])
    times = 1.0
    label = param.label
    if multiple:
        m = ctx.param(multiple)
        if m.value is None:
            return Check(None, f"本地{m.label}未设置，需核对本地规定", [f"parameter:{multiple}"])
        times, label = m.value, f"{param.label}的{m.value:g}倍"
    line = param.monthly * times
    below = income < line
    return Check(below, f"家庭人均月收入约{_yuan(income)}，{'低于' if below else '不低于'}{label}"
                        f"（约{_yuan(line)}/人·月）")


@check
def income_at_least(ctx: Context, standard: str) -> Check:
    """Per-capita monthly income at or above the local standard (not eligible for 低保 itself)."""
    below = income_below(ctx, standard)
    if below.value is None:
        return below
    return Check(not below.value, below.says if not below.value else f"{below.says}，可以全家申请低保")


@check
def assets_within_limits(ctx: Context) -> Check:
    assets = ctx.household.assets
    if assets is None:
        return Check(None, "还不知道家里的房、车、存款等财产情况", ["assets"])
    ok = assets == "within_limits"
    return Check(ok, "家庭财产在本地规定范围内" if ok else "家庭财产超过本地规定（如有第二套房、非营运车辆或大额存款）")


@check
def not_receiving(ctx: Context, programs: list[str], says: str = "") -> Check:
    held = [p for p in programs if p in ctx.household.current_benefits]
    return Check(not held, says if not held else f"已经在享受{PROGRAM_NAMES.get(held[0], held[0])}")


@check
def in_program(ctx: Context, programs: list[str]) -> Check:
    """Already receives, or is likely to get, one of `programs` (whose verdicts are worked out first)."""
    names = "、".join(PROGRAM_NAMES[p] for p in programs)
    held = [p for p in programs if p in ctx.household.current_benefits]
    if held:
        return Check(True, f"已经在享受{PROGRAM_NAMES[held[0]]}")
    likely = [p for p in programs if ctx.verdicts.get(p) == "likely"]
    if likely:
        return Check(True, f"家庭可能符合{PROGRAM_NAMES[likely[0]]}条件")
    open_ = [p for p in programs if ctx.verdicts.get(p) == "need_info"]
    if open_:
        facts = list(dict.fromkeys(f for p in open_ for f in ctx.missing.get(p, [])))
        return Check(None, f"要先弄清家庭是否符合{names}条件", facts + ["current_benefits"])
    return Check(False, f"家庭不是{names}对象，看情况也不太符合")


def _members(ctx: Context) -> list[Member]:
    return [m for m in ctx.household.members if not m.deceased]


def _severe(m: Member) -> bool:
    d = m.disability
    return d is not None and (d.grade <= 2 or (d.grade == 3 and d.kind in ("intellectual", "mental")))


@check
def member_severe_or_ill(ctx: Context) -> Check:
    """A member with a severe disability (一、二级；三级智力、精神) or a serious illness (单人保)."""
    members = _members(ctx)
    if any(_severe(m) or m.serious_illness for m in members):
        return Check(True, "家里有重度残疾或患重特大疾病的成员，可以单独申请")
    if not members or any(m.disability is None and m.serious_illness is None for m in members):
        return Check(None, "还不知道家里有没有重度残疾或重病的成员", ["members[].disability", "members[].serious_illness"])
    return Check(False, "家里没有重度残疾或重病的成员")


def _tekun_unable(m: Member) -> bool | None:
    """无劳动能力 as 《特困人员认定办法》 defines it (a null disability means none)."""
    d = m.disability
    if d is not None and ((d.kind in ("intellectual", "mental") and d.grade <= 3)
                          or (d.kind in ("physical", "multiple") and d.grade <= 2)
                          or (d.kind == "visual" and d.grade == 1)):
        return True
    if m.age is None:
        return None
    return m.age >= 60 or m.age < 18


@check
def member_without_work_ability(ctx: Context) -> Check:
    """Someone aged 60+, under 18, or with the disabilities the 特困 rules list."""
    members = _members(ctx)
    answers = [_tekun_unable(m) for m in members]
    if any(a is True for a in answers):
        return Check(True, "有无劳动能力的人（60岁以上、未成年或规定等级的残疾）")
    if not members or any(a is None for a in answers):
        return Check(None, "还不知道年龄和残疾情况（60岁以上、未成年、重度残疾算无劳动能力）",
                     ["members[].age", "members[].disability"])
    return Check(False, "家里的人都有劳动能力（不满60岁、成年、没有规定等级的残疾）")


@check
def no_able_supporter(ctx: Context) -> Check:
    supporters = ctx.household.legal_supporters
    if supporters is None:
        return Check(None, "还不知道有没有能尽赡养、抚养、扶养义务的亲属", ["legal_supporters"])
    if any(s.able_to_support for s in supporters):
        return Check(False, "有能够尽赡养（抚养、扶养）义务的亲属")
    if any(s.able_to_support is None for s in supporters):
        return Check(None, "还不知道法定赡养（抚养、扶养）人有没有能力", ["legal_supporters[].able_to_support"])
    return Check(True, "没有法定赡养（抚养、扶养）人，或者他们没有能力")


@check
def event_happened(ctx: Context, events: list[str], says: str) -> Check:
    happened = ctx.household.events
    if happened is None:
        return Check(None, "还不知道最近有没有遭遇火灾、车祸、急病或大额医疗支出", ["events"])
    hit = [e for e in happened if e in events]
    return Check(bool(hit), says if hit else "没有说到突发事件或大额支出")


@check
def medical_need(ctx: Context) -> Check:
    """Someone seriously ill, or a sudden illness or a large medical bill."""
    events = ctx.household.events or []
    if any(m.serious_illness for m in _members(ctx)) or {"sudden_illness", "large_medical_bill"} & set(events):
        return Check(True, "有人患重病，或有大额医疗费用")
    if ctx.household.events is None and all(m.serious_illness is None for m in _members(ctx)):
        return Check(None, "还不知道有没有人生病住院、看病花钱多", ["members[].serious_illness", "events"])
    return Check(False, "没有说到重病或大额医疗费用")


@check
def member_with_disability(ctx: Context, max_grade: int = 4) -> Check:
    members = _members(ctx)
    if not members:
        return Check(None, "还不知道家里有没有残疾人（残疾人证上的等级）", ["members[].disability"])
    if any(m.disability is not None and m.disability.grade <= max_grade for m in members):
        return Check(True, "家里有一、二级重度残疾人" if max_grade == 2 else "家里有持证残疾人")
    return Check(False, "家里没有一、二级重度残疾人" if max_grade == 2 else "没有说到家里有残疾人")


@check
def member_at_least_age(ctx: Context, parameter: str) -> Check:
    line = ctx.param(parameter)
    if line.value is None:
        return Check(None, f"本地{line.label}未设置，需核对本地规定", [f"parameter:{parameter}"])
    ages = [m.age for m in _members(ctx)]
    if any(a is not None and a >= line.value for a in ages):
        return Check(True, f"家里有{line.value:g}周岁以上的老人")
    if not ages or any(a is None for a in ages):
        return Check(None, "还不知道老人多大岁数", ["members[].age"])
    return Check(False, f"家里没有{line.value:g}周岁以上的老人")


@check
def member_student(ctx: Context) -> Check:
    members = _members(ctx)
    if any(m.student for m in members):
        return Check(True, "家里有在校学生")
    if not members or any(m.student is None and m.age is not None and 6 <= m.age <= 24 for m in members):
        return Check(None, "还不知道孩子是否在上学", ["members[].student"])
    return Check(False, "家里没有在校学生")


@check
def member_able_to_work(ctx: Context) -> Check:
    members = _members(ctx)
    able = [m for m in members if m.can_work and not m.student and (m.age is None or 16 <= m.age < 60)]
    if able:
        return Check(True, "家里有有劳动能力、处在劳动年龄的成员")
    if not members or any(m.can_work is None and (m.age is None or 16 <= m.age < 60) for m in members):
        return Check(None, "还不知道家里有没有能工作的成员", ["members[].can_work"])
    return Check(False, "家里没有有劳动能力的成员")


@check
def housing_difficulty(ctx: Context) -> Check:
    value = ctx.household.housing_difficulty
    if value is None:
        return Check(None, "还不知道住房有没有困难（危房、无房）", ["housing_difficulty"])
    return Check(value, "住房有困难（危房或无房）" if value else "没有说到住房困难")


@check
def stranded(ctx: Context) -> Check:
    value = ctx.household.stranded_away_from_home
    if value is None:
        return Check(None, "还不知道是不是在外地流浪或临时遇困、无钱回家", ["stranded_away_from_home"])
    return Check(value, "在外地流浪乞讨或临时遇困、无钱回家" if value else "不是在外地遇困")


# Children: whose parents are they? Relations are to the caller ("self").
def _parents_of(h: Household, child: Member) -> list[Member] | None:
    if child.relation == "self":
        return [m for m in h.members if m.relation == "parent"]
    if child.relation == "child":
        return [m for m in h.members if m.relation in ("self", "spouse")]
    if child.relation == "grandchild":
        return [m for m in h.members if m.relation == "child"]
    return None


def _minors(h: Household) -> list[Member]:
    return [m for m in h.members if m.age is not None and m.age < 18 and not m.deceased]


def _gone(p: Member) -> bool | None:
    if p.deceased:
        return True
    if p.missing_months is not None and p.missing_months >= 6:
        return True
    if p.deceased is None and p.missing_months is None and p.in_prison_months is None \
            and p.disability is None and p.serious_illness is None:
        return None  # nothing said of this parent yet
    return False


def _unable_parent(p: Member) -> bool | None:
    """重残、重病、服刑在押、强制隔离戒毒或失联 (6 months or more)."""
    if (p.disability is not None and p.disability.grade <= 2) or p.serious_illness:
        return True
    if (p.in_prison_months or 0) >= 6 or (p.missing_months or 0) >= 6:
        return True
    if p.disability is None and p.serious_illness is None and p.in_prison_months is None and p.missing_months is None:
        return None
    return False


def _children_check(ctx: Context, test: Callable[[list[Member]], bool | None], yes: str, no: str) -> Check:
    minors = _minors(ctx.household)
    if not minors:
        if any(m.age is None for m in ctx.household.members):
            return Check(None, "还不知道孩子的年龄", ["members[].age"])
        return Check(False, "家里没有未满18周岁的孩子")
    answers = []
    for child in minors:
        parents = _parents_of(ctx.household, child)
        if parents is None:
            answers.append(None)
            continue
        unknown = Member(relation="other")  # a parent the caller has not spoken of yet
        answers.append(test((parents + [unknown, unknown])[:2]))
    if any(a is True for a in answers):
        return Check(True, yes)
    if any(a is None for a in answers):
        return Check(None, "还需要问清孩子父母双方的情况（去世、失联、服刑、重残重病）",
                     ["members[].deceased", "members[].missing_months", "members[].in_prison_months"])
    return Check(False, no)


def _orphan(parents: list[Member]) -> bool | None:
    gone = [_gone(p) for p in parents]
    if all(g is True for g in gone):
        return True
    if any(g is False for g in gone):
        return False
    return None


def _de_facto(parents: list[Member]) -> bool | None:
    states = []
    for p in parents:
        gone, unable = _gone(p), _unable_parent(p)
        states.append("gone" if gone else "unable" if unable else None if gone is None or unable is None else "ok")
    if "ok" in states:
        return False
    if None in states:
        return None
    return states != ["gone", "gone"]  # both gone: an orphan, not 事实无人抚养


@check
def orphan_child(ctx: Context) -> Check:
    return _children_check(ctx, _orphan, "孩子父母双方都已去世或下落不明", "孩子的父母不是都已去世或下落不明")


@check
def de_facto_orphan_child(ctx: Context) -> Check:
    return _children_check(ctx, _de_facto, "孩子父母双方都无法抚养（重残、重病、服刑在押或失联满6个月，或一方去世另一方如此）",
                            "孩子父母至少有一方能够抚养")


# --- the rule files --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    program: str
    name: str
    entry_ids: tuple[str, ...]
    basis: str
    where: str
    materials: str
    conditions: tuple[dict, ...]
    depends_on: tuple[str, ...]


@functools.cache
def rules() -> dict[str, Rule]:
    """Every programme's rule, in the order dependencies need (a rule naming others' verdicts comes after)."""
    loaded = {}
    for path in sorted(DATA.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        conditions = tuple(data["all"])
        for c in conditions:
            if c["check"] not in CHECKS:
                raise ValueError(f"{path.name}: unknown check {c['check']}")
        depends = tuple(p for c in conditions if c["check"] in ("in_program",) for p in c["programs"])
        loaded[data["program"]] = Rule(data["program"], data["name"], tuple(data.get("entry_ids", [])),
                                       data.get("basis", ""), data.get("where", ""), data.get("materials", ""),
                                       conditions, depends)
    missing = set(PROGRAMS) - set(loaded)
    if missing:
        raise ValueError(f"no rule file for {sorted(missing)}")
    ordered: dict[str, Rule] = {}
    while len(ordered) < len(loaded):
        for code, rule in loaded.items():
            if code not in ordered and all(d in ordered for d in rule.depends_on):
                ordered[code] = rule
    return ordered


@functools.cache
def rules_version() -> str:
    """The rule files' fingerprint (SHA-256 of their text, 12 hex digits): a saved check names the rules it used."""
    digest = hashlib.sha256()
    for path in sorted(DATA.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


PROGRAM_NAMES = {"dibao": "低保", "dibao_single": "单人保（单独纳入低保）", "dibao_edge": "低保边缘家庭认定",
                 "tekun": "特困人员救助供养", "temporary": "临时救助", "medical": "医疗救助",
                 "insurance_subsidy": "城乡居民医保个人缴费资助", "disability_living": "困难残疾人生活补贴",
                 "disability_care": "重度残疾人护理补贴", "orphan": "孤儿基本生活费",
                 "de_facto_orphan": "事实无人抚养儿童基本生活补贴", "elderly_allowance": "高龄津贴",
                 "education": "教育救助", "housing": "住房救助", "employment": "就业救助",
                 "vagrant": "流浪乞讨人员救助"}


@dataclass
class Verdict:
    program: str
    name: str
    verdict: str
    reasons: list[str]
    missing: list[str]
    entry_ids: list[str]
    where: str
    materials: str

    def as_json(self) -> dict:
        return {"program": self.program, "name": self.name, "verdict": self.verdict, "reasons": self.reasons,
                "missing": self.missing, "entry_ids": self.entry_ids, "where": self.where, "materials": self.materials,
                "notice": NOTICE_SHORT}


def evaluate(household: Household, params: dict[str, Parameter]) -> list[Verdict]:
    ctx = Context(household, params)
    verdicts = []
    for code, rule in rules().items():
        checks = []
        for cond in rule.conditions:
            args = {k: v for k, v in cond.items() if k not in ("check", "text")}
            checks.append(CHECKS[cond["check"]](ctx, **args))
        failed = [c for c in checks if c.value is False]
        unknown = [c for c in checks if c.value is None]
        if failed:
            verdict, reasons, missing = "unlikely", [failed[0].says], []
        elif unknown:
            verdict = "need_info"
            reasons = list(dict.fromkeys(c.says for c in unknown))  # two checks may wait on the same parameter
            missing = list(dict.fromkeys(m for c in unknown for m in c.missing))
        else:
            # The figures first; "not already receiving X" last.
            order = sorted(zip(rule.conditions, checks, strict=True), key=lambda pair: pair[0]["check"] == "not_receiving")
            verdict, reasons, missing = "likely", list(dict.fromkeys(c.says for _cond, c in order)), []
        ctx.verdicts[code] = verdict
        ctx.missing[code] = missing
        verdicts.append(Verdict(code, rule.name, verdict, reasons, missing, list(rule.entry_ids), rule.where,
                                rule.materials))
    return verdicts


def questions(verdicts: list[Verdict]) -> list[dict]:
    """What to ask next: the missing facts of undecided programmes, the one that settles most first."""
    counts: dict[str, list[str]] = {}
    for v in verdicts:
        if v.verdict == "need_info":
            for fact in v.missing:
                counts.setdefault(fact, []).append(v.program)
    return [{"fact": fact, "programs": programs}
            for fact, programs in sorted(counts.items(), key=lambda item: (-len(item[1]), item[0]))]
