"""The navigation bar: each role sees the areas it works in."""

from __future__ import annotations

from flask import Flask, current_app, url_for
from flask_login import current_user

#: (label, endpoint, roles that see it, one-line hint)
ITEMS = (
    ("知识库检索", "kb.search", ("operator", "kb_editor", "supervisor", "caseworker"), "按来电人说法检索答复口径"),
    ("我的工单", "tickets.mine", ("caseworker",), "首派和协办的工单,按时限排序"),
    ("漏接回拨", "tickets.missed", ("operator", "supervisor"), "振铃未接的来电，逐一回拨并登记结果"),
    ("工单", "tickets.board", ("operator", "supervisor"), "工单台账、督办与导出"),
    ("统计", "tickets.metrics_page", ("supervisor",), "在线答复率、办结率、满意度"),
    ("待派单决定", "dispatch.desk", ("supervisor",), "派单目录以外的事项，由督查人员决定派给谁"),
    ("派单目录", "dispatch.catalogue_page", ("operator", "supervisor"), "事项对应的责任层级、首派单位和协办单位"),
    ("热线抽查", "spotchecks.index", ("supervisor",), "周抽查计划、暗访记录、通报与整改"),
    ("整改", "spotchecks.rectification_list", ("caseworker",), "本单位热线抽查整改"),
    ("知识库管理", "kb.index", ("kb_editor",), "编辑条目、版本、本地参数"),
    ("未答复检索", "kb.report", ("kb_editor",), "无结果和低置信度的来电说法"),
    ("公开热线", "hotlines.public_directory", (), "183条社会救助热线(公开页面)"),
    ("审计日志", "audit.index", ("supervisor",), "谁在何时做了什么"),
    ("我的导出", "exports.index", ("operator", "supervisor"), "较大的导出在后台生成，完成后在此下载"),
    ("单位", "units.index", ("supervisor",), "市、县、乡镇(街道)及协办部门"),
    ("工作日历", "calendar.index", (), "法定节假日和调休上班日,用于计算时限"),
    ("账号", "accounts.users", (), "创建、停用账号,重置密码,API令牌"),
)


def nav_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    endpoints = current_app.view_functions
    items = []
    for label, endpoint, roles, hint in ITEMS:
        if endpoint in endpoints and current_user.has_role(*roles):
            url = url_for(endpoint)
            items.append({"label": label, "url": url, "hint": hint, "prefix": url.rstrip("/") or "/#"})
    return items


def register(app: Flask) -> None:
    app.context_processor(lambda: {"nav_items": nav_items})
