"""Builders for knowledge-base test data."""

from __future__ import annotations

import itertools

from core import clock
from kb import services

_seq = itertools.count(900)


def entry_data(**overrides) -> dict:
    data = {"id": f"Q{next(_seq)}", "category": "临时救助", "question": "测试问题:临时救助怎么申请?",
            "similar": ["家里出事了能不能给点救助"], "keywords": ["临时救助"],
            "answer": "向乡镇(街道)申请。审批额度上限:{{临时救助_乡镇审批上限}}。", "detail": "详细说明",
            "policy_basis": [{"name": "社会救助暂行办法", "number": "国务院令第649号", "article": "第四十七条"}],
            "level": "国家", "eligibility": "", "materials": "", "process": "", "handling_unit": "乡镇人民政府",
            "contact": "", "status": "published", "review_date": "2027-06-30"}
    data.update(overrides)
    return data


def make_entry(actor=None, note: str = "新建", **overrides):
    entry, _ = services.save_entry(actor=actor, now=clock.now(), data=entry_data(**overrides), note=note)
    return entry


def upload_export_with(client, cell: str, value: str):
    """Export every entry as xlsx, set one cell (F2: Q001's answer script) and upload it to the import page."""
    import io

    from openpyxl import load_workbook

    from kb import transfer

    wb = load_workbook(io.BytesIO(transfer.export_xlsx(services.entries())))
    wb.active[cell] = value
    buf = io.BytesIO()
    wb.save(buf)
    return client.post("/kb/import", data={"file": (io.BytesIO(buf.getvalue()), "kb.xlsx")},
                       content_type="multipart/form-data")
