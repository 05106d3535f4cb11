"""What the audit trail's codes are called on the audit page and in its exports.

Every action and entity type any service records has a label here: tests/audit/test_labels.py reads every
`record(...)` call in the source and fails for a code without one. Field labels cover the fields services
put in `changes`; a field without one is shown by its code.
"""

from __future__ import annotations

#: Actions, as the audit page says them (a verb; the entity type says on what).
ACTIONS: dict[str, str] = {
    # general
    "create": "新建", "update": "修改", "delete": "删除", "import": "导入", "export": "导出", "seed": "初始化",
    "purge": "到期清理", "seal": "封存旧记录",
    # accounts and security
    "login": "登录", "logout": "退出登录", "login_failed": "登录失败", "login_refused": "拒绝登录（账号停用）",
    "login_locked": "登录被拒（账号临时锁定）", "login_throttled": "登录被限速", "enable": "启用账号",
    "disable": "停用账号", "reset_password": "重置密码", "unlock": "解除锁定", "issue_token": "签发接口令牌",
    "revoke_token": "吊销接口令牌", "permission_denied": "越权访问被拒", "csrf_failed": "请求来源校验失败",
    # calls
    "announce": "来电接入", "answer": "接听/答复", "end": "挂断", "callback": "回拨/回访", "record": "登记来电",
    "read_transcript": "查看完整通话文字",
    # tickets
    "dispatch": "派单", "accept": "签收", "contact": "联系来电人", "note": "办理记录", "cohandle": "发起协办",
    "complete_task": "协办反馈", "withdraw_task": "撤回协办", "close": "办结", "reopen": "重新办理",
    "escalate": "督办", "request_extension": "申请延期", "approve_extension": "批准延期",
    "reject_extension": "驳回延期", "request_return": "申请退单", "approve_return": "批准退单",
    "reject_return": "驳回退单", "reassign": "改派", "attach": "上传附件", "warn": "时限预警", "overdue": "超期",
    # dispatch objections and merged requests (并单)
    "object_dispatch": "提出派单异议", "reject_objection": "驳回派单异议", "merge": "并单",
    "merge_in": "并入重复诉求", "split": "拆分并单", "split_out": "拆出并单", "contact_callback": "来电人回访",
    "reject_reopen": "不予重新办理", "activate": "启用",
    # notifications
    "read": "标记已读", "read_all": "全部标记已读",
    # spot checks
    "top_up": "补充抽查计划", "move": "调整抽查时间", "swap": "互换抽查时间", "publish": "发布",
    "close_out": "销号", "return": "退回整改", "propose": "提出约谈", "hold": "约谈", "dismiss": "不予约谈",
    # knowledge base: review before publish, the policy register, entry uses on calls
    "submit_change": "提交修改待审核", "approve_change": "审核通过并发布", "reject_change": "退回修改",
    "withdraw_change": "撤回修改", "emergency_publish": "管理员紧急发布", "recheck": "复核确认",
    "flag_for_review": "标记待复核", "entry_use": "通话中使用知识库条目",
    # eligibility hints (初步研判)
    "carry_into_ticket": "随来电带入工单",
    # backups
    "backup_create": "备份", "backup_restore": "从备份恢复",
    # spot-check rubric versions (proposed by a supervisor, decided by an admin)
    "approve": "批准", "reject": "驳回",
}

#: Entity types: what an event is about.
ENTITIES: dict[str, str] = {
    "user": "用户账号", "unit": "单位", "api_token": "接口令牌", "workday_override": "工作日调整",
    "request": "请求", "audit_event": "审计日志",
    "kb_entry": "知识库条目", "kb_parameter": "地方参数", "kb_policy_document": "政策文件",
    "kb_outside_matter": "知识库以外的事项", "kb_pair_note": "相近条目的区分", "backup": "备份",
    "rubric_version": "评分规则版本", "kb_synonym": "同义词", "kb_search_log": "检索记录",
    "call": "来电", "transcript": "通话文字", "eligibility_check": "初步研判", "ticket": "工单",
    "ticket_metrics": "工单统计", "notification": "消息提醒", "deadline_policy": "办理时限规则",
    "deadline_preset": "时限预设", "dispatch_catalogue": "派单目录",
    "hotline": "救助热线", "spotcheck_plan": "抽查计划", "spotcheck_item": "抽查安排", "mystery_call": "抽查记录",
    "rectification": "整改", "summons": "约谈", "notice": "通报", "spotcheck_report": "抽查报表",
}

