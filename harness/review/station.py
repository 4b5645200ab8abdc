"""Open a run's review station: build (or resume) its queue, then serve it with uvicorn.

``serve`` blocks (the ``harness review`` command; Ctrl-C stops it); ``start`` serves from a
background thread and returns a :class:`Station` with the reviewers' links, for Python and for
a JupyterLab cell (whose event loop it leaves alone). The queue is built once, on first open,
and stored in ``results/<run_id>/review/review.sqlite``; opening the station again resumes it.
"""

from __future__ import annotations

import contextlib
import html
import json
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ReviewError
from harness.review import db
from harness.review.app import LOOPBACK, StationContext, build_app
from harness.review.queue import (
    DEFAULT_DOUBLE_SHARE,
    DEFAULT_MAX_SAME_TEXT,
    DEFAULT_MODES,
    DEFAULT_SCRATCH_SHARE,
    build_queue,
    drafts_from_run,
    sized,
)
from harness.store.runs import load_run

DEFAULT_PORT = 8765


def prepare(
    run_id: str,
    reviewers: Sequence[str] | None = None,
    *,
    results_dir: str | Path | None = None,
    seed: int = 0,
    double_share: float = DEFAULT_DOUBLE_SHARE,
    modes: Sequence[str] = DEFAULT_MODES,
    scratch_share: float = DEFAULT_SCRATCH_SHARE,
    pair: tuple[str, str] | None = None,
    candidates: Sequence[str] | None = None,
    include_control: bool = True,
    rubric: str | Path | None = None,
    max_same_text: int = DEFAULT_MAX_SAME_TEXT,
    sized_from: dict[str, Any] | None = None,
    approvers: Sequence[str] | None = None,
    live_from: str | None = None,
) -> Path:
    """Build the run's review queue on first use (or find the existing one); returns its file.

    Args:
        run_id: the run (or ``latest``).
        reviewers: reviewer names; required the first time, optional later (must then match).
        results_dir: where runs live.
        seed: seeds the assignment and the order.
        double_share: share of drafts reviewed by two people (default 0.2).
        modes: ``drafts``, ``scratch`` and/or ``side_by_side`` (default: from scratch first,
            then drafts: the from-scratch pages are the only measure of time saved).
        scratch_share: share of items per category written from scratch (``scratch`` mode;
            default 0.2, at least one question per category).
        pair: the two candidates shown side by side (``side_by_side`` mode).
        candidates: review only these candidates' drafts (default: all).
        include_control: add the approved answer as a hidden control draft.
        rubric: the rubric whose criteria staff rate (default ``rubrics/judge.yaml``).
        max_same_text: at most this many drafts with one text per reviewer (a canned reply),
            and never one question's identical draft twice.
        sized_from: the frozen pilot protocol's sample the queue is sized to (its file name,
            ``sha256``, ``drafts`` and ``frozen_at``: :func:`harness.pilot.protocol.queue_sample`,
            which ``harness review`` passes for the run's workflow's ``pilots/<workflow>.yaml``);
            None: every draft.
        approvers: who approves the replies (each gets a link): a reply a reviewer approves or
            writes then waits for an approver, who approves it or sends it back with a reason
            (:mod:`harness.review.approval`). Without approvers a reviewer's reply is final.
        live_from: ``YYYY-MM-DD``: messages dated on or after it are live pilot messages, whose
            turnaround counts (default: the day the frozen protocol was frozen; without
            either, every message is replayed history and no turnaround is measured).

    Raises:
        ReviewError: no reviewers for a new queue, or other reviewers than the stored queue's.
    """
    run = load_run(run_id, results_dir)
    path = db.db_path(run.store.path)
    if db.exists(path):
        db.upgrade(path)
        _approvers(path, approvers)
        with db.connect(path) as c:
            stored = sorted(db.reviewers(c))
        if reviewers and sorted(str(r).strip() for r in reviewers) != stored:
            raise ReviewError(
                f"run {run.run_id} already has a review queue for {', '.join(stored)}; open it "
                f"without --reviewers to resume, or move {path.parent} away to start a new one"
            )
        return path
    if not reviewers:
        raise ReviewError(
            f"run {run.run_id} has no review queue yet; name the reviewers, e.g. "
            f"harness review {run.run_id} --reviewers 'Ana Ruiz,Ben Cole'"
        )
    drafts = drafts_from_run(
        run.generations,
        run.dataset.items,
        candidates=candidates,
        include_control=include_control,
    )
    if drafts.empty:
        raise ReviewError(f"run {run.run_id} has no drafts to review (no successful generations)")
    try:
        tasks = build_queue(
            drafts,
            list(reviewers),
            seed=seed,
            double_share=double_share,
            modes=modes,
            items=run.dataset.items,
            scratch_share=scratch_share,
            pair=pair,
            max_same_text=max_same_text,
        )
    except ValueError as exc:
        raise ReviewError(f"review queue for run {run.run_id}: {exc}") from exc
    if sized_from is not None:
        tasks = sized(tasks, int(sized_from["drafts"]))
        sized_from = {**sized_from, **tasks.attrs["sized"]}
    first_live = _live_from(live_from, sized_from)
    _check_received(run.dataset, set(tasks["item_id"].astype(str)), first_live)
    config = {
        "run_id": run.run_id,
        "reviewers": [str(r).strip() for r in reviewers],
        "seed": seed,
        "double_share": double_share,
        "modes": list(modes),
        "scratch_share": scratch_share,
        "pair": list(pair) if pair else None,
        "include_control": include_control,
        "rubric": str(rubric) if rubric else None,
        "max_same_text": max_same_text,
        "removed": tasks.attrs.get("removed", {}),
        "sized_from": sized_from,
        "live_from": first_live,
    }
    db.create(path, drafts, tasks, config)
    _approvers(path, approvers)
    return path


