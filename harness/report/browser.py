"""Headless Chromium: the one place the harness, its tests and its benchmarks start it from.

The browser is Debian's ``chromium`` (installed by ``make browser``). :class:`Browser` starts it
headless and offline with one page and drives it over the DevTools protocol through a pipe
(``--remote-debugging-pipe``: file descriptors 3 and 4, no port, no network): the PDF printer
(:mod:`harness.report.pdf`), the report tests and the print benchmark all use it.
:func:`headless_command` is the same command line for one-shot runs (``--dump-dom``,
``--screenshot``); the review station's Selenium tests give chromedriver the same binary
(:func:`chromium_path`) and :data:`HEADLESS_FLAGS`.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from harness.errors import ReportError

INSTALL_HINT = "install it with `make browser` (Debian: apt-get install chromium)"

# Paper sizes in inches (portrait); the report's @page rule sets 0.5 in margins.
PAPERS = {"letter": (8.5, 11.0), "a4": (8.27, 11.69)}
MARGIN_IN = 0.5

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


def headless_command(profile: Path) -> list[str]:
    """The command line of a one-shot headless Chromium (add ``--dump-dom URL`` and the like)."""
    return [require_chromium(), *HEADLESS_FLAGS, f"--user-data-dir={profile}"]


class Browser:
    """One headless Chromium with one page, its DevTools protocol on a pipe (NUL-ended messages).

    ``send`` talks to the page; ``open`` loads a local file; ``close`` (or leaving a ``with``
    block) ends the browser and every process it started, nothing else.
    """

    def __init__(self, profile: Path, timeout: float = 60.0) -> None:
        exe = require_chromium()
        profile.mkdir(parents=True, exist_ok=True)
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
        self._closed = False
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        try:
            target = self.send("Target.createTarget", url="about:blank")["targetId"]
            attached = self.send("Target.attachToTarget", targetId=target, flatten=True)
        except BaseException:
            self.close()
            raise
        self.session = str(attached["sessionId"])

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

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command to the page; its result (events are kept in ``events``)."""
        self._ids += 1
        msg: dict[str, Any] = {"id": self._ids, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._ids:
                if "error" in reply:
                    raise ReportError(f"Chromium refused {method}: {reply['error'].get('message')}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, event: str) -> None:
        """Read until the page has sent ``event`` (kept in ``events``)."""
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self._read())

    def open(self, path: Path) -> None:
        """Load a local file and wait for its load event."""
        self.send("Page.enable")
        self.events.clear()
        self.send("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str, await_promise: bool = False) -> Any:
        """The value of a JavaScript expression in the page (DevTools is not bound by its CSP)."""
        res = self.send(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=await_promise,
        )
        if "exceptionDetails" in res:
            raise ReportError(f"script failed: {res['exceptionDetails']}")
        return res.get("result", {}).get("value")

    def print_layout(self, width_in: float) -> None:
        """Lay the page out as print media at a content width (paper minus margins)."""
        self.send("Emulation.setEmulatedMedia", media="print")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=round(width_in * 96),
            height=1000,
            deviceScaleFactor=1,
            mobile=False,
        )

    def pdf(self, paper: str, footer: str | None = None, tagged: bool = False) -> bytes:
        """The open page printed on ``paper`` (letter or a4), portrait, 0.5 in margins.

        ``footer`` is an HTML footer template printed on every page (none when None); ``tagged``
        asks for a tagged PDF with a document outline.
        """
        if paper not in PAPERS:
            raise ReportError(f"unknown paper '{paper}'; papers: {', '.join(PAPERS)}")
        width, height = PAPERS[paper]
        extra: dict[str, Any] = {}
        if footer is not None:
            extra = {"headerTemplate": "<span></span>", "footerTemplate": footer}
        if tagged:
            extra.update(generateTaggedPDF=True, generateDocumentOutline=True)
        res = self.send(
            "Page.printToPDF",
            paperWidth=width,
            paperHeight=height,
            marginTop=MARGIN_IN,
            marginBottom=MARGIN_IN,
            marginLeft=MARGIN_IN,
            marginRight=MARGIN_IN,
            printBackground=True,
            preferCSSPageSize=False,
            displayHeaderFooter=footer is not None,
            **extra,
        )
        return base64.b64decode(res["data"])

    def close(self) -> None:
        """End this browser and the processes it started (its own session), nothing else."""
        if self._closed:
            return
        self._closed = True
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

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
