"""A household check saved on a call (初步研判): the facts the operator confirmed and the hints given, with the
rules and knowledge-base revision they came from; copied onto the ticket made from the call."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class EligibilityCheck(Base):
    """One saved check: on a call, or (copied when the ticket is made) on the ticket made from it."""

    __tablename__ = "eligibility_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    #: Set on the copy a ticket carries; the call's own checks have none.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    #: The household as validated (eligibility.household.Household, JSON).
    household_json: Mapped[str] = mapped_column(Text)
    #: The programmes' verdicts, reasons, missing facts, entries and the notice, as the operator saw them.
    result_json: Mapped[str] = mapped_column(Text)
    #: The knowledge base's revision counter (kb_revision) and the rule files' fingerprint when checked.
    kb_revision: Mapped[int] = mapped_column(Integer)
    rules_version: Mapped[str] = mapped_column(String(20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: When the operator checked (a ticket's copy keeps the time of the check it copies).
    checked_at: Mapped[datetime]

    @property
    def household(self) -> dict[str, Any]:
        return json.loads(self.household_json)

    @property
    def result(self) -> dict[str, Any]:
        return json.loads(self.result_json)
