"""The mystery-call rubric: what a supervisor observed → a score, pass/fail and fault types.

Pure. Everything about a fault — its label, the sentence a finding tells it in, the measure a unit must
take — is one row of FAULTS. The shipped weights can be overridden by HOTLINE_SPOTCHECK_RUBRIC
(`Rubric.from_config` refuses a key it does not know); supervisors change them, and the faults' labels and
measures, on the rubric page, as versions an admin approves (rubrics.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Protocol

from core.config import ConfigError


class Called(Protocol):
    """What a finding sentence reads from a logged call (a MysteryCall)."""

    ring_seconds: int
    correctness: str
    question: str
    attitude: int | None


def _wrong_answer(call: Called) -> str:
    if call.correctness == "none":
        return "未能答复来电人咨询的问题"
    return f"对“{call.question or '所咨询的问题'}”答复错误"


@dataclass(frozen=True)
class Fault:
    key: str
    #: Shown on pages, reports and notices.
    label: str
    #: The finding as a notice tells it, from the logged call.
    finding: Callable[[Called], str]
    #: What the unit is required to do about it.
    measure: str
    #: Where the finding comes in a notice's sentence: the ringing, the answer, then how the call was taken.
    told: int


#: Fault types, in the order notices and reports list them.
FAULTS: tuple[Fault, ...] = (
    Fault("no_answer", "未接通", lambda call: f"拨打电话响铃{call.ring_seconds}秒无人接听",
          "落实专人值守，确保服务时间内电话畅通", told=0),
    Fault("deflection", "推诿", lambda call: "电话虽已接听，但推诿不予受理",
          "落实首问负责，不得推诿，群众诉求当场受理或告知办理途径", told=2),
    Fault("wrong_answer", "答复错误", _wrong_answer,
          "组织接听人员学习社会救助政策和答复口径，确保答复准确", told=3),
    Fault("poor_attitude", "态度差", lambda call: f"服务态度较差（评{call.attitude}分）",
          "加强服务礼仪培训，文明规范接听", told=5),
    Fault("anonymous", "未报姓名工号", lambda call: "接听人员未报姓名或工号",
          "接听时主动报出姓名或工号", told=4),
    Fault("slow_answer", "超时未接", lambda call: f"电话响铃{call.ring_seconds}秒后才接听",
          "来电响铃后及时接听", told=1),
)
FAULT_BY_KEY: dict[str, Fault] = {fault.key: fault for fault in FAULTS}
#: key → label, in list order.
FAULT_TYPES: dict[str, str] = {fault.key: fault.label for fault in FAULTS}
#: key → required measure.
MEASURES: dict[str, str] = {fault.key: fault.measure for fault in FAULTS}


def findings(call: Called, faults: list[str]) -> list[str]:
    """The finding sentences of a call's faults, in the order a notice tells them."""
    known = sorted((FAULT_BY_KEY[key] for key in faults if key in FAULT_BY_KEY), key=lambda fault: fault.told)
    return [fault.finding(call) for fault in known]


def measures(faults: list[str], texts: Mapping[str, str] = MEASURES) -> str:
    """The measures required for these faults, as one sentence (in the faults' order)."""
    return "；".join(texts[key] for key in faults if key in texts) + "。"


class RubricError(ValueError):
    """A rubric that cannot score fairly; the message says why in the supervisor's words."""


#: The criteria whose full marks make up the 100 points: (field, label, how many times the field counts).
CRITERIA: tuple[tuple[str, str, int], ...] = (
    ("late", "接听及时", 1),
    ("anonymous", "主动报姓名或工号", 1),
    ("wrong", "答复准确", 1),
    ("deflect", "不推诿、当场受理", 1),
    ("attitude", "服务态度（每档分值×4档）", 4),
)
#: Sensible bounds of the other settings: field → (label, lowest, highest).
BOUNDS: dict[str, tuple[str, int, int]] = {
    "ring": ("响铃时限（秒）", 1, 120),
    "partial": ("答复部分正确扣分", 0, 100),
    "poor_attitude": ("态度差的分档", 1, 4),
    "pass_mark": ("合格分数线", 1, 100),
    **{name: (label, 0, 100) for name, label, _ in CRITERIA},
}


