"""What the caller tells about the household, as the hint engine reads it (validated on the way in).

Declared with pydantic: one declaration validates the API's input, names the field of every refusal and
gives the JSON schema the OpenAPI document publishes. Unknown facts are null, never guessed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import DomainError

Relation = Literal["self", "spouse", "child", "parent", "grandparent", "grandchild", "sibling", "other"]
DisabilityKind = Literal["physical", "intellectual", "mental", "visual", "hearing", "speech", "multiple"]
Event = Literal["fire", "traffic_accident", "sudden_illness", "large_medical_bill", "other_emergency"]
PROGRAMS = ("dibao", "dibao_single", "dibao_edge", "tekun", "temporary", "medical", "insurance_subsidy",
            "disability_living", "disability_care", "orphan", "de_facto_orphan", "elderly_allowance", "education",
            "housing", "employment", "vagrant")
Program = Literal[PROGRAMS]  # type: ignore[valid-type]

MAX_MEMBERS = 20
RELATION_LABELS = {"self": "来电人本人", "spouse": "配偶", "child": "子女", "parent": "父母", "grandparent": "祖父母",
                   "grandchild": "孙辈", "sibling": "兄弟姐妹", "other": "其他共同生活的人"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Disability(_Strict):
    kind: DisabilityKind
    grade: int = Field(ge=1, le=4, description="残疾等级，一级最重")


class Member(_Strict):
    relation: Relation
    age: int | None = Field(default=None, ge=0, le=120)
    disability: Disability | None = None
    can_work: bool | None = None
    student: bool | None = None
    serious_illness: bool | None = None
    deceased: bool | None = None
    missing_months: int | None = Field(default=None, ge=0, le=1200, description="失联的月数")
    in_prison_months: int | None = Field(default=None, ge=0, le=1200, description="服刑或被羁押的月数")

    @model_validator(mode="after")
    def _plausible(self) -> Member:
        if self.age is not None and self.relation == "spouse" and self.age < 16:
            raise ValueError(f"{self.age}岁的人不能是配偶")
        if self.age is not None and self.relation in ("parent", "grandparent") and self.age < 14:
            raise ValueError(f"{self.age}岁的人不能是父母或祖父母")
        return self


class Supporter(_Strict):
    able_to_support: bool | None = None


class Household(_Strict):
    hukou: Literal["urban", "rural"] | None = None
    monthly_income_per_capita: float | None = Field(default=None, ge=0, le=100_000,
                                                    description="家庭人均月收入（元）")
    #: Extension: the household's main assets as the caller describes them (coarse: within the local
    #: limits or clearly above them: a second home, a car for private use, large savings).
    assets: Literal["within_limits", "above_limits"] | None = None
    #: Extension: the home is unsafe (危房), or the family has no home of its own and cannot rent one.
    housing_difficulty: bool | None = None
    #: Extension: the person is stranded away from home with no means (流浪乞讨、临时遇困).
    stranded_away_from_home: bool | None = None
    members: list[Member] = Field(default_factory=list, max_length=MAX_MEMBERS)
    legal_supporters: list[Supporter] | None = None
    current_benefits: list[Program] = Field(default_factory=list)  # type: ignore[valid-type]
    events: list[Event] | None = None

    @model_validator(mode="after")
    def _one_self(self) -> Household:
        if sum(m.relation == "self" for m in self.members) > 1:
            raise ValueError("只能有一位来电人本人（relation 为 self）")
        return self


class HouseholdError(DomainError):
    status = 400
    code = "bad_household"


#: What the operator's form calls each field (a refusal names the field in these words).
FIELD_LABELS = {
    "hukou": "户口类型", "monthly_income_per_capita": "家庭人均月收入", "assets": "家庭财产",
    "housing_difficulty": "住房困难", "stranded_away_from_home": "在外地遇困", "members": "家庭成员",
    "legal_supporters": "法定赡养（抚养、扶养）人", "current_benefits": "正在享受的救助", "events": "最近遭遇的事",
    "relation": "与来电人的关系", "age": "年龄", "disability": "残疾情况", "kind": "残疾类别", "grade": "残疾等级",
    "can_work": "能否劳动", "student": "是否在校", "serious_illness": "是否患重病", "deceased": "是否去世",
    "missing_months": "失联月数", "in_prison_months": "服刑（羁押）月数", "able_to_support": "有无赡养能力",
}


def field_label(loc: tuple) -> str:
    """("members", 0, "age") → 第1位家庭成员的年龄."""
    words: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            owner = words.pop() if words else ""
            words.append(f"第{part + 1}位{owner}" if loc[i - 1] in ("members", "legal_supporters") else
                         f"{owner}第{part + 1}项")
        else:
            words.append(FIELD_LABELS.get(str(part), str(part)))
    return "的".join(words) or "家庭情况"


def parse(data: object) -> Household:
    """The household from JSON, or a HouseholdError naming the first bad field in Chinese."""
    if not isinstance(data, dict):
        raise HouseholdError("家庭情况（household）应为对象", field="household")
    try:
        household = Household.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise HouseholdError(f"{field_label(first['loc'])}：{_chinese(first)}",
                             field=f"household.{where}".rstrip(".")) from None
    _ages_agree(household)
    return household


def _ages_agree(household: Household) -> None:
    """A parent at least 12 years older than the caller, a child at least 12 years younger."""
    me = next((m for m in household.members if m.relation == "self" and m.age is not None), None)
    for i, m in enumerate(household.members):
        if me is None or m.age is None:
            continue
        if (m.relation == "parent" and m.age < me.age + 12) or (m.relation == "child" and m.age > me.age - 12):
            raise HouseholdError(f"第{i + 1}位家庭成员的年龄：{RELATION_LABELS[m.relation]}{m.age}岁，本人{me.age}岁，"
                                 f"年龄对不上，请核对", field=f"household.members.{i}.age")


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _chinese(error: dict) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "不认识的字段"
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于{_number(ctx.get('ge', ctx.get('gt')))}"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于{_number(ctx.get('le', ctx.get('lt')))}"
    if kind == "too_long":
        return f"最多{ctx.get('max_length')}项（共{ctx.get('actual_length')}项，请核对）"
    if kind == "literal_error":
        return f"取值应为 {ctx.get('expected')}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return "类型不对"
    if kind == "missing":
        return "必填"
    return error["msg"]