#: Fields of `changes`, as the audit page names them.
FIELDS: dict[str, str] = {
    # people and units
    "username": "登录名", "display_name": "姓名", "role": "角色", "unit_id": "单位", "unit": "单位",
    "phone": "电话", "active": "启用", "user_id": "用户", "code": "代码", "name": "名称", "level": "层级",
    "kind": "类别", "area": "所属县（市、区）", "parent_id": "上级单位", "address": "地址",
    "sessions_ended": "结束的登录会话", "tokens_revoked": "吊销的令牌", "retry_after": "等待秒数",
    "length": "长度", "reason": "原因", "method": "请求方法", "api": "接口调用", "label": "名称",
    "expires_at": "到期时间", "working": "上班", "note": "说明",
    # knowledge base
    "category": "分类", "question": "标准问题", "similar": "相似问法", "keywords": "关键词", "answer": "答复口径",
    "detail": "详细解答", "policy_basis": "政策依据", "eligibility": "申请条件", "materials": "所需材料",
    "process": "办理流程及时限", "handling_unit": "承办单位", "contact": "联系方式", "status": "状态",
    "review_date": "复核日期", "version": "版本", "value": "取值", "effective_date": "生效日期", "source": "来源",
    "term": "词语", "canonical": "标准词", "format": "格式", "rows": "行数", "directory": "目录",
    "created": "新增", "updated": "更新", "unchanged": "未变", "filter": "筛选条件", "retention_days": "保留天数",
    "before": "截止", "from": "开始日期", "to": "结束日期",
    # calls and tickets
    "caller_number": "来电号码", "outcome": "结果", "duration_seconds": "通话时长（秒）", "operator_id": "接线员",
    "external_id": "话务平台编号", "kb_entry_ids": "引用的知识库条目", "answered_at": "接听时间",
    "ended_at": "挂断时间", "done": "已完成", "segments": "段数", "full": "完整查看", "calls": "来电数",
    "state": "状态", "first_owner_id": "首派责任人", "first_contact_due_at": "首次联系时限",
    "closure_due_at": "办结时限", "callback_due_at": "回访时限", "satisfaction": "满意度",
    "escalation_count": "督办次数", "reopen_count": "重办次数", "number": "编号", "data": "详情",
    "limit": "时限", "due_at": "到期时间", "ticket_id": "工单", "read_at": "阅读时间", "count": "条数", "ids": "编号",
    "assignee_id": "协办人", "attachment_id": "附件", "call_id": "来电", "citizen_id_number": "身份证号",
    "citizen_phone": "联系电话", "days": "天数", "dissatisfied": "不满意", "id": "编号", "on_time": "按时",
    "owner": "责任人", "previous_owner_id": "原责任人", "request_id": "申请", "task_id": "协办任务",
    "township_id": "乡镇（街道）", "urgency": "紧急程度", "old_owner": "原首派责任人", "new_owner": "新首派责任人",
    "size": "大小（字节）", "first_contact": "首次联系", "closure": "办结", "limits": "时限表",
    "description": "说明",
    # eligibility hints
    "likely": "可能符合的项目", "kb_revision": "知识库版本", "rules_version": "研判规则版本", "from_check": "来源研判",
    "ticket": "工单编号",
    "added": "新增事项", "removed": "删除的事项", "into": "并入工单", "merged": "并入的工单", "split": "拆出的工单",
    "contact_id": "并单记录", "dispute_seconds": "争议用时（秒）", "paused": "时限暂停", "objection": "派单异议",
    "objection_deadline": "异议期限",
    # spot checks
    "service_hours": "服务时间", "leader": "分管领导", "leader_title": "领导职务", "week": "周次", "seed": "随机种子",
    "items": "抽查条数", "quota": "每日条数", "configured_quota": "设定的每日条数", "warning": "提示",
    "rechecks": "复查条数", "hotline_ids": "热线", "day": "日期", "planned_at": "计划时间", "supervisor_id": "督查人员",
    "outside_hours": "服务时间外", "first": "第一条", "second": "第二条", "item_id": "抽查安排", "hotline_id": "热线",
    "started_at": "开始时间", "connected": "接通", "score": "得分", "passed": "合格", "faults": "问题",
    "deadline_at": "整改期限", "response": "整改情况", "evidence": "整改证明", "attachment_ref": "附件",
    "return_reason": "退回原因", "close_note": "销号意见", "responsible_person": "责任人", "measure": "整改措施",
    "rule": "约谈依据", "held_on": "约谈日期", "attendees": "参加人员", "title": "标题", "recipients": "主送",
    "body": "正文", "legacy_events": "封存的旧记录条数", "legacy_head": "旧记录链尾",
    # filters of exports
    "action": "操作", "entity_type": "对象类型", "entity_id": "对象编号", "actor_id": "操作人", "system": "仅系统操作",
    "start": "开始时间", "end": "截止时间", "q": "关键词", "overdue": "已超期", "path": "地址",
    "mine": "我的工单（承办人）",
}

#: Fields that mean something else on one kind of record: (entity type, field) → label.
ENTITY_FIELDS: dict[tuple[str, str], str] = {
    ("hotline", "number"): "电话号码", ("hotline", "name"): "热线名称", ("hotline", "contact"): "联系人",
    ("hotline", "unit_id"): "所属单位", ("ticket", "number"): "工单编号", ("notice", "number"): "文号",
    ("unit", "code"): "行政区划代码", ("unit", "phone"): "单位电话", ("user", "phone"): "手机号码",
    ("api_token", "label"): "令牌用途", ("kb_parameter", "unit"): "计量单位", ("call", "status"): "来电状态",
}

#: Where an event with no acting person came from, by its origin's prefix (see audit.services.Origin).
SYSTEM_ORIGINS: dict[str, str] = {"job:": "系统（定时任务）", "cli:": "系统（命令行）"}
SYSTEM = "系统"
ANONYMOUS = "未登录的访问者"


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


def entity_label(entity_type: str) -> str:
    return ENTITIES.get(entity_type, entity_type)


def field_label(field: str, entity_type: str = "") -> str:
    return ENTITY_FIELDS.get((entity_type, field)) or FIELDS.get(field, field)


def system_label(request_id: str) -> str:
    """Who acted when no person did: the scheduler, a command, or someone not logged in (a web request)."""
    for prefix, label in SYSTEM_ORIGINS.items():
        if request_id.startswith(prefix):
            return label
    return ANONYMOUS if request_id else SYSTEM
