"""Word documents rendered by LibreOffice (headless) to PDF and read back with poppler, for the tests
that look at a notice as it will be printed; skipped with a note where they are not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo") and shutil.which("pdftoppm")

needs_office = pytest.mark.skipif(
    not (SOFFICE and POPPLER),
    reason="LibreOffice (soffice) or poppler-utils missing: `make setup` as root installs them (make office-deps)")


def docx_to_pdf(data: bytes, folder: Path) -> Path:
    """Convert .docx bytes with `soffice --headless --convert-to pdf` in a throw-away profile."""
    source = folder / "notice.docx"
    source.write_bytes(data)
    profile = folder / "lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(folder), str(source)], check=True, capture_output=True, timeout=180)
    return folder / "notice.pdf"


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout


def first_page_png(pdf: Path, dpi: int = 60) -> Path:
    """Page 1 as a PNG (pdftoppm), to look at or show in the browser."""
    stem = pdf.with_name("page")
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                   check=True, capture_output=True, timeout=60)
    return stem.with_suffix(".png")
