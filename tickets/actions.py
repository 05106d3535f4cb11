"""The ticket state machine: every action on a ticket, one row each.

A row names the action, its timeline label, the states it may start from, who may take it, the service
that does it and how that service's parameters are read from a form or a JSON body. The ticket page
offers exactly `available(user, ticket)`, the actions API accepts exactly what `run` knows, and the
OpenAPI enum lists `names()`: a new action is one service function and one row in `TABLE`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.models import User
from tickets import disputes, merging, services
from tickets.models import Task, Ticket
from tickets.queries import can_view, is_unit_staff
from tickets.validation import TicketError


class Fields:
    """A form or a JSON body, read the way every action reads its parameters."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def text(self, *names: str) -> str:
        """The first non-empty of these fields, then of the generic ones (note, reason, comment)."""
        for name in (*names, "note", "reason", "comment"):
            if self.data.get(name) not in (None, ""):
                return str(self.data[name])
        return ""

    def flag(self, name: str) -> bool:
        value = self.data.get(name)
        return value is True or str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _anyone(user: User, ticket: Ticket) -> bool:
    return True


def _owner(user: User, ticket: Ticket) -> bool:
    return ticket.first_owner_id is not None and ticket.first_owner_id == user.id


def _desk(user: User, ticket: Ticket) -> bool:
    return user.has_role("operator", "supervisor")


def _supervisor(user: User, ticket: Ticket) -> bool:
    return user.has_role("supervisor")


def _no_params(fields: Fields) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Action:
    name: str
    #: What the action is called on the timeline and in messages.
    label: str
    #: States the action may start from; None: any state.
    states: tuple[str, ...] | None
    #: The service that does it, called with actor, now, ticket, version and what `params` reads.
    service: Callable[..., Any]
    #: Its keyword arguments, read from a form or a JSON body.
    params: Callable[[Fields], dict[str, Any]] = _no_params
    #: Who may take it on this ticket as it stands: what the page offers (the service checks again).
    may: Callable[[User, Ticket], bool] = _anyone
    #: For an action on one co-handling task: who may take it on that task (offered per open task).
    task_may: Callable[[User, Ticket, Task], bool] | None = None
    #: Posted to the one actions endpoint (page form and API); dispatch has its own, to pick an owner.
    generic: bool = True
    #: templates/tickets/ticket.html lays out its own form; otherwise the page shows a generic one.
    own_form: bool = False
    #: Keyword arguments taken from the deployment's settings (`run`'s options), not from the request.
    options: tuple[str, ...] = ()

    def offered_to(self, user: User, ticket: Ticket) -> bool:
        if self.states is not None and ticket.state not in self.states:
            return False
        if self.task_may is not None:
            return any(t.state == "open" and self.task_may(user, ticket, t) for t in ticket.tasks)
        return self.may(user, ticket)


_SATISFACTION_ALIASES = {"unsatisfied": "dissatisfied", "not_satisfied": "dissatisfied",
                         "basically_satisfied": "basic", "basic_satisfied": "basic", "fairly_satisfied": "basic"}


def _satisfaction(fields: Fields) -> Any:
    value = fields.get("satisfaction")
    if value is None and isinstance(fields.get("satisfied"), bool):
        return "satisfied" if fields.get("satisfied") else "dissatisfied"
    return _SATISFACTION_ALIASES.get(str(value).strip().lower(), value) if value is not None else None


def _note(*, contacted: bool = False, **kwargs: Any) -> Any:
    """A note; with `contacted`, the note records the first contact with the citizen."""
    return (services.record_contact if contacted else services.add_note)(**kwargs)


def _task_party(user: User, ticket: Ticket, task: Task) -> bool:
    return user.id in (task.assignee_id, ticket.first_owner_id) or is_unit_staff(user, task.unit_id)


def _task_owner(user: User, ticket: Ticket, task: Task) -> bool:
    return _owner(user, ticket)


_OPEN = ("pending_accept", "in_progress")

