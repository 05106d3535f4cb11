"""The mystery-call rubric: what a supervisor observed → a score, pass/fail and fault types.

Pure. The weights are configurable (HOTLINE_SPOTCHECK_RUBRIC); `Rubric.from_config` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from spotchecks.models import FAULT_TYPES


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
    def from_config(cls, overrides: dict[str, int] | None) -> Rubric:
        values = dict(overrides or {})
        if "pass" in values:
            values["pass_mark"] = values.pop("pass")
        known = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in values.items() if k in known})

    def describe(self) -> list[str]:
        return [
            "未接通:0分,不合格(未接通)",
            f"响铃超过{self.ring}秒才接听:扣{self.late}分(超时未接)",
            f"未报姓名或工号:扣{self.anonymous}分(未报姓名工号)",
            f"推诿、不予受理:扣{self.deflect}分(推诿)",
            f"答复部分正确:扣{self.partial}分;答复错误或未答复:扣{self.wrong}分(答复错误)",
            f"服务态度每低于5分一档扣{self.attitude}分;{self.poor_attitude}分及以下为态度差",
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


def rubric_for(config: dict[str, Any]) -> Rubric:
    return Rubric.from_config(config.get("SPOTCHECK_RUBRIC"))
