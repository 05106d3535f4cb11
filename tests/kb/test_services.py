from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from audit.models import AuditEvent
from core import clock
from core.errors import DomainError
from kb import services
from kb.models import EntryVersion
from tests.builders import make_user
from tests.kb.builders import entry_data, make_entry


def _versions(db, entry_id):
    return db.execute(select(func.count()).select_from(EntryVersion)
                      .where(EntryVersion.entry_id == entry_id)).scalar_one()


def test_every_change_makes_a_version_with_who_when_why(db):
    editor = make_user("kb_editor")
    entry = make_entry(actor=editor)
    data = entry.as_data() | {"answer": "改过的答复口径。第二句。"}
    _, changed = services.save_entry(actor=editor, now=clock.now(), data=data, note="政策调整")
    assert changed and entry.version == 2
    latest = entry.versions[-1]
    assert (latest.number, latest.note, latest.actor_name) == (2, "政策调整", editor.username)
    assert db.execute(select(AuditEvent).where(AuditEvent.entity_type == "kb_entry",
                                               AuditEvent.entity_id == entry.id)).scalars().all()


def test_saving_unchanged_data_makes_no_version(db):
    entry = make_entry()
    _, changed = services.save_entry(actor=None, now=clock.now(), data=entry.as_data(), note="无变化")
    assert not changed and _versions(db, entry.id) == 1


def test_note_is_required(db):
    with pytest.raises(DomainError, match="修改说明"):
        services.save_entry(actor=None, now=clock.now(), data=entry_data(), note=" ")


@pytest.mark.parametrize("field, value, message", [
    ("answer", "", "答复口径不能为空"),
    ("level", "县", "层级无效"),
    ("category", "不存在的分类", "分类无效"),
    ("id", "X1", "编号格式"),
    ("review_date", "明年", "复核日期"),
    ("answer", "标准是{{不存在的参数}}。", "不存在的本地参数"),
])
def test_invalid_entry_refused_naming_the_field(db, field, value, message):
    with pytest.raises(DomainError, match=message) as err:
        services.save_entry(actor=None, now=clock.now(), data=entry_data(**{field: value}), note="x")
    assert err.value.field == field


def test_restore_old_version_as_new_version(db):
    entry = make_entry(answer="第一版答复。")
    services.save_entry(actor=None, now=clock.now(), data=entry.as_data() | {"answer": "第二版答复。"}, note="改")
    services.restore_version(actor=None, now=clock.now(), entry=entry, number=1)
    assert entry.version == 3 and entry.answer == "第一版答复。" and entry.versions[-1].note == "恢复为第1版"


def test_diff_is_readable(db):
    diffs = services.version_diff({"answer": "低保按月发放。"}, {"answer": "低保按季度发放。"})
    assert diffs[0].label == "答复口径" and "<del>月</del>" in diffs[0].html and "<ins>季度</ins>" in diffs[0].html


def test_retire_and_restore(db):
    entry = make_entry()
    services.set_status(actor=None, now=clock.now(), entry=entry, status="retired", note="政策废止")
    assert entry.status == "retired" and entry not in services.entries(status="published")
    services.set_status(actor=None, now=clock.now(), entry=entry, status="published", note="恢复")
    assert entry.status == "published"


def test_parameter_renders_current_value_or_fallback(db):
    admin = make_user("admin")
    today = clock.today_local()
    text = "审批上限:{{临时救助_乡镇审批上限}}。"
    assert services.render(text, services.parameter_states(today)) == "审批上限:【未设置：乡镇(街道)临时救助审批额度上限】。"
    services.set_parameter(actor=admin, now=clock.now(), name="临时救助_乡镇审批上限", value="3000", unit="元",
                           effective_date=today, source="绥民发〔2026〕1号")
    assert services.render(text, services.parameter_states(today)) == "审批上限:3000元。"


def test_parameter_with_future_effective_date_waits(db):
    admin = make_user("admin")
    today = clock.today_local()
    services.set_parameter(actor=admin, now=clock.now(), name="低保标准_城市", value="700", unit="元/人·月",
                           effective_date=today - timedelta(days=10))
    services.set_parameter(actor=admin, now=clock.now(), name="低保标准_城市", value="730", unit="元/人·月",
                           effective_date=today + timedelta(days=30))
    state = services.parameter_states(today)["低保标准_城市"]
    assert state.rendered == "700元/人·月" and state.upcoming.value == "730"
    assert services.parameter_states(today + timedelta(days=31))["低保标准_城市"].rendered == "730元/人·月"


def test_parameter_change_is_audited(db):
    admin = make_user("admin")
    services.set_parameter(actor=admin, now=clock.now(), name="高龄津贴_起始年龄", value="80", unit="周岁",
                           effective_date=date(2026, 1, 1))
    ev = db.execute(select(AuditEvent).where(AuditEvent.entity_type == "kb_parameter")
                    .order_by(AuditEvent.seq.desc())).scalars().first()
    assert ev.actor_id == admin.id and '"80"' in ev.changes


def test_review_due_lists_overdue_entries(db):
    entry = make_entry(review_date="2020-01-01")
    assert entry in services.review_due(clock.today_local())


def test_synonyms_are_audited_and_unique(db):
    syn = services.save_synonym(actor=None, now=clock.now(), term="咋整test", canonical_term="怎么办")
    with pytest.raises(DomainError, match="已在同义词表"):
        services.save_synonym(actor=None, now=clock.now(), term="咋整test", canonical_term="如何")
    before = services.current_revision()
    services.delete_synonym(actor=make_user("kb_editor"), now=clock.now(), synonym_id=syn.id)
    assert services.current_revision() == before + 1


def test_bundled_hundred_are_loaded_and_published(db):
    published = services.entries(status="published")
    ids = [e.id for e in published]
    assert ids[:1] == ["Q001"] and ids[-1] == "Q100" and len([i for i in ids if i <= "Q100"]) == 100
    assert all(len(e.similar) >= 8 for e in published if e.id <= "Q100")
