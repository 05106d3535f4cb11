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
    notice: str


class Question(Answer):
    fact: str
    label: str = Field(description="问题的中文说法")
    programs: list[str]
    decides: int = Field(description="回答后能定下的项目数（越大越先问）")


class Assessment(Answer):
    programs: list[Verdict]
    questions: list[Question] = Field(description="接下来要问的")
    notice: str


class Heard(Body):
    text: str = Field(max_length=20000, description="来电人的话（通话转写或接线员记下的）")


class Source(Answer):
    fact: str
    text: str = Field(description="听出这一事实的原话")


class HeardFacts(Answer):
    household: dict[str, Any] = Field(description="听出的家庭情况（只含听到的事实）")
    sources: list[Source]


class Check(Answer):
    id: int
    call_id: int | None
    ticket_id: int | None
    checked_at: str
    household: dict[str, Any]
    programs: list[Verdict]
    parameters: dict[str, Any]
    kb_revision: int | None
    rules_version: str
    notice: str


class CallCheck(Answer):
    check: Check | None
