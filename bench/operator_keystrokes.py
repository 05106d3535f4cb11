"""Keystrokes and seconds from answering a call to its saved record, and to a saved ticket, on the
operator's page, for a typed-only call (no telephony) and for a transcript call (a sample recording
replayed through the call events API), driven by Playwright in Debian's chromium.

    python -m bench.operator_keystrokes [--key-delay-ms 120] [--rounds 1]

Sets up a throw-away instance (SQLite file, bundled KB, an operator and a telephony account), serves
it as `make run` does (gunicorn, 2 threaded workers), and plays the operator. Typing is simulated at
--key-delay-ms a key and counts one keystroke a character (a Chinese IME takes more: the figures for
typed calls are a floor). The transcript call is replayed at once (speed 0) when the operator takes it,
so its seconds are the screen's own: stream delivery, rendering and saving. The confirmation (the
ticket form's Ctrl+Enter) is counted apart from the keystrokes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.http_load import BIN, ROOT, Server, _setup
from core import serve

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORD = "Bench12345"  # bench.http_load's operator
WAIT_MS = 30000


def _telephony_token(env: dict) -> str:
    flask = [str(BIN / "flask"), "--app", "app"]
    subprocess.run([*flask, "users", "create", "benchpbx", "--role", "telephony", "--password", "Telephony123"],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    return subprocess.run([*flask, "users", "token", "benchpbx"], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login")
    page.fill("input[name=username]", "benchbot")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector("#call-stream-state.live", timeout=WAIT_MS)


def typed_call(page, base: str, delay: float, to_ticket: bool) -> tuple[int, float]:
    """No telephony: the operator searches what the caller asks (the first key starts the timer), opens the
    top entry, clicks into the panel and types the caller's number, and records (Alt+R), or records it
    as a ticket (Alt+T), names the caller and picks the township."""
    from tests.browser.desk import Keys

    page.goto(f"{base}/kb/search")
    page.wait_for_selector("#call-stream-state.live", timeout=WAIT_MS)
    keys = Keys(page)
    start = time.monotonic()  # the search box has the focus: the operator's first key starts the call
    _type(keys, "低保怎么申请", delay)
    page.wait_for_selector("#results li.result", timeout=WAIT_MS)
    keys.press("Enter")
    page.wait_for_selector("#card .card-entry", timeout=WAIT_MS)
    page.click("#call-number")  # one click into the panel for the caller's number
    _type(keys, "13812345678", delay)

    def complete_ticket() -> None:
        _type(keys, "王", delay)  # the form focuses its first empty required field: the name
        # The township: one click into its picker, the pinyin initials (紫来街道 → zljd) and Enter; a short
        # list stays a plain select, picked with the mouse (a Chinese type-ahead needs an IME).
        picker = page.locator(".picker:has(select[name=township_id]) .picker-input")
        if picker.count():
            picker.click()
            _type(keys, "zljd", delay)
            page.wait_for_selector(".picker:has(select[name=township_id]) .picker-list li[data-value]",
                                   timeout=WAIT_MS)
            keys.press("Enter")
        else:
            label = page.locator("select[name=township_id] option", has_text="紫来").first.inner_text()
            page.select_option("select[name=township_id]", label=label)

    return _finish(page, keys, start, to_ticket, complete_ticket)


def _finish(page, keys, start: float, to_ticket: bool, complete_ticket=None) -> tuple[int, float]:
    """Record the call (Alt+R), or record it as a ticket (Alt+T), complete what the form lacks and confirm."""
    import re

    if not to_ticket:
        keys.press("Alt+R")
        page.wait_for_selector("#call-done:not([hidden])", timeout=WAIT_MS)
        return len(keys), time.monotonic() - start
    keys.press("Alt+T")
    page.wait_for_url("**/tickets/new?call_id=*", timeout=WAIT_MS)
    if complete_ticket is not None:
        complete_ticket()
    page.keyboard.press("Control+Enter")  # the confirmation, not counted
    page.wait_for_url(re.compile(r"/tickets/\d+$"), timeout=WAIT_MS)
    return len(keys), time.monotonic() - start


def transcript_call(page, base: str, telephony, sample: str, words: str, to_ticket: bool) -> tuple[int, float]:
    """Telephony rings the operator; they take it (Alt+A), the caller's words and the suggestions stream
    in, and they record it (Alt+R) or turn it into a ticket (Alt+T, the form already filled)."""
    from tests.browser.desk import Keys, take_ringing_call, wait_for_suggestion, wait_for_words

    page.goto(f"{base}/kb/search")
    page.wait_for_selector("#call-stream-state.live", timeout=WAIT_MS)
    keys = Keys(page)
    external_id, events, started = telephony.ring(sample)
    take_ringing_call(page, keys, WAIT_MS)
    start = time.monotonic()  # answered
    telephony.talk(external_id, events, started)
    wait_for_words(page, words, WAIT_MS)
    wait_for_suggestion(page, WAIT_MS)
    return _finish(page, keys, start, to_ticket)


def _type(keys, text: str, delay: float) -> None:
    for char in text:
        keys.type(char)
        time.sleep(delay)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--key-delay-ms", type=float, default=120)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        print(f"skipped: {CHROMIUM} not installed (make setup installs it as root)")
        return 0
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.browser.desk import Telephony

    delay = args.key_delay_ms / 1000
    runs: dict[str, list[tuple[int, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env, token = _setup(Path(tmp))
        pbx = _telephony_token(env)
        server = Server(env, Path(tmp), serve.WORKERS, "gthread")  # core.serve's command line
        try:
            server.wait_ready(token)
            base = f"http://127.0.0.1:{server.port}"
            telephony = Telephony(base, pbx, "benchbot")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
                page = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
                _log_in(page, base)
                for _ in range(args.rounds):
                    for name, run in (
                        ("typed-only call → recorded", lambda: typed_call(page, base, delay, False)),
                        ("typed-only call → ticket", lambda: typed_call(page, base, delay, True)),
                        ("transcript call → recorded",
                         lambda: transcript_call(page, base, telephony, "02-two-needs.jsonl", "护理补贴", False)),
                        ("transcript call → ticket",
                         lambda: transcript_call(page, base, telephony, "01-dibao-dialect.jsonl", "咋申请", True)),
                    ):
                        runs.setdefault(name, []).append(run())
                browser.close()
        finally:
            server.stop()
    print(f"gunicorn {serve.WORKERS} x gthread workers, file SQLite, chromium headless; typing at "
          f"{args.key_delay_ms:.0f} ms a key, {args.rounds} round(s); seconds from answer (typed-only: from "
          "the first key) to the saved record or ticket; the ticket form's confirmation not counted; typed-only "
          "calls take one click into the call panel besides, and their ticket one click into the township picker (its pinyin initials and Enter counted)")
    print(f"{'':<30} {'keystrokes':>10} {'seconds (median)':>17}")
    for name, results in runs.items():
        keys = sorted({k for k, _ in results})
        seconds = statistics.median(s for _, s in results)
        print(f"{name:<30} {'/'.join(map(str, keys)):>10} {seconds:>17.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