def _check_received(dataset: Any, queued: set[str], live_from: str | None) -> None:
    """Every live pilot message in the queue carries the time it arrived (``received_at``),
    before anyone reviews: turnaround runs from it (:data:`harness.metrics.TURNAROUND`)."""
    from harness.review import approval

    items = dataset.items
    if live_from and "date" in items:
        dates = {str(k): v for k, v in items["date"].items() if str(k) in queued}
        approval.received_times(dataset, approval.live_items(dates, live_from))


def _live_from(given: str | None, sized_from: dict[str, Any] | None) -> str | None:
    """The first day of live pilot messages: given, else the day the protocol was frozen."""
    import datetime as dt

    if given:
        try:
            return dt.date.fromisoformat(str(given)).isoformat()
        except ValueError as exc:
            raise ReviewError(f"--live-from {given!r} is not a date; write YYYY-MM-DD") from exc
    frozen = (sized_from or {}).get("frozen_at")
    return str(frozen)[:10] if frozen else None


def _approvers(path: Path, names: Sequence[str] | None) -> None:
    """Give the queue its approvers (once: a queue's approvers never change)."""
    from harness.review import approval

    wanted = sorted({str(n).strip() for n in names or [] if str(n).strip()})
    if not wanted:
        return
    with db.connect(path) as c:
        have = sorted(approval.approvers(c))
        if have and have != wanted:
            raise ReviewError(
                f"this review queue's approvers are {', '.join(have)}; open it without "
                "--approvers to resume"
            )
        if not have:
            approval.add_approvers(c, wanted, db.now())


def context(
    run_id: str, *, results_dir: str | Path | None = None, host: str = "127.0.0.1", port: int = 0
) -> StationContext:
    """Everything the app serves: the queue file, the items' messages, sources and criteria."""
    from harness.scorers.judge import load_rubric

    run = load_run(run_id, results_dir)
    path = db.db_path(run.store.path)
    if not db.exists(path):
        raise ReviewError(f"run {run.run_id} has no review queue; build it with prepare()")
    with db.connect(path) as c:
        config = json.loads(db.meta(c, "config"))
        needed = {r[0] for r in c.execute("SELECT DISTINCT item_id FROM tasks")}
    ds = run.dataset
    items = {
        i: {"input": str(ds.items.at[i, "input"]), "task": str(ds.items.at[i, "task"])}
        for i in needed
        if i in ds.items.index
    }
    sources = {
        i: [
            {"id": s["id"], "title": s.get("title") or s["id"], "text": s.get("text", "")}
            for s in ds.source_texts(list(ds.item(i)["source_ids"]))
        ]
        for i in items
    }
    rubric = load_rubric(config.get("rubric"))
    criteria = [
        {
            "name": c.name,
            "description": c.description,
            "anchors": {int(k): str(v) for k, v in c.anchors.items()},
        }
        for c in rubric.criteria
    ]
    from harness.review.cited import cited_passages

    return StationContext(
        path,
        items,
        sources,
        criteria,
        host=host,
        port=port,
        title=f"Draft review: {_district(run)}",
        # a staff answer's cited passages, from the run's own knowledge base (as scored)
        cited=cited_passages(path, ds, run.store.path.parent / ".cache" / "knowledge"),
    )


def _district(run: Any) -> str:
    name = run.manifest.get("dataset", {}).get("name") or run.run_id
    return str(name)


ANY_HOST = ("0.0.0.0", "::", "")