@dataclass(frozen=True)
class Rubric:
    """The weights: full marks of each criterion (they add up to 100), the ring-time limit and the pass
    mark; with the fault types' labels and measures (the shipped ones unless a version changed them)."""

    #: Seconds of ringing after which a connected call counts as 超时未接 (GB/T 33358: answer within 15 s).
    ring: int = 15
    #: Full marks of each criterion, lost when it is missed.
    late: int = 10
    anonymous: int = 10
    #: Points off for a partly correct answer (at most the full marks of 答复准确).
    partial: int = 20
    wrong: int = 40
    deflect: int = 20
    #: Points per attitude step below 5 (four steps: 5 → 1).
    attitude: int = 5
    #: An attitude at or below this is 态度差.
    poor_attitude: int = 2
    #: Lowest passing score (a call with any fault fails whatever its score).
    pass_mark: int = 60
    #: Fault key → label and → measure, as this rubric names them.
    labels: Mapping[str, str] = field(default_factory=lambda: dict(FAULT_TYPES), compare=True)
    measures: Mapping[str, str] = field(default_factory=lambda: dict(MEASURES), compare=True)

    @classmethod
    def weight_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name not in ("labels", "measures"))

    @classmethod
    def known_keys(cls) -> tuple[str, ...]:
        """The keys HOTLINE_SPOTCHECK_RUBRIC accepts (`pass` sets pass_mark)."""
        return tuple("pass" if name == "pass_mark" else name for name in cls.weight_names())

    @classmethod
    def from_config(cls, overrides: Mapping[str, int] | None) -> Rubric:
        """The default rubric with these weights changed; an unknown key, or weights that do not make a
        fair rubric (see `problems`), is a ConfigError naming it."""
        values = dict(overrides or {})
        unknown = [key for key in values if key not in cls.known_keys()]
        if unknown:
            raise ConfigError(f"HOTLINE_SPOTCHECK_RUBRIC: unknown key {', '.join(map(repr, unknown))}; "
                              f"known keys: {', '.join(cls.known_keys())}")
        if "pass" in values:
            values["pass_mark"] = values.pop("pass")
        rubric = replace(cls(), **values)
        if rubric.problems():
            raise ConfigError(f"HOTLINE_SPOTCHECK_RUBRIC: {'；'.join(rubric.problems())}")
        return rubric

    @property
    def total(self) -> int:
        """The full marks the criteria add up to (a fair rubric: 100)."""
        return sum(getattr(self, name) * times for name, _, times in CRITERIA)

    def problems(self) -> list[str]:
        """Why this rubric cannot be used, in the supervisor's words; empty when it can."""
        found = []
        for name, (label, low, high) in BOUNDS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                found.append(f"{label}应为{low}到{high}之间的整数")
        if found:
            return found
        if self.total != 100:
            parts = "、".join(f"{label}{getattr(self, name) * times}分" for name, label, times in CRITERIA)
            found.append(f"各项分值合计应为100分，现为{self.total}分（{parts}）")
        if self.partial > self.wrong:
            found.append(f"答复部分正确扣{self.partial}分，不能多于答复错误扣的{self.wrong}分")
        for key, label in FAULT_TYPES.items():
            if not str(self.labels.get(key, "")).strip():
                found.append(f"问题类型“{label}”的名称不能为空")
            elif len(self.labels[key]) > 20:
                found.append(f"问题类型“{label}”的名称不能超过20字")
            if not str(self.measures.get(key, "")).strip():
                found.append(f"问题类型“{self.labels.get(key) or label}”的整改要求不能为空")
            elif len(self.measures[key]) > 200:
                found.append(f"问题类型“{self.labels.get(key) or label}”的整改要求不能超过200字")
        return found

    def weights(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.weight_names()}

    def label(self, key: str) -> str:
        return self.labels.get(key) or FAULT_TYPES.get(key, key)

    def required_measures(self, faults: list[str]) -> str:
        return measures(faults, {**MEASURES, **self.measures})

    def describe(self) -> list[str]:
        label = self.label
        return [
            f"未接通：0分，不合格（{label('no_answer')}）",
            f"响铃超过{self.ring}秒才接听：扣{self.late}分（{label('slow_answer')}）",
            f"未报姓名或工号：扣{self.anonymous}分（{label('anonymous')}）",
            f"推诿、不予受理：扣{self.deflect}分（{label('deflection')}）",
            f"答复部分正确：扣{self.partial}分；答复错误或未答复：扣{self.wrong}分（{label('wrong_answer')}）",
            f"服务态度每低于5分一档扣{self.attitude}分；{self.poor_attitude}分及以下为{label('poor_attitude')}",
            f"{self.pass_mark}分及以上且无问题为合格",
        ]


@dataclass(frozen=True)
class Observation:
    connected: bool
    ring_seconds: int
    identified: str = ""  #: a key of IDENTIFIED
    correctness: str = ""  #: a key of CORRECTNESS
    deflected: bool = False
    attitude: int | None = None


@dataclass(frozen=True)
class Verdict:
    score: int
    passed: bool
    faults: list[str]

    @property
    def fault_labels(self) -> list[str]:
        return [FAULT_TYPES[f] for f in self.faults]


def assess(obs: Observation, rubric: Rubric = Rubric()) -> Verdict:
    if not obs.connected:
        return Verdict(0, False, ["no_answer"])
    found: set[str] = set()
    score = 100
    if obs.ring_seconds > rubric.ring:
        found.add("slow_answer")
        score -= rubric.late
    if obs.identified == "none":
        found.add("anonymous")
        score -= rubric.anonymous
    if obs.deflected:
        found.add("deflection")
        score -= rubric.deflect
    if obs.correctness == "partial":
        score -= rubric.partial
    elif obs.correctness == "wrong" or (obs.correctness == "none" and not obs.deflected):
        # Saying nothing because the line deflected the caller is the deflection, not a second fault.
        found.add("wrong_answer")
        score -= rubric.wrong
    if obs.attitude is not None:
        score -= (5 - obs.attitude) * rubric.attitude
        if obs.attitude <= rubric.poor_attitude:
            found.add("poor_attitude")
    score = max(0, min(100, score))
    faults = [key for key in FAULT_TYPES if key in found]
    return Verdict(score, not faults and score >= rubric.pass_mark, faults)

