"""The eligibility hints API: the household as the caller describes it, and the programmes' verdicts."""

from typing import Any

from pydantic import Field, SkipValidation

from eligibility.household import Household
from handlers.schemas.base import Answer, Body


class Ask(Body):
    #: Checked by the domain (eligibility.household), which names the field of a refusal itself.
    household: SkipValidation[Household] = Field(description="来电人讲到的家庭情况；未知的事实不填")



class Verdict(Answer):
    program: str
    name: str
    verdict: str = Field(description="likely、need_info 或 unlikely")
    reasons: list[str]
    missing: list[str] = Field(description="还缺的事实或参数")
    entry_ids: list[str]
    where: str
    materials: list[Any]


class Question(Answer):
    fact: str
    programs: list[str]


class Assessment(Answer):
    programs: list[Verdict]
    questions: list[Question] = Field(description="接下来要问的")
    notice: str