def _this_machine() -> str:
    """This machine's address as others on its network reach it (no packet is sent: a UDP
    socket's connect only picks the outgoing interface), else its host name."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: any non-local address picks the route
        addr = str(s.getsockname()[0])
        if not addr.startswith("127.") and addr != "0.0.0.0":
            return addr
    return socket.gethostname()


def link_host(host: str) -> str:
    """The host part of a link that works for a station listening on ``host``: the machine's
    own address for every interface (0.0.0.0, ::), IPv6 addresses in brackets."""
    shown = _this_machine() if host in ANY_HOST else host
    return f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown


def exposure_warning(host: str, port: int) -> str | None:
    """What to tell whoever starts a station reachable beyond this machine (None on loopback)."""
    if host in LOOPBACK:
        return None
    where = "every network interface" if host in ANY_HOST else host
    return (
        f"warning: the station listens on {where}, port {port}: it is exposed beyond this "
        "computer to anyone on the network who can reach it; only the personal links below "
        "open a queue, so share each link with its reviewer only, and stop the station "
        "(Ctrl-C) when the review is over"
    )


def links(db_file: Path, host: str, port: int) -> dict[str, str]:
    """Each reviewer's personal link, then each approver's as ``NAME (approves)`` (working for
    the host the station listens on)."""
    from harness.review import approval

    shown = link_host(host)
    with db.connect(db_file) as c:
        out = {n: f"http://{shown}:{port}/r/{t}" for n, t in sorted(db.reviewers(c).items())}
        for n, t in approval.approvers(c).items():
            out[f"{n} (approves)"] = f"http://{shown}:{port}/a/{t}"
    return out


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ReviewError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port"
        ) from exc
    # answers go out at once (headers and body are two writes; Nagle + delayed ACK cost 40 ms)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def _check_host(host: str, allow_remote: bool) -> None:
    if host not in LOOPBACK and not allow_remote:
        raise ReviewError(
            f"host {host} is reachable from other machines; pass --allow-remote (each reviewer "
            "then needs their personal link, printed at start) or keep the default 127.0.0.1"
        )


@dataclass
class Station:
    """A review station serving from a background thread (``stop()`` ends it)."""

    run_id: str
    db_file: Path
    url: str
    links: dict[str, str]
    server: Any = field(repr=False)
    thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Stop serving and wait for the thread (every confirmed review is already stored)."""
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<li>{html.escape(n)}: <a href='{html.escape(u)}' target='_blank'>"
            f"{html.escape(u)}</a></li>"
            for n, u in self.links.items()
        )
        return (
            f"<p>Review station for run <b>{html.escape(self.run_id)}</b> at "
            f"<a href='{html.escape(self.url)}' target='_blank'>{html.escape(self.url)}</a>"
            f"</p><ul>{rows}</ul>"
        )


def _server(ctx: StationContext) -> Any:
    import uvicorn

    config = uvicorn.Config(
        build_app(ctx), log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
    )
    return uvicorn.Server(config)


def start(
    run_id: str,
    reviewers: Sequence[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
    results_dir: str | Path | None = None,
    **queue: Any,
) -> Station:
    """Serve the run's review station from a background thread (port 0: any free port).

    Queue options (``seed``, ``double_share``, ``modes``, ...) are those of :func:`prepare`.
    """
    _check_host(host, allow_remote)
    path = prepare(run_id, reviewers, results_dir=results_dir, **queue)
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    ctx = context(run_id, results_dir=results_dir, host=host, port=port)
    server = _server(ctx)
    server.config.install_signal_handlers = False  # not the main thread (uvicorn < 0.29)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        raise ReviewError(f"the review station did not start on {host}:{port}")
    shown = link_host(host)
    return Station(
        str(json.loads(_meta(path, "config"))["run_id"]),
        path,
        f"http://{shown}:{port}/",
        links(path, host, port),
        server,
        thread,
    )


def _say(text: str) -> None:
    print(text, flush=True)


def _meta(path: Path, key: str) -> str:
    with db.connect(path) as c:
        return db.meta(c, key)


def serve(
    run_id: str,
    reviewers: Sequence[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    allow_remote: bool = False,
    results_dir: str | Path | None = None,
    announce: Any = None,
    **queue: Any,
) -> None:
    """Serve the run's review station until Ctrl-C (or SIGTERM); prints the links first."""
    _check_host(host, allow_remote)
    if announce is None:
        announce = _say
    path = prepare(run_id, reviewers, results_dir=results_dir, **queue)
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    ctx = context(run_id, results_dir=results_dir, host=host, port=port)
    shown = link_host(host)
    warning = exposure_warning(host, port)
    if warning:
        announce(warning)
    announce(f"review station: http://{shown}:{port}/  (queue: {path})")
    for name, url in links(path, host, port).items():
        announce(f"  {name}: {url}")
    announce("stop with Ctrl-C; every confirmed review is already saved")
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the signal it stopped on
        _server(ctx).run(sockets=[sock])
    from harness.review.exports import export

    written = export(run_id, results_dir=results_dir)
    announce(f"exported {', '.join(str(p) for p in written.values())}")