TABLE: tuple[Action, ...] = (
    Action("dispatch", "派单", ("pending_dispatch",), services.dispatch, may=_desk, generic=False, own_form=True),
    Action("accept", "签收", ("pending_accept",), services.accept, may=_owner, own_form=True),
    Action("contact", "首次联系群众", ("in_progress",), services.record_contact, own_form=True,
           may=lambda u, t: _owner(u, t) and t.first_contact_at is None,
           params=lambda f: {"note": f.text()}),
    Action("note", "办理记录", None, _note, may=can_view, own_form=True,
           params=lambda f: {"note": f.text(), "contacted": f.flag("contacted")}),
    Action("cohandle", "发起协办", ("in_progress",), services.add_task, may=_owner, own_form=True,
           params=lambda f: {"unit_id": f.get("unit_id"), "user_id": f.get("user_id"), "days": f.get("days"),
                             "request": f.text("request", "task") or "请协助办理本工单"}),
    Action("complete_task", "协办反馈", _OPEN, services.complete_task, task_may=_task_party, own_form=True,
           params=lambda f: {"task_id": f.get("task_id"), "report": f.text("report", "result") or "协办事项已办理完毕"}),
    Action("withdraw_task", "撤回协办", _OPEN, services.withdraw_task, task_may=_task_owner, own_form=True,
           params=lambda f: {"task_id": f.get("task_id"), "reason": f.text()}),
    Action("close", "办结", ("in_progress",), services.close, may=_owner, own_form=True,
           params=lambda f: {"resolution": f.text("resolution", "resolution_note")}),
    Action("callback", "回访", ("pending_callback",), services.callback, may=_desk, own_form=True,
           params=lambda f: {"satisfaction": _satisfaction(f), "note": f.text()}),
    Action("decide_reopen", "审定重新办理", ("pending_callback",), services.decide_reopen, own_form=True,
           may=lambda u, t: _supervisor(u, t) and t.pending_request("reopen") is not None,
           params=lambda f: {"approved": f.get("approved"), "note": f.text()}),
    Action("escalate", "督办", ("pending_dispatch", *_OPEN, "pending_callback"), services.escalate,
           may=_supervisor, own_form=True, params=lambda f: {"note": f.text()}),
    Action("request_extension", "申请延期", _OPEN, services.request_extension, own_form=True,
           may=lambda u, t: _owner(u, t) and t.pending_request("extension") is None,
           params=lambda f: {"days": f.get("days", f.get("working_days")), "reason": f.text()}),
    Action("approve_extension", "批准延期", _OPEN, services.decide_extension, own_form=True,
           may=lambda u, t: _supervisor(u, t) and t.pending_request("extension") is not None,
           params=lambda f: {"approved": f.get("approved"), "note": f.text()}),
    Action("request_return", "申请退单", _OPEN, services.request_return, own_form=True,
           may=lambda u, t: _owner(u, t) and t.pending_request("return") is None,
           params=lambda f: {"reason": f.text()}),
    Action("approve_return", "批准退单", _OPEN, services.decide_return, own_form=True,
           may=lambda u, t: _supervisor(u, t) and t.pending_request("return") is not None,
           params=lambda f: {"approved": f.get("approved"), "user_id": f.get("user_id"), "note": f.text()}),
    Action("object_dispatch", "派单异议", _OPEN, disputes.file_objection, own_form=True,
           may=lambda u, t: _owner(u, t) and t.pending_request("objection") is None,
           params=lambda f: {"reason": f.text()}, options=("dispute_settings",)),
    Action("decide_objection", "审核派单异议", _OPEN, disputes.decide_objection, own_form=True,
           may=lambda u, t: _supervisor(u, t) and t.pending_request("objection") is not None,
           params=lambda f: {"upheld": f.get("upheld", f.get("approved")), "user_id": f.get("user_id"),
                             "note": f.text()}, options=("dispute_settings",)),
    Action("merge", "并单", ("pending_dispatch", *_OPEN), merging.merge, may=_desk, own_form=True,
           params=lambda f: {"into": f.get("into", f.get("into_id")), "reason": f.text()}),
    Action("split", "拆分并单", ("merged",), merging.split, may=_supervisor, own_form=True,
           params=lambda f: {"reason": f.text()}),
    Action("contact_callback", "来电人回访", ("pending_callback", "closed"), merging.record_contact_callback,
           may=lambda u, t: _desk(u, t) and any(c.split_at is None and c.callback_at is None for c in t.contacts),
           own_form=True,
           params=lambda f: {"contact_id": f.get("contact_id"), "satisfaction": _satisfaction(f), "note": f.text()}),
)

#: Timeline events that are no one's action: written by services and jobs as a consequence.
EVENT_LABELS = {
    "create": "创建工单", "reject_extension": "驳回延期", "reject_return": "驳回退单", "reassign": "改派",
    "attach": "上传附件", "warn": "时限预警", "overdue": "超期",
    "reject_objection": "驳回派单异议", "merge_in": "并入重复诉求", "split_out": "拆出并单",
    "reopen": "重新办理", "reject_reopen": "不予重新办理",
}


def get(name: str) -> Action | None:
    return next((a for a in TABLE if a.name == name), None)


def names() -> list[str]:
    """The actions /api/v1/tickets/{id}/actions and the ticket page's action forms accept."""
    return [a.name for a in TABLE if a.generic]


def label(name: str) -> str:
    """What a timeline event or an action is called."""
    action = get(name)
    return action.label if action is not None else EVENT_LABELS.get(name, name)


def allowed_from(name: str) -> tuple[str, ...] | None:
    """The states an action may start from (None: any, or not a state-machine action)."""
    action = get(name)
    return action.states if action is not None else None


def available(user: User | None, ticket: Ticket) -> list[Action]:
    """The actions this person may take on this ticket as it stands: exactly what the ticket page offers."""
    if user is None or not can_view(user, ticket):
        return []
    return [a for a in TABLE if a.offered_to(user, ticket)]


def run(*, actor: User, now: datetime, ticket: Ticket, data: Mapping[str, Any],
        options: Mapping[str, Any] | None = None) -> Ticket:
    """Apply one named action with its parameters (a JSON body or a form) to a ticket; `options` holds
    what the deployment's settings give the actions that take them (see `Action.options`)."""
    name = str(data.get("action") or "").strip()
    action = get(name)
    if action is None or not action.generic:
        raise TicketError(f"未知操作:{name or '(空)'}(可选:{'、'.join(names())})", field="action")
    given = {k: (options or {})[k] for k in action.options if k in (options or {})}
    action.service(actor=actor, now=now, ticket=ticket, version=data.get("version"),
                   **action.params(Fields(data)), **given)
    return ticket
