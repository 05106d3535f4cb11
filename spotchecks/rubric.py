"""The mystery-call rubric: what a supervisor observed → a score, pass/fail and fault types.

Pure. Everything about a fault — its label, the sentence a finding tells it in, the measure a unit must
take — is one row of FAULTS. The weights are configurable (HOTLINE_SPOTCHECK_RUBRIC); `Rubric.from_config`
reads them and refuses a key it does not know.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
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
          "落实专人值守,确保服务时间内电话畅通", told=0),
    Fault("deflection", "推诿", lambda call: "电话虽已接听,但推诿不予受理",
          "落实首问负责,不得推诿,群众诉求当场受理或告知办理途径", told=2),
    Fault("wrong_answer", "答复错误", _wrong_answer,
          "组织接听人员学习社会救助政策和答复口径,确保答复准确", told=3),
    Fault("poor_attitude", "态度差", lambda call: f"服务态度较差(评{call.attitude}分)",
          "加强服务礼仪培训,文明规范接听", told=5),
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


def measures(faults: list[str]) -> str:
    """The measures required for these faults, as one sentence (in the faults' order)."""
    return ";".join(MEASURES[key] for key in faults if key in MEASURES) + "。"


@dataclass(frozen=True)
class Rubric:
    #: Seconds of ringing after which a connected call still counts as 超时未接.
    ring: int = 20
    #: Points taken off for each observation.
    late: int = 10
    anonymous: int = 10
    partial: int = 15
    wrong: int = 40
    deflect: int = 50
    #: Points per attitude step below 5.
    attitude: int = 8
    #: An attitude at or below this is 态度差.
    poor_attitude: int = 2
    #: Lowest passing score (a call with any fault fails whatever its score).
    pass_mark: int = 60

    @classmethod
    def known_keys(cls) -> tuple[str, ...]:
        """The keys HOTLINE_SPOTCHECK_RUBRIC accepts (`pass` sets pass_mark)."""
        return tuple("pass" if f.name == "pass_mark" else f.name for f in fields(cls))

    @classmethod
    def from_config(cls, overrides: Mapping[str, int] | None) -> Rubric:
        """The default rubric with these weights changed; an unknown key is a ConfigError naming it."""
        values = dict(overrides or {})
        unknown = [key for key in values if key not in cls.known_keys()]
        if unknown:
            raise ConfigError(f"HOTLINE_SPOTCHECK_RUBRIC: unknown key {', '.join(map(repr, unknown))}; "
                              f"known keys: {', '.join(cls.known_keys())}")
        if "pass" in values:
            values["pass_mark"] = values.pop("pass")
        return replace(cls(), **values)

    def describe(self) -> list[str]:
        label = FAULT_TYPES
        return [
            f"未接通:0分,不合格({label['no_answer']})",
            f"响铃超过{self.ring}秒才接听:扣{self.late}分({label['slow_answer']})",
            f"未报姓名或工号:扣{self.anonymous}分({label['anonymous']})",
            f"推诿、不予受理:扣{self.deflect}分({label['deflection']})",
            f"答复部分正确:扣{self.partial}分;答复错误或未答复:扣{self.wrong}分({label['wrong_answer']})",
            f"服务态度每低于5分一档扣{self.attitude}分;{self.poor_attitude}分及以下为{label['poor_attitude']}",
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

