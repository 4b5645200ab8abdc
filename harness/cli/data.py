"""The ``harness`` commands for a district's own data and the pilot review: ``import``,
``import-sources``, ``suggestions`` and ``review`` (a thin shell, like :mod:`harness.cli`)."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError


def _one_line(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A data command whose input has exactly one problem fails with that one line (file, line,
    field, what and how to fix it); several problems keep the list."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except InputError as exc:
            if len(exc.problems) == 1:
                raise HarnessError(str(exc.problems[0])) from None
            raise

    return run


@_one_line
def cmd_import(args: argparse.Namespace) -> int:
    from harness.data.mapping import parse_overrides
    from harness.importers import import_export

    try:
        overrides = parse_overrides(args.map or [])
    except ValueError as exc:
        raise HarnessError(str(exc)) from None
    result = import_export(
        args.src,
        args.out,
        mapping=overrides,
        task=args.task,
        category=args.category,
        sources=args.sources,
        sheet=args.sheet,
        encoding=args.encoding,
    )
    print(result.summary())
    print(f"next: harness validate {args.out}")
    return 0


@_one_line
def cmd_import_sources(args: argparse.Namespace) -> int:
    from harness.importers import import_sources
    from harness.importers.export import source_lines

    done, skipped, removed = import_sources(args.src, args.out)
    print("\n".join(source_lines(done, skipped, removed, Path(args.out))))
    return 0


@_one_line
def cmd_suggestions(args: argparse.Namespace) -> int:
    from harness.importers import accept_suggestions, export_suggestions

    if args.action == "export":
        rows = export_suggestions(args.dataset, args.csv)
        print(
            f"{len(rows)} suggestions written to {args.csv}: write yes or no in 'accept' "
            f"(edit 'accepted_text' to change a fact), then: "
            f"harness suggestions accept {args.dataset} {args.csv}"
        )
    else:
        counts = accept_suggestions(args.dataset, args.csv)
        print(counts.reset_index().to_string(index=False))
    return 0


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def cmd_review(args: argparse.Namespace) -> int:
    """Serve the staff review station of a run (or export / show progress), see harness.review."""
    import harness.review as review

    if args.export is not None:
        for name, path in review.export(
            args.run_id, args.export or None, results_dir=args.results, merge=args.merge
        ).items():
            print(f"{name}: {path}")
        return 0
    if args.progress:
        print(review.progress(args.run_id, args.results).to_string(index=False))
        return 0
    pair = _names(args.pair)
    review.serve(
        args.run_id,
        _names(args.reviewers),
        host=args.host,
        port=args.port,
        allow_remote=args.allow_remote,
        results_dir=args.results,
        seed=args.seed,
        double_share=args.double_share,
        modes=_names(args.modes) or ["scratch", "drafts"],
        scratch_share=args.scratch_share,
        pair=(pair[0], pair[1]) if pair and len(pair) == 2 else None,
        sized_from=queue_sample(args.run_id, args.results),
        approvers=_names(args.approvers),
        live_from=args.live_from,
    )
    return 0


def queue_sample(run_id: str, results: str | Path | None) -> dict[str, Any] | None:
    """The sample the run's frozen pilot protocol sets for a new review queue (None: none)."""
    from harness.pilot.protocol import queue_sample as sample_of
    from harness.store.runs import load_run

    return sample_of(load_run(run_id, results))


