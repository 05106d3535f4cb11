"""Local parameters that cannot produce nonsense: visible gaps, typed values, no rewritten history, the CLI."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from audit.models import AuditEvent
from core import clock
from core.errors import DomainError
from kb import services
from tests.builders import make_user
from tests.kb.builders import make_entry


def test_an_unset_parameter_renders_as_a_visible_gap_in_plain_text(db):
    text = "市社会救助服务热线：{{社会救助热线_市}}。"
    rendered = services.render(text, services.parameter_states(clock.today_local()))
    assert rendered == "市社会救助服务热线：【未设置：市社会救助服务热线】。"
    assert "以当地公布标准为准" not in rendered


def test_an_unset_parameter_is_highlighted_and_linked_for_admins_on_a_page(db):
    states = services.parameter_states(clock.today_local())
    html = str(services.render_html("上限：{{临时救助_乡镇审批上限}}。<b>", states, "/kb/parameters#p-__NAME__"))
    assert '<mark class="param-unset"' in html and "【未设置：乡镇(街道)临时救助审批额度上限】" in html
    assert 'href="/kb/parameters#p-临时救助_乡镇审批上限"' in html and "&lt;b&gt;" in html
    assert "href" not in str(services.render_html("上限：{{临时救助_乡镇审批上限}}。", states, None))


def test_a_set_parameter_renders_its_value_without_a_mark(db):
    today = clock.today_local()
    services.set_parameter(actor=make_user("admin"), now=clock.now(), name="临时救助_乡镇审批上限", value="3000",
                           unit="元", effective_date=today)
    html = str(services.render_html("上限：{{临时救助_乡镇审批上限}}。", services.parameter_states(today), None))
    assert html == "上限：3000元。"


@pytest.mark.parametrize("name, value", [("低保标准_城市", "七百元"), ("低保标准_城市", "700元"),
                                         ("低保渐退期", "6.5"), ("社会救助热线_市", "请拨打市热线")])
def test_a_value_of_the_wrong_kind_is_refused_and_nothing_written(db, name, value):
    before = len(services.session.get(services.Parameter, name).values)
    with pytest.raises(DomainError, match="取值应为") as err:
        services.set_parameter(actor=make_user("admin"), now=clock.now(), name=name, value=value, unit="",
                               effective_date=clock.today_local())
    assert err.value.field == "value"
    db.expire_all()
    assert len(services.session.get(services.Parameter, name).values) == before


def test_a_past_date_that_would_rewrite_recorded_history_is_refused(db):
    admin, today = make_user("admin"), clock.today_local()
    services.set_parameter(actor=admin, now=clock.now(), name="低保标准_城市", value="700", unit="",
                           effective_date=today - timedelta(days=60))
    with pytest.raises(DomainError, match="改写历史") as err:
        services.set_parameter(actor=admin, now=clock.now(), name="低保标准_城市", value="730", unit="",
                               effective_date=today - timedelta(days=10))
    assert err.value.field == "effective_date"
    assert services.parameter_states(today)["低保标准_城市"].value == "700"
    services.set_parameter(actor=admin, now=clock.now(), name="低保标准_城市", value="730", unit="",
                           effective_date=today)
    assert services.parameter_states(today)["低保标准_城市"].value == "730"


def test_a_figure_never_recorded_may_be_entered_from_its_publication_date(db):
    today = clock.today_local()
    services.set_parameter(actor=make_user("admin"), now=clock.now(), name="低保标准_农村", value="6000", unit="",
                           effective_date=today - timedelta(days=30))
    assert services.parameter_states(today)["低保标准_农村"].rendered == "6000元/人·年"


def test_entry_page_and_card_name_the_unset_parameters(client, login, db):
    entry = make_entry(answer="乡镇审批上限：{{临时救助_乡镇审批上限}}。")
    db.commit()
    login("operator")
    for url in (f"/kb/{entry.id}", f"/kb/{entry.id}/card"):
        body = client.get(url).get_data(as_text=True)
        assert "本条有未设置的本地参数" in body and "乡镇(街道)临时救助审批额度上限" in body
        assert '<mark class="param-unset"' in body and "/kb/parameters#p-" not in body


def test_admin_sees_the_gap_linked_to_the_parameters_page(client, login, db):
    entry = make_entry(answer="乡镇审批上限：{{临时救助_乡镇审批上限}}。")
    db.commit()
    login("admin")
    body = client.get(f"/kb/{entry.id}").get_data(as_text=True)
    assert "/kb/parameters#p-临时救助_乡镇审批上限" in body


def test_parameters_page_refuses_text_for_an_amount_with_a_message(client, login, db):
    login("admin")
    response = client.post("/kb/parameters", data={"name": "低保标准_城市", "value": "七百", "unit": "元/人·月",
                                                   "effective_date": clock.today_local().isoformat()},
                           follow_redirects=True)
    assert "取值应为金额数字" in response.get_data(as_text=True)
    assert services.parameter_states(clock.today_local())["低保标准_城市"].value == ""


def test_cli_sets_lists_and_audits_a_parameter(runner, db):
    result = runner.invoke(args=["kb", "parameters", "set", "高龄津贴_起始年龄", "80", "--source", "绥民发〔2026〕1号"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(args=["kb", "parameters", "list"])
    line = next(x for x in listing.output.splitlines() if x.startswith("高龄津贴_起始年龄"))
    assert "80周岁" in line and "绥民发〔2026〕1号" in line and "number" in line
    event = db.execute(select(AuditEvent).where(AuditEvent.entity_type == "kb_parameter",
                                                AuditEvent.entity_id == "高龄津贴_起始年龄")
                       .order_by(AuditEvent.seq.desc())).scalars().first()
    assert '"80"' in event.changes


@pytest.mark.parametrize("args, message", [
    (["kb", "parameters", "set", "低保标准_城市", "abc"], "取值应为金额数字"),
    (["kb", "parameters", "set", "低保标准_城市", "700", "--effective", "明天"], "生效日期格式"),
    (["kb", "parameters", "set", "不存在的参数", "1"], "本地参数不存在"),
])
def test_cli_refuses_bad_input_with_a_message(runner, db, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and message in result.output


def test_cli_refuses_a_backdated_change_over_recorded_history(runner, db):
    today = clock.today_local()
    assert runner.invoke(args=["kb", "parameters", "set", "低保渐退期", "6",
                               "--effective", (today - timedelta(days=40)).isoformat()]).exit_code == 0
    result = runner.invoke(args=["kb", "parameters", "set", "低保渐退期", "3",
                                 "--effective", (today - timedelta(days=5)).isoformat()])
    assert result.exit_code != 0 and "改写历史" in result.output
    assert services.parameter_states(today)["低保渐退期"].value == "6"
