"""The review station's Starlette app: one page per task, one form post per submission.

Each reviewer reaches their queue through ``/r/<token>`` (an unguessable token per reviewer);
on 127.0.0.1 the start page also lists the reviewers' links. A submission is committed to
SQLite before the server answers with a redirect to the next page, which confirms it. Every
form carries a CSRF token (an HMAC of the reviewer's token and the task with the station's
secret); posts from another origin are refused; templates autoescape; every response carries
a strict Content-Security-Policy and loads nothing but this server's own files.

A submission the station cannot store (no button, no choice, an empty reply, Approve without a
rating or "Can't rate" for each criterion, malformed timing events) is answered 400 with the
same task shown again and everything the reviewer typed and ticked still in it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.review import approval, db, questions, wording
from harness.review.signoff import SignOff
from harness.review.timing import MalformedEvents, measured_seconds, strict_events

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
FLAGS = [
    ("inaccurate", "Inaccurate"),
    ("outdated", "Outdated"),
    ("needs_person", "Needs a person"),
    ("tone", "Tone"),
    ("personal_data", "Personal data"),
    ("placeholder", "Placeholder left in"),
]
PLACEHOLDER_FLAG = "placeholder"
CANT_RATE = "na"
DECISIONS = {
    "drafts": ("approved", "rejected", "skipped"),
    "scratch": ("written", "skipped"),
    "side_by_side": ("chosen", "skipped"),
}
CHOICES = ("left", "right", "neither")
MAX_BODY = 512 * 1024
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class StationContext:
    """What the app needs: the queue's database, the dataset's texts, the rubric's criteria."""

    db_file: Path
    items: dict[str, dict[str, Any]]
    sources: dict[str, list[dict[str, Any]]]
    criteria: list[dict[str, Any]]
    host: str = "127.0.0.1"
    port: int = 0
    title: str = "Draft review"
    secret: bytes = field(default=b"", repr=False)
    cited: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # draft -> passages

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK


class SecurityHeaders:
    """ASGI middleware adding the CSP and related headers to every response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, wrapped)


def csrf_token(secret: bytes, token: str, task_id: int) -> str:
    """The form token for one reviewer's task."""
    return hmac.new(secret, f"{token}|{task_id}".encode(), hashlib.sha256).hexdigest()


