"""The hotline registry: the 183 bundled hotlines on their units, loading again keeps edits, edits validated."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from core.errors import DomainError
from spotchecks import hotlines
from spotchecks.models import Hotline
from tests.builders import make_user


def count(db, model) -> int:
    return db.execute(select(func.count()).select_from(model)).scalar_one()


def test_seeded_registry_has_183_hotlines_on_the_right_units(db):
    lines = hotlines.hotlines()
    assert len(lines) == 183
    assert Counter(h.level for h in lines) == {"city": 1, "county": 10, "township": 172}
    assert all(h.unit.level == h.level for h in lines)
    zilai = next(h for h in lines if h.name == "北林区紫来街道社会救助服务热线")
    assert (zilai.unit.name, zilai.unit.area, zilai.number) == ("紫来街道办事处", "北林区", "0455-8331869")


def test_loading_the_registry_again_adds_nothing_and_keeps_admin_edits(db, frozen_now):
    admin = make_user("admin")
    zilai = db.execute(select(Hotline).where(Hotline.name == "北林区紫来街道社会救助服务热线")).scalar_one()
    hotlines.update_hotline(actor=admin, now=frozen_now, hotline=zilai,
                            data={**hotlines.hotline_snapshot(zilai), "number": "0455-8331999", "name": "紫来街道救助热线"})
    message = hotlines.load_hotlines(now=frozen_now)
    assert message.startswith("hotlines: 0 added")
    assert count(db, Hotline) == 183
    db.refresh(zilai)
    assert (zilai.number, zilai.name) == ("0455-8331999", "紫来街道救助热线")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("number", "8331869", "电话号码格式不正确"),
    ("number", "0455-8331481", "已被另一条热线使用"),
    ("service_hours", "17:00-08:00", "服务时间"),
    ("name", "", "请填写热线名称"),
])
def test_hotline_edits_are_validated(db, frozen_now, field, value, message):
    admin = make_user("admin")
    zilai = db.execute(select(Hotline).where(Hotline.name == "北林区紫来街道社会救助服务热线")).scalar_one()
    with pytest.raises(DomainError, match=message):
        hotlines.update_hotline(actor=admin, now=frozen_now, hotline=zilai,
                                data={**hotlines.hotline_snapshot(zilai), field: value})
