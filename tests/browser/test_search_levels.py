import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_status_names_the_level_the_reason_and_the_department(login_as):
    page = login_as("operator")
    box = page.locator("#q")
    box.press_sequentially("公积金怎么提取出来", delay=20)
    expect(page.locator("#status")).to_contain_text("不在知识库：问的是住房公积金")
    expect(page.locator("#status")).to_contain_text("建议派往市住房公积金管理中心")
    box.fill("")
    box.press_sequentially("申请低保需要准备哪些材料", delay=20)
    expect(page.locator("#status")).to_contain_text("确定：对得上")
