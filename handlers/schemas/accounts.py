"""The account and unit pickers: who is calling, the units and people to dispatch to."""

from pydantic import Field

from handlers.schemas.base import Answer, Query


class Me(Answer):
    id: int
    username: str
    name: str
    role: str
    unit_id: int | None


class Unit(Answer):
    id: int
    name: str
    level: str
    kind: str
    area: str
    parent_id: int | None


class Units(Answer):
    units: list[Unit]


class UserQuery(Query):
    role: str | None = Field(None, description="角色，如caseworker", examples=["caseworker"])
    unit: str | None = Field(None, description="单位编号")


class PickedUser(Answer):
    id: int
    name: str
    unit_id: int | None
    unit: str
    username: str | None = Field(None, description="仅管理员可见")
    role: str | None = Field(None, description="仅管理员可见")


class Users(Answer):
    users: list[PickedUser]
