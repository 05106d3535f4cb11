"""Checks on what callers and uploaders give us: phone numbers, ID numbers (GB 11643), file contents."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from typing import Any

from core import xlsx
from core.errors import Conflict, DomainError
from core.uploads import sniff_media


class TicketError(DomainError):
    """The tickets area's refusal, with a message fit for the user."""


class StaleVersion(Conflict):
    """A change sent with a version someone else has since moved past: it names the ticket and the
    version the sender had, so the answer can list what changed after it (tickets.changes)."""

    code = "stale_version"

    def __init__(self, message: str, *, ticket_id: int, seen_version: int) -> None:
        super().__init__(message)
        self.ticket_id = ticket_id
        self.seen_version = seen_version


#: Longest free text (a note, a reason, a resolution) a ticket takes.
MAX_TEXT = 5000


def clean_text(value: Any, label: str, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    text = str(value).strip() if value is not None else ""
    if required and not text:
        raise TicketError(f"请填写{label}", field=field)
    if len(text) > limit:
        raise TicketError(f"{label}不能超过{limit}字", field=field)
    return text


_PHONE_NOISE = re.compile(r"[\s\-()()]")
_PHONE = re.compile(r"^\+?\d{3,20}$")
_ID = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def phone_digits(raw: str | None) -> str:
    """A phone number without the spaces, dashes and brackets people type."""
    return _PHONE_NOISE.sub("", raw or "")


def normalize_phone(raw: str | None, *, field: str, label: str, required: bool = True) -> str:
    value = phone_digits(raw)
    if not value:
        if required:
            raise DomainError(f"请填写{label}", field=field)
        return ""
    if not _PHONE.match(value):
        raise DomainError(f"{label}格式不正确:应为3-20位数字", field=field)
    return value


def id_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def check_id_number(raw: str | None, *, field: str = "citizen_id_number") -> str:
    """An 18-character resident ID number with a valid birth date and GB 11643 check digit, or ""."""
    value = (raw or "").strip().upper()
    if not value:
        return ""
    if not _ID.match(value):
        raise DomainError("身份证号码应为18位(前17位为数字,最后一位为数字或X)", field=field)
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise DomainError("身份证号码中的出生日期无效,请核对", field=field) from None
    if born.year < 1900:
        raise DomainError("身份证号码中的出生日期无效,请核对", field=field)
    if value[17] != id_check_digit(value[:17]):
        raise DomainError("身份证号码校验位不正确,请核对后重新填写", field=field)
    return value


#: Accepted attachment types: extension → (MIME type, label). Checked by content, not by name.
ATTACHMENT_TYPES = {
    "pdf": ("application/pdf", "PDF"),
    "jpg": ("image/jpeg", "JPG"),
    "png": ("image/png", "PNG"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "DOCX"),
    "xlsx": (xlsx.MIMETYPE, "XLSX"),
}
_EXTENSION_ALIASES = {"jpeg": "jpg"}


def sniff(head: bytes, data: bytes | None = None) -> str | None:
    """The attachment type a file's bytes show (magic numbers), or None when it is none we accept."""
    media = sniff_media(head)
    if media in ATTACHMENT_TYPES:
        return media
    if head.startswith(b"PK\x03\x04") and data is not None:
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return None


def extension_of(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _EXTENSION_ALIASES.get(ext, ext)