def add_data_commands(sub: Any) -> None:
    """Register the data and review subcommands on the CLI's subparsers."""
    im = sub.add_parser("import", help="turn a district export (CSV/XLSX/JSON) into a dataset")
    im.add_argument("src", help="the export: .csv, .tsv, .xlsx, .json or .jsonl")
    im.add_argument("out", help="the dataset folder to write (re-importing into it is fine)")
    im.add_argument(
        "--map",
        action="append",
        metavar="FIELD=COLUMN",
        help="use COLUMN for FIELD (input, reference, category, date, ...); FIELD= turns a "
        "guess off; repeat for more fields",
    )
    im.add_argument("--sources", metavar="DIR", help="a folder of policy files to import too")
    im.add_argument("--task", default="faq_reply", help="task of rows without one (faq_reply)")
    im.add_argument("--category", default="general", help="category of rows without one")
    im.add_argument("--sheet", help="XLSX: the sheet to read (default: the first)")
    im.add_argument("--encoding", help="CSV/JSON text encoding, e.g. cp1250 (default: detected)")
    im.set_defaults(fn=cmd_import)

    ims = sub.add_parser(
        "import-sources", help="turn PDF/DOCX/HTML/Markdown policy files into sources/*.md"
    )
    ims.add_argument("src", help="the folder of policy files (read recursively)")
    ims.add_argument("out", help="the dataset folder whose sources/ receives them")
    ims.set_defaults(fn=cmd_import_sources)

    sg = sub.add_parser(
        "suggestions", help="review proposed required facts and sensitive flags as a CSV"
    )
    sg.add_argument(
        "action",
        choices=["export", "accept"],
        help="export: write pending suggestions to CSV; accept: apply a reviewed CSV",
    )
    sg.add_argument("dataset", help="the dataset folder (its items.jsonl)")
    sg.add_argument("csv", help="the suggestions CSV to write (export) or read (accept)")
    sg.set_defaults(fn=cmd_suggestions)

    rv = sub.add_parser("review", help="the staff review station for a run (local web app)")
    rv.add_argument("run_id", help="the run whose drafts staff review (a run id, or latest)")
    rv.add_argument("--reviewers", help="comma-separated names (needed the first time)")
    rv.add_argument(
        "--approvers",
        help="comma-separated names of who approves replies (each gets a link): a reply then "
        "waits for approval and may be sent back with a reason (the approval path)",
    )
    rv.add_argument(
        "--live-from",
        metavar="YYYY-MM-DD",
        help="messages dated from this day are live pilot messages whose turnaround counts "
        "(default: the day the pilot protocol was frozen)",
    )
    rv.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    rv.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    rv.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    rv.add_argument("--seed", type=int, default=0, help="seeds the assignment and the order")
    rv.add_argument("--double-share", type=float, default=0.2, help="share reviewed twice")
    rv.add_argument(
        "--modes",
        default="scratch,drafts",
        help="scratch,drafts,side_by_side (any of; default scratch,drafts: replies written "
        "from scratch first, the measure of time saved, then drafts)",
    )
    rv.add_argument(
        "--scratch-share",
        type=float,
        default=0.2,
        help="share of questions per category written from scratch (default 0.2, at least one)",
    )
    rv.add_argument("--pair", help="side_by_side: the two candidates, e.g. smollm2,best_match")
    rv.add_argument(
        "--export", nargs="?", const="", metavar="DIR", help="write the CSVs, no serving"
    )
    rv.add_argument(
        "--merge",
        action="store_true",
        help="--export into a folder whose CSVs the station did not write: append the "
        "station's rows, keep every existing row (a backup of each file is kept beside it)",
    )
    rv.add_argument("--progress", action="store_true", help="print progress per reviewer")
    rv.set_defaults(fn=cmd_review)
    add_pilot_commands(sub)


def _pilot_plan(args: argparse.Namespace) -> int:
    from harness.cli.pilot import cmd_pilot_plan

    return cmd_pilot_plan(args)


def _pilot_start(args: argparse.Namespace) -> int:
    from harness.cli.pilot import cmd_pilot_start

    return cmd_pilot_start(args)


def add_pilot_commands(sub: Any) -> None:
    """Register ``harness pilot plan|start`` on the CLI's subparsers."""
    p = sub.add_parser("pilot", help="design the pilot before it starts: plan, then start")
    inner = p.add_subparsers(
        dest="pilot_command", required=True, help="plan (write a draft), then start (freeze it)"
    )
    pl = inner.add_parser(
        "plan", help="write a pilot protocol from the pre-pilot run and the gates (a draft)"
    )
    pl.add_argument("run_id", help="the pre-pilot run (see harness runs), or latest")
    pl.add_argument("--gates", help="gates file (default rubrics/gates.yaml)")
    pl.add_argument("--candidate", help="the AI candidate the pilot uses (default: the run's)")
    pl.add_argument("--staff", type=int, default=3, help="staff in the pilot group (default 3)")
    pl.add_argument("--results", default=argparse.SUPPRESS, help="folder holding run folders")
    pl.add_argument(
        "--effect",
        action="append",
        metavar="GATE=VALUE",
        help="the improvement the district cares about for a gate, in its unit (default: the "
        "pre-pilot estimate); repeat for more gates",
    )
    pl.add_argument("--out", help="draft file (default pilots/<workflow>.draft.yaml)")
    pl.set_defaults(fn=_pilot_plan)
    st = inner.add_parser(
        "start", help="freeze a draft protocol into a file to commit (never replaced)"
    )
    st.add_argument("draft", help="the draft written by harness pilot plan")
    st.add_argument("--out", help="frozen file (default: the draft's name without .draft)")
    st.set_defaults(fn=_pilot_start)
