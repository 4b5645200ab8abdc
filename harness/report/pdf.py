"""A rendered report printed to a tagged, accessible PDF by headless Chromium.

The engine is the browser the report tests already use (Debian's ``chromium``, installed by
``make browser``): the PDF is what a leader gets from the browser's own Print, with the same
print stylesheet. Chromium is driven over the DevTools protocol through a pipe
(``--remote-debugging-pipe``: file descriptors 3 and 4, no port, no network), and
``Page.printToPDF`` writes a tagged PDF (``generateTaggedPDF``: headings, paragraphs, tables
and figures with their alt text in the structure tree, the document's language and title) with
the page number and the district's name in the footer.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import html
import json
import os
import select
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.errors import ReportError

# Paper sizes in inches (portrait); the report's @page rule sets 0.5 in margins.
PAPERS = {"letter": (8.5, 11.0), "a4": (8.27, 11.69)}
MARGIN_IN = 0.5
INSTALL_HINT = "install it with `make browser` (Debian: apt-get install chromium)"

# Headless and offline: the one command line the PDF, the report tests and the benchmarks use.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-proxy-server",
    "--disable-quic",
)
FLAGS = (*HEADLESS_FLAGS, "--remote-debugging-pipe")

FOOTER = (
    '<div style="font: 8pt sans-serif; color: #333; width: 100%; margin: 0 0.5in; '
    'display: flex; justify-content: space-between;">'
    "<span>{left}</span>"
    '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span>'
    "</div>"
)


def chromium_path() -> str | None:
    """Debian's ``chromium`` (or ``chromium-browser``, ``google-chrome``) on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The browser's path, or a ReportError saying how to install it (checked before rendering)."""
    exe = chromium_path()
    if exe is None:
        raise ReportError(f"no Chromium to print the PDF with; {INSTALL_HINT}")
    return exe


class _Browser:
    """One headless Chromium, its DevTools protocol on a pipe (messages end with a NUL)."""

    def __init__(self, exe: str, profile: Path, timeout: float) -> None:
        to_chrome_r, self._out = os.pipe()
        self._in, from_chrome_w = os.pipe()
        # Above 9, so that putting them on 3 and 4 cannot overwrite one of them.
        low = (to_chrome_r, from_chrome_w)
        to_chrome_r, from_chrome_w = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in low)
        for fd in low:
            os.close(fd)
        # The browser reads commands on fd 3 and writes replies on fd 4; its own session, so
        # that its helper processes can be ended with it.
        args = [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        self.pid = os.posix_spawn(
            exe,
            args,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, to_chrome_r, 3),
                (os.POSIX_SPAWN_DUP2, from_chrome_w, 4),
            ],
            setsid=True,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.timeout = timeout
        self._buf = b""
        self._ids = 0
        self.events: list[dict[str, Any]] = []

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise ReportError(f"Chromium did not answer within {self.timeout:.0f} s")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise ReportError("Chromium closed its DevTools pipe (did it start?)")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return dict(json.loads(msg))

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._ids += 1
        msg: dict[str, Any] = {"id": self._ids, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._ids:
                if "error" in reply:
                    raise ReportError(f"Chromium refused {method}: {reply['error'].get('message')}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, event: str) -> None:
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self._read())

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        for fd in (self._out, self._in):
            os.close(fd)
        deadline = time.monotonic() + 10
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)  # its own session: only what it started
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)


def print_pdf(
    page: Path,
    out: Path | None = None,
    paper: str = "letter",
    footer: str = "",
    timeout: float = 180.0,
) -> Path:
    """Print an HTML report to a tagged PDF beside it (or at ``out``); returns the PDF's path.

    ``paper`` is letter or a4 (portrait); ``footer`` is the text at the left of every page's
    footer (the district's name), the page number and count at its right.
    """
    if paper not in PAPERS:
        raise ReportError(f"unknown paper '{paper}'; papers: {', '.join(PAPERS)}")
    exe = require_chromium()
    out = out or page.with_suffix(".pdf")
    width, height = PAPERS[paper]
    with tempfile.TemporaryDirectory(prefix="harness-pdf-", ignore_cleanup_errors=True) as tmp:
        browser = _Browser(exe, Path(tmp), timeout)
        try:
            target = browser.send("Target.createTarget", url="about:blank")["targetId"]
            session = browser.send("Target.attachToTarget", targetId=target, flatten=True)
            sid = session["sessionId"]
            browser.send("Page.enable", sid)
            browser.events.clear()
            browser.send("Page.navigate", sid, url=page.resolve().as_uri())
            browser.wait_for("Page.loadEventFired")
            res = browser.send(
                "Page.printToPDF",
                sid,
                paperWidth=width,
                paperHeight=height,
                marginTop=MARGIN_IN,
                marginBottom=MARGIN_IN,
                marginLeft=MARGIN_IN,
                marginRight=MARGIN_IN,
                printBackground=True,
                preferCSSPageSize=False,
                displayHeaderFooter=True,
                headerTemplate="<span></span>",
                footerTemplate=FOOTER.format(left=html.escape(footer)),
                generateTaggedPDF=True,
                generateDocumentOutline=True,
            )
        finally:
            browser.close()
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_bytes(base64.b64decode(res["data"]))
    os.replace(tmp_out, out)
    return out
