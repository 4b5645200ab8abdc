"""The approval path's pages: the approver's queue (approve, or send back with a reason) and
the drafter's page for a reply sent back to them (revise, send again).

An approver reaches their queue through ``/a/<token>``; a drafter sees a reply sent back to
them before their next draft (``/r/<token>``). Every step is stored (:mod:`harness.review.approval`)
in one committed transaction before the page that confirms it, with the server's time; a
decision on a reply another approver decided first is not stored, and says so.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from starlette.responses import RedirectResponse, Response

from harness.review import approval, db, wording
from harness.review.timing import MalformedEvents, measured_seconds, strict_events

Render = Callable[..., Response]


def _first(form: dict[str, list[str]], key: str) -> str:
    vals = form.get(key)
    return vals[0] if vals else ""


def _since(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


class SignOff:
    """The approval pages of one station (built by :func:`harness.review.app.build_app`)."""

    def __init__(
        self,
        ctx: Any,
        render: Render,
        conn: Callable[[], AbstractContextManager[sqlite3.Connection]],
        csrf: Callable[[bytes, str, int], str],
    ):
        self.ctx, self.render, self.conn, self.csrf = ctx, render, conn, csrf

    def _texts(self, item_id: str) -> dict[str, Any]:
        item = self.ctx.items.get(item_id, {})
        return {
            "message": item.get("input", ""),
            "sources": self.ctx.sources.get(item_id, []),
            "w": wording.words(item.get("task")),  # the workflow's words, as on the review page
        }

    # -- the drafter: a reply sent back -------------------------------------------------------

    def revise_page(
        self,
        c: sqlite3.Connection,
        token: str,
        back: sqlite3.Row,
        saved: str = "",
        error: str = "",
        status: int = 200,
        posted: dict[str, Any] | None = None,
    ) -> Response:
        task_id = int(back["task_id"])
        return self.render(
            "revise.html",
            status,
            reviewer=back["reviewer"],
            token=token,
            task_id=task_id,
            event_id=int(back["event_id"]),
            approver=back["actor"],
            reason=back["reason"],
            text=approval.latest_text(c, task_id),
            csrf=self.csrf(self.ctx.secret, token, task_id),
            posted=posted or {},
            saved=saved,
            error=error,
            **self._texts(back["item_id"]),
        )

    def _posted(
        self, token: str, form: dict[str, list[str]]
    ) -> Response | tuple[int, list[tuple[float, str]] | None]:
        """A posted form's reply and timing record (None: not intact), or the page refusing a
        form that names no reply or whose anti-forgery token is not this link's."""
        try:
            task_id = int(_first(form, "task_id"))
        except ValueError:
            return self.render("message.html", 400, heading="Bad form", text="No reply named.")
        if not hmac.compare_digest(
            _first(form, "csrf"), self.csrf(self.ctx.secret, token, task_id)
        ):
            return self.render("message.html", 403, heading="Form expired", text="Reload it.")
        try:
            return task_id, strict_events(_first(form, "events"))
        except MalformedEvents:
            return task_id, None

    def revise(self, token: str, form: dict[str, list[str]]) -> Response:
        """Store the drafter's revision of a reply sent back to them."""
        got = self._posted(token, form)
        if isinstance(got, Response):
            return got
        task_id, events = got
        text = _first(form, "final_text").replace("\r\n", "\n")[:100_000].strip()
        with self.conn() as c:
            name = db.reviewer_by_token(c, token)
            back = approval.sent_back(c, name) if name else None
            if back is None or int(back["task_id"]) != task_id:
                return RedirectResponse(f"/r/{token}", status_code=303)  # nothing to revise
            problem = (
                "The reply is empty: write what you would send."
                if not text
                else "The page's timing record did not arrive intact: click again."
                if events is None
                else ""
            )
            if problem:
                posted = {"final_text": text, "events": json.dumps(events) if events else ""}
                return self.revise_page(c, token, back, error=problem, status=400, posted=posted)
            at = db.now()
            seconds = measured_seconds(events or [], _since(back["at"], at))
            approval.step(
                c, task_id, str(name), "revised", ("sent_back",), at, text=text, seconds=seconds
            )
        return RedirectResponse(f"/r/{token}?saved={int(back['position']) + 1}", status_code=303)

    # -- the approver -------------------------------------------------------------------------

    def approver_page(
        self,
        token: str,
        saved: str = "",
        error: str = "",
        status: int = 200,
        posted: dict[str, Any] | None = None,
    ) -> Response:
        with self.conn() as c:
            name = approval.approver_by_token(c, token)
            if name is None:
                return self.render(
                    "message.html",
                    404,
                    heading="Link not recognised",
                    text="Open the approver's link you were given.",
                )
            row = approval.waiting(c, name)
            n_waiting = approval.counts(c)["waiting"]
            kw: dict[str, Any] = {"task_id": 0}
            if row is not None:
                task_id = int(row["task_id"])
                revisions = c.execute(
                    "SELECT count(*) FROM approval_events WHERE task_id = ? AND action = 'revised'",
                    (task_id,),
                ).fetchone()[0]
                kw = {
                    "task_id": task_id,
                    "event_id": int(row["event_id"]),
                    "drafter": row["reviewer"],
                    "text": approval.latest_text(c, task_id),
                    "revisions": int(revisions),
                    "csrf": self.csrf(self.ctx.secret, token, task_id),
                    **self._texts(row["item_id"]),
                }
        return self.render(
            "approve.html",
            status,
            approver=name,
            token=token,
            waiting=n_waiting,
            saved=saved[:40],
            error=error,
            posted=posted or {},
            **kw,
        )

    def decide(self, token: str, form: dict[str, list[str]]) -> Response:
        """Store an approver's decision: approve (the reply is final) or send back (a reason)."""
        got = self._posted(token, form)
        if isinstance(got, Response):
            return got
        task_id, events = got
        decision = _first(form, "decision")
        reason = _first(form, "reason").replace("\r\n", "\n").strip()[: approval.MAX_REASON]
        problem = (
            "Choose Approve or Send back."
            if decision not in ("approved", "sent_back")
            else "Say why you send it back: the drafter reads your reason."
            if decision == "sent_back" and not reason
            else "The page's timing record did not arrive intact: click again."
            if events is None
            else ""
        )
        if problem:
            posted = {"reason": reason, "events": json.dumps(events) if events else ""}
            return self.approver_page(token, error=problem, status=400, posted=posted)
        with self.conn() as c:
            name = approval.approver_by_token(c, token)
            if name is None:
                return self.render("message.html", 403, heading="Not your queue", text="")
            owner = c.execute("SELECT reviewer FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
            if owner is None or owner[0] == name:  # nobody approves their own reply
                return self.render("message.html", 403, heading="Not yours to approve", text="")
            now = approval.last(c, task_id)
            at = db.now()
            seconds = measured_seconds(events or [], _since(now["at"], at) if now else 0.0)
            ok = approval.step(
                c,
                task_id,
                name,
                decision,
                approval.WAITING,
                at,
                reason=reason if decision == "sent_back" else "",
                seconds=seconds,
            )
        word = "approved" if decision == "approved" else "sent back"
        saved = word if ok else "another approver decided it first"
        return RedirectResponse(f"/a/{token}?saved={saved}", status_code=303)