def _same_origin(request: Request) -> bool:
    """A browser's post from this server's own page (a forged cross-site post is refused)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True  # no browser metadata: the form's CSRF token still has to match
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _parse_form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def _first(form: dict[str, list[str]], key: str, default: str = "") -> str:
    vals = form.get(key)
    return vals[0] if vals else default


def build_app(ctx: StationContext) -> Starlette:
    """The Starlette app for one station (``ctx`` from :func:`harness.review.station.open`)."""
    env = _env()
    local = threading.local()

    @contextmanager
    def conn() -> Iterator[sqlite3.Connection]:
        # one connection per server thread, kept open: reopening costs the WAL pragma, and the
        # last connection's close would checkpoint the WAL (fsyncs) on every request
        c = getattr(local, "conn", None)
        if c is None:
            c = local.conn = db.open_connection(ctx.db_file)
        yield c

    with db.connect(ctx.db_file) as c:
        if not ctx.secret:
            ctx.secret = bytes.fromhex(db.meta(c, "secret"))
        approvers = approval.approvers(c)  # fixed while the station runs

    def render(name: str, status: int = 200, **kw: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(title=ctx.title, **kw), status)

    signoff = SignOff(ctx, render, conn, csrf_token)

    def index(request: Request) -> Response:
        with conn() as c:
            prog = db.progress(c)
            links = db.reviewers(c) if ctx.loopback else {}
        rows = [
            {
                "name": r.reviewer,
                "done": int(r.done),
                "tasks": int(r.tasks),
                "token": links.get(r.reviewer),
            }
            for r in db._rows(prog)
        ]
        signers = [{"name": n, "token": t if ctx.loopback else None} for n, t in approvers.items()]
        return render("index.html", rows=rows, loopback=ctx.loopback, approvers=signers)

    def _page(
        token: str,
        saved: str = "",
        error: str = "",
        status: int = 200,
        posted: dict[str, Any] | None = None,
    ) -> Response:
        with conn() as c:
            name = db.reviewer_by_token(c, token)
            if name is None:
                return render(
                    "message.html",
                    404,
                    heading="Link not recognised",
                    text="Open the link you were given for the review, or ask the "
                    "person running it for yours.",
                )
            back = approval.sent_back(c, name) if approvers else None
            if back is not None:  # a reply sent back comes before the next draft
                return signoff.revise_page(c, token, back, saved, error, status, posted)
            total, done = db.counts(c, name)
            task = db.next_task(c, name)
            if task is None:
                return render("done.html", reviewer=name, done=done, saved=saved)
            opened = db.mark_opened(c, int(task["task_id"]))
            a = db.draft(c, task["draft_id"]) if task["draft_id"] else None
            b = db.draft(c, task["draft_b_id"]) if task["draft_b_id"] else None
        item = ctx.items.get(task["item_id"], {})
        left, right = (b, a) if task["swapped"] else (a, b)
        if posted is not None and posted.get("task_id") != int(task["task_id"]):
            posted = None  # typed for another task: this page starts clean
        return render(
            "task.html",
            status,
            reviewer=name,
            token=token,
            task_id=int(task["task_id"]),
            mode=task["mode"],
            number=done + 1,
            total=total,
            message=item.get("input", ""),
            w=wording.words(item.get("task")),
            sources=ctx.sources.get(task["item_id"], []),
            cited=ctx.cited.get(a["draft_id"]) if a is not None else None,
            draft=a["text"] if a is not None and task["mode"] == "drafts" else "",
            left=left["text"] if left is not None else "",
            right=right["text"] if right is not None else "",
            slots=_slots(a) if task["mode"] == "drafts" else [],
            left_slots=_slots(left),
            right_slots=_slots(right),
            posted=posted or {},
            cant_rate=CANT_RATE,
            criteria=ctx.criteria,
            flags=FLAGS,
            csrf=csrf_token(ctx.secret, token, int(task["task_id"])),
            opened_at=opened,
            saved=saved,
            error=error,
        )

    def reviewer_page(request: Request) -> Response:
        saved = request.query_params.get("saved", "")
        return _page(request.path_params["token"], saved=saved[:20])

    def _store(token: str, form: dict[str, list[str]]) -> Response:
        try:
            task_id = int(_first(form, "task_id"))
        except ValueError:
            return render("message.html", 400, heading="Bad form", text="The form had no task.")
        if not hmac.compare_digest(_first(form, "csrf"), csrf_token(ctx.secret, token, task_id)):
            return render(
                "message.html",
                403,
                heading="Form expired",
                text="This form is not valid any more. Reload the page and try again.",
            )
        with conn() as c:
            name = db.reviewer_by_token(c, token)
            task = c.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
            if name is None or task is None or task["reviewer"] != name:
                return render("message.html", 403, heading="Not your draft", text="")
            typed = _typed(form, task_id, ctx.criteria)
            try:
                events = strict_events(_first(form, "events"))
            except MalformedEvents:
                events = None
            typed["events"] = json.dumps(events) if events else ""
            problem = _problem(task, typed, ctx.criteria, events is None)
            if problem:  # every typed field comes back on the page: nothing is lost
                return _page(token, error=problem, status=400, posted=typed)
            a = db.draft(c, task["draft_id"]) if task["draft_id"] else None
            b = db.draft(c, task["draft_b_id"]) if task["draft_b_id"] else None
            flags = set(typed["flags"])
            if _slots(a) or (task["mode"] == "side_by_side" and _slots(b)):
                flags.add(PLACEHOLDER_FLAG)  # a fill-in slot is a defect of the draft itself
            decision = typed["decision"]
            ratings = {k: int(v) for k, v in typed["ratings"].items() if v != CANT_RATE}
            unrated = sorted(k for k, v in typed["ratings"].items() if v == CANT_RATE)
            submitted = db.now()
            opened = task["opened_at"] or submitted
            elapsed = _elapsed(opened, submitted)
            active = measured_seconds(events or [], elapsed)
            final = typed["final_text"].strip()

            def first_step(cc: sqlite3.Connection) -> None:  # the reply waits for an approver
                approval.record(cc, task_id, name, "submitted", submitted, text=final)

            sends = bool(approvers) and decision in ("approved", "written")
            ok = db.submit(
                c,
                task_id,
                name,
                {
                    "decision": decision,
                    "final_text": final,
                    "ratings": ratings,
                    "unrated": unrated,
                    "flags": sorted(flags),
                    "comment": typed["comment"].strip()[:4000],
                    "choice": typed["choice"] if task["mode"] == "side_by_side" else "",
                    "active_seconds": active,
                    "events": len(events or []),
                    "opened_at": opened,
                    "submitted_at": submitted,
                    "elapsed_seconds": elapsed,
                },
                after=first_step if sends else None,
            )
            done = db.counts(c, name)[1]
            ask = ok and questions.due(c, name, done)
        number = int(task["position"]) + 1
        where = "/questions" if ask else ""  # the five questions, every tenth draft
        return RedirectResponse(f"/r/{token}{where}?saved={number if ok else ''}", status_code=303)

    def _questions_page(token: str, trigger: str, saved: str, **kw: Any) -> Response:
        with conn() as c:
            name = db.reviewer_by_token(c, token)
            done = db.counts(c, name)[1] if name else 0
        if name is None:
            return render("message.html", 404, heading="Link not recognised", text="")
        return render(
            "questions.html",
            kw.pop("status", 200),
            reviewer=name,
            token=token,
            done=done,
            trigger=trigger,
            saved=saved[:20],
            questions=questions.QUESTIONS,
            tags=questions.FIX_TAGS,
            csrf=csrf_token(ctx.secret, token, 0),
            posted=kw.pop("posted", {}),
            **kw,
        )

    def questions_page(request: Request) -> Response:
        end = request.query_params.get("end") == "1"
        trigger = "session_end" if end else "every_10th"
        saved = request.query_params.get("saved", "")
        return _questions_page(request.path_params["token"], trigger, saved)

    def _answer(token: str, form: dict[str, list[str]]) -> Response:
        if not hmac.compare_digest(_first(form, "csrf"), csrf_token(ctx.secret, token, 0)):
            return render("message.html", 403, heading="Form expired", text="Reload the page.")
        typed, problem = questions.parse(form)
        trigger, saved = typed.get("trigger", "every_10th"), _first(form, "saved")
        if problem:
            return _questions_page(token, trigger, saved, status=400, error=problem, posted=typed)
        with conn() as c:
            name = db.reviewer_by_token(c, token)
            if name is None:
                return render("message.html", 403, heading="Not your queue", text="")
            questions.store(c, name, db.counts(c, name)[1], typed, db.now())
        if trigger == "session_end":
            return render(
                "message.html",
                heading="Thank you",
                text="Your answers are saved. You can close this page; your link resumes "
                "where you stopped.",
            )
        return RedirectResponse(f"/r/{token}?saved={saved[:20]}", status_code=303)

    async def answer(request: Request) -> Response:
        form = await _form(request)
        if isinstance(form, Response):
            return form
        return await run_in_threadpool(_answer, request.path_params["token"], form)

    async def submit(request: Request) -> Response:
        if not _same_origin(request):
            return render(
                "message.html",
                403,
                heading="Refused",
                text="Forms are accepted only from this review station's own pages.",
            )
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return render("message.html", 413, heading="Too long", text="The form is too long.")
        form = _parse_form(body)
        return await run_in_threadpool(_store, request.path_params["token"], form)

    async def revise(request: Request) -> Response:
        form = await _form(request)
        if isinstance(form, Response):
            return form
        return await run_in_threadpool(signoff.revise, request.path_params["token"], form)

    def approver_page(request: Request) -> Response:
        saved = request.query_params.get("saved", "")
        return signoff.approver_page(request.path_params["token"], saved=saved)

    async def decide(request: Request) -> Response:
        form = await _form(request)
        if isinstance(form, Response):
            return form
        return await run_in_threadpool(signoff.decide, request.path_params["token"], form)

    async def _form(request: Request) -> dict[str, list[str]] | Response:
        if not _same_origin(request):
            return render("message.html", 403, heading="Refused", text="")
        body = await request.body()
        if len(body) > MAX_BODY:
            return render("message.html", 413, heading="Too long", text="The form is too long.")
        return _parse_form(body)

    routes = [
        Route("/", index),
        Route("/r/{token}/revise", revise, methods=["POST"]),
        Route("/a/{token}", approver_page),
        Route("/a/{token}/decide", decide, methods=["POST"]),
        Route("/r/{token}", reviewer_page),
        Route("/r/{token}/submit", submit, methods=["POST"]),
        Route("/r/{token}/questions", questions_page),
        Route("/r/{token}/questions", answer, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    if ctx.loopback:
        hosts = ["127.0.0.1", "localhost", "[::1]"]
    elif ctx.host in ("0.0.0.0", "::"):
        hosts = ["*"]  # every interface: the per-reviewer tokens guard the queues
    else:
        hosts = [ctx.host]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(TrustedHostMiddleware, allowed_hosts=hosts),
    ]
    return Starlette(routes=routes, middleware=middleware)


def _slots(draft: sqlite3.Row | None) -> list[str]:
    """The fill-in slots (``[Parent's Name]``...) found in a stored draft."""
    try:
        found = draft["placeholders"] if draft is not None else "[]"
    except IndexError:  # a queue from before placeholders were found
        return []
    return [str(x) for x in json.loads(found or "[]")]


def _typed(form: dict[str, list[str]], task_id: int, criteria: list[dict[str, Any]]) -> dict:
    """What the reviewer typed and ticked, as posted (kept whole for a page shown again)."""
    ratings = {}
    for crit in criteria:
        v = _first(form, f"rate_{crit['name']}")
        if v in ("1", "2", "3", "4", "5", CANT_RATE):
            ratings[crit["name"]] = v
    return {
        "task_id": task_id,
        "decision": _first(form, "decision"),
        "final_text": _first(form, "final_text").replace("\r\n", "\n")[:100_000],
        "ratings": ratings,
        "flags": sorted(k for k, _ in FLAGS if _first(form, f"flag_{k}") == "on"),
        "comment": _first(form, "comment").replace("\r\n", "\n")[:4000],
        "choice": _first(form, "choice"),
    }


def _problem(
    task: sqlite3.Row, typed: dict[str, Any], criteria: list[dict[str, Any]], bad_events: bool
) -> str:
    """Why the submission cannot be stored as it is ('' when it can)."""
    decision = typed["decision"]
    if decision not in DECISIONS[task["mode"]]:
        return "Choose one of the buttons at the bottom."
    if bad_events:
        return (
            "The page's timing record did not arrive intact. Your input is still here: "
            "click your button again."
        )
    if task["mode"] == "side_by_side" and decision == "chosen" and typed["choice"] not in CHOICES:
        return "Pick the draft you would rather send."
    if decision in ("approved", "written") and not typed["final_text"].strip():
        return "The reply is empty: write what you would send."
    if task["mode"] == "drafts" and decision == "approved":
        missing = [c["name"] for c in criteria if c["name"] not in typed["ratings"]]
        if missing:
            return (
                f"Rate the draft on {', '.join(missing)} before approving it "
                '(or choose "Can\'t rate").'
            )
    return ""


def _elapsed(opened: str, submitted: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(submitted) - datetime.fromisoformat(opened)).total_seconds()
