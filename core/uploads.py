"""What an uploaded file may be: spreadsheets checked as archives before a parser opens them, photos,
scans and recordings recognised by their bytes, and file names fit to store and to send back in a download."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from core.errors import DomainError


class UploadError(DomainError):
    """The upload is refused before it is parsed; the message says why in the user's terms."""


@dataclass(frozen=True)
class SheetLimits:
    """How much of a workbook an import may make the server unpack and read."""

    #: Sum of the archive members' sizes once decompressed.
    max_unpacked_bytes: int = 30 * 1024 * 1024
    #: Largest decompressed/compressed ratio of one member (real sheets stay far below; bombs far above).
    max_ratio: int = 200
    #: Members smaller than this are not held to the ratio (tiny XML parts compress unevenly).
    ratio_floor_bytes: int = 1024 * 1024
    max_members: int = 500
    max_rows: int = 10_000
    max_columns: int = 100


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f}MB"


def check_xlsx_archive(content: bytes, limits: SheetLimits) -> None:
    """Refuse a workbook whose archive would unpack to more than the limits allow (a "zip bomb"),
    reading only its directory: nothing is decompressed here."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise UploadError("文件不是有效的xlsx表格（可能是改了扩展名的其他文件），请用Excel另存为.xlsx后再导入") from None
    if len(members) > limits.max_members:
        raise UploadError(f"xlsx文件结构异常（包含{len(members)}个内部文件，超过{limits.max_members}个），"
                          "请用Excel另存为.xlsx后再导入")
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_unpacked_bytes:
        raise UploadError(f"表格解压后过大（约{_mb(unpacked)}，上限{_mb(limits.max_unpacked_bytes)}），"
                          "请删去多余的行、列和格式，或拆分后分批导入")
    for m in members:
        if m.file_size >= limits.ratio_floor_bytes and m.file_size > limits.max_ratio * max(m.compress_size, 1):
            ratio = m.file_size // max(m.compress_size, 1)
            raise UploadError(f"表格压缩比异常（其中一部分解压后放大{ratio}倍），疑似恶意构造，已拒绝；"
                              "请用Excel另存为.xlsx后再导入")


def open_workbook(content: bytes, limits: SheetLimits) -> Workbook:
    """The workbook in read-only mode, after the archive checks."""
    check_xlsx_archive(content, limits)
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise UploadError("无法读取xlsx文件，文件可能已损坏，请用Excel另存为.xlsx后再导入") from None


def read_sheet(content: bytes, limits: SheetLimits, sheet: str) -> tuple[str, list[tuple[Any, ...]]]:
    """The sheet named `sheet` (or else the first) as its title and rows of values, header first."""
    wb = open_workbook(content, limits)
    try:
        ws = wb[sheet] if sheet in wb.sheetnames else wb.worksheets[0]
        return ws.title, list(sheet_rows(ws, limits))
    except UploadError:
        raise
    except Exception:
        raise UploadError("无法读取xlsx文件中的工作表，文件可能已损坏，请用Excel另存为.xlsx后再导入") from None
    finally:
        wb.close()


def sheet_rows(ws: Any, limits: SheetLimits) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows (header first), at most `max_columns` wide, refusing one with more than `max_rows`
    data rows. The size the file declares is ignored: a forged A1:XFD1048576 would have every row padded
    to 16,384 cells and a million empty rows produced."""
    ws.reset_dimensions()
    last = limits.max_rows + 1  # the header row, then the data rows
    for number, row in enumerate(ws.iter_rows(min_row=1, max_row=last + 1, max_col=limits.max_columns,
                                              values_only=True), start=1):
        if number > last:
            if any(v is not None and str(v).strip() for v in row):
                raise UploadError(f"工作表“{ws.title}”行数过多（超过{limits.max_rows}行数据），请拆分后分批导入")
            continue
        yield row


# --- media files (photos, scans, recordings) -----------------------------------------------------

@dataclass(frozen=True)
class Media:
    kind: str  #: also the stored file's extension
    content_type: str
    label: str
    #: File name extensions this content may carry.
    extensions: tuple[str, ...]

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def is_audio(self) -> bool:
        return self.content_type.startswith("audio/")


MEDIA: dict[str, Media] = {m.kind: m for m in (
    Media("jpg", "image/jpeg", "JPG照片", ("jpg", "jpeg")),
    Media("png", "image/png", "PNG图片", ("png",)),
    Media("pdf", "application/pdf", "PDF扫描件", ("pdf",)),
    Media("mp3", "audio/mpeg", "MP3录音", ("mp3",)),
    Media("m4a", "audio/mp4", "M4A录音", ("m4a", "mp4", "aac")),
    Media("wav", "audio/wav", "WAV录音", ("wav",)),
)}
#: ISO base media brands of audio recordings (phones' voice memos and recorders).
_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"mp42", b"mp41", b"isom", b"3gp4", b"3gp5")


def sniff_media(data: bytes) -> str | None:
    """The MEDIA kind the file's first bytes show (magic numbers), whatever its name says; None for
    anything else (an executable, a script, a document renamed .jpg)."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[4:8] == b"ftyp" and head[8:12] in _AUDIO_BRANDS:
        return "m4a"
    # MP3: an ID3 tag, or an MPEG audio frame header (11 sync bits, a valid layer and bit rate).
    if head.startswith(b"ID3") or (len(head) >= 3 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
                                   and head[1] & 0x06 and head[2] & 0xF0 not in (0x00, 0xF0)):
        return "mp3"
    return None


def check_media(filename: str | None, data: bytes, *, allowed: tuple[str, ...], max_bytes: int) -> tuple[str, Media]:
    """The safe file name and media type of an upload, refused (UploadError) when empty, over `max_bytes`,
    not one of the `allowed` kinds by its content, or named as another kind than its content is."""
    name = safe_filename(filename)
    labels = "、".join(MEDIA[kind].label for kind in allowed)
    if len(data) > max_bytes:
        raise UploadError(f"“{name}”超过{_mb(max_bytes)}，请压缩后再上传", code="too_large", status=413, field="files")
    if not data:
        raise UploadError(f"“{name}”是空文件", field="files")
    kind = sniff_media(data)
    if kind not in allowed:
        raise UploadError(f"“{name}”不是可接受的文件（按文件内容判断）；只接受{labels}", code="bad_type", field="files")
    media = MEDIA[kind]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in media.extensions:
        raise UploadError(f"“{name}”的内容是{media.label}，与扩展名不符，已拒绝；请用原始文件上传",
                          code="bad_type", field="files")
    return name, media


# --- file names ---------------------------------------------------------------------------------

MAX_FILENAME = 120
#: Control and direction-changing characters: dropped.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
#: Characters a file name may not hold on Windows: replaced.
_RESERVED = re.compile(r'[:*?"<>|]')


def safe_filename(raw: str | None, default: str = "附件") -> str:
    """A file name fit to store and to offer as a download: control characters, path separators and
    characters Windows refuses removed, at most MAX_FILENAME characters with the extension kept;
    Chinese and other letters stay."""
    name = _INVISIBLE.sub("", unicodedata.normalize("NFC", raw or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(_RESERVED.sub("_", name).split()).strip(". ")
    if not name:
        return default
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = f"{stem[:MAX_FILENAME - len(ext) - 1].rstrip('. ')}.{ext}"
        else:
            name = name[:MAX_FILENAME]
    return name


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A Content-Disposition header value for any name: an ASCII fallback, and the real name as
    RFC 5987 `filename*` (UTF-8, percent-encoded), so no character of the name reaches the header raw."""
    name = safe_filename(filename)
    stem, _, ext = name.rpartition(".") if "." in name else (name, "", "")
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9 ()+_-]", "_", ascii_stem).strip(" _") or "download"
    ext = re.sub(r"[^A-Za-z0-9]", "", ext)
    if ext:
        fallback = f"{fallback}.{ext}"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
