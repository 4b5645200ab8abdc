"""The ``harness`` command: a thin shell over the package; each command is one function call.

Exit codes: 0 success, 1 the run or check found failures, 2 bad input or usage, 3 the machine
stopped the work (disk full, read-only folder, run folder locked by another writer), 4 (`check`)
evidence missing: nothing failed, but a required gate cannot be checked with this data.
"""

from __future__ import annotations

import argparse
import errno
import gc
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from harness.cli.data import add_data_commands
from harness.engine.keys import scrub
from harness.errors import EXIT_INFRASTRUCTURE, HarnessError, InfrastructureError
from harness.phases import PHASES, phase_help

REPO = Path(__file__).resolve().parents[2]


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def terminal(text: Any, keep_newlines: bool = False) -> str:
    """:func:`harness.textsafe.terminal`, imported when needed (it imports pandas: a run's
    call workers start before that, see :func:`harness.engine.pool.prestart`)."""
    from harness.textsafe import terminal as safe

    return safe(text, keep_newlines=keep_newlines)


def _print_summary(summary: dict[str, Any]) -> None:
    from harness.textsafe import terminal_frame

    for name, frame in summary.items():
        print(f"\n{name.replace('_', ' ')}:")
        print(terminal_frame(frame).to_string(index=False))


PHASE_HELP = phase_help()
RUN_ID_HELP = "a run id under --results (see harness runs), or latest for the newest run"


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.data.dataset import load_dataset
    from harness.gates.feeds import dataset_warnings

    ds = load_dataset(args.path)
    warnings = dataset_warnings(ds, args.gates)
    print(f"dataset {args.path}: OK (fingerprint {ds.fingerprint[:12]})")
    _print_summary(ds.summary())
    if warnings:
        print(f"\n{len(warnings)} warning{'s' if len(warnings) != 1 else ''}:")
        for w in warnings:
            print(f"  - {w}")
    return 2 if warnings and args.strict else 0


def _options(args: argparse.Namespace) -> Any:
    from harness.run.runner import RunOptions

    cache = "off" if args.no_cache else "refresh" if args.refresh_cache else "use"
    shard = None
    if getattr(args, "shard", None):
        i, n = (int(x) for x in args.shard.split("/"))
        if not 1 <= i <= n:
            raise HarnessError(f"--shard {args.shard}: write i/n with 1 <= i <= n, e.g. 1/4")
        shard = (i, n)
    workers: int | str | None = getattr(args, "workers", None)
    if workers is not None and workers != "auto":
        if not str(workers).isdigit() or int(workers) > 32:
            raise HarnessError(f"--workers {workers}: give a number from 0 to 32, or auto")
        workers = int(workers)
    return RunOptions(
        concurrency=args.concurrency,
        workers=workers,
        cache=cache,
        budget_usd=args.budget,
        retry_errors=args.retry_errors,
        progress=not args.quiet,
        limit=args.limit,
        shard=shard,
    )


def cmd_run(args: argparse.Namespace) -> int:
    if not args.plan and not args.resume:
        raise HarnessError("give a PLAN file, or --resume RUN_ID")
    if args.governance and args.resume:
        raise HarnessError("--governance starts a new run; it does not apply to --resume")
    plan = args.plan
    if not args.resume:  # loaded once, here: the early workers and the run share it
        from harness.engine.pool import prestart
        from harness.run.names import load_plan

        cache = "off" if args.no_cache else "refresh" if args.refresh_cache else "use"
        # the workers start once the plan's shape is known, before its names resolve (pandas)
        # and the dataset loads; nothing is sent before the run approves every destination
        plan = load_plan(
            args.plan,
            dataset=args.dataset,
            shaped=lambda p: prestart(p, args.results, args.workers, cache, args.concurrency),
        )
        if args.governance:  # CI: approvals from the trusted file only (harness/engine/egress.py)
            from harness.engine.egress import trusted_governance

            trusted_governance(plan, args.governance)
    from harness.run.runner import run_plan
    from harness.store.runs import check_run_id

    for rid in (args.run_id, args.resume):
        if rid is not None:
            check_run_id(rid)
    store = run_plan(
        plan,
        dataset=args.dataset if args.resume else None,  # a new run's plan has it already
        results_dir=args.results,
        run_id=args.run_id,
        resume=args.resume,
        options=_options(args),
        score=not args.no_score,
    )
    m = store.read_manifest()
    c = m["counts"]
    print(
        f"run {store.run_id}: {c['ok']} generated ({c['cached']} from cache), "
        f"{c['failed']} failed"
        + (
            f" ({c['failed_baseline']} baseline drafts with nothing to draft from)"
            if c.get("failed_baseline")
            else ""
        )
        + f", {c['no_output']} without output; "
        f"{m['spent']['calls']} provider calls, ${m['spent']['cost_usd']:.4f}"
    )
    if m["selection"].get("uncovered_items"):
        print(
            f"note: {m['selection']['uncovered_items']} dataset items have tasks the plan "
            f"does not cover ({', '.join(m['selection']['uncovered_tasks'])}); not run"
        )
    if m["status"] == "stopped_budget":
        print(f"stopped at the budget cap; finish later with: harness run --resume {store.run_id}")
    print(f"results: {store.path}")
    # exit 1 for calls that failed after retries (--retry-errors redoes them); a baseline that
    # found nothing to draft from is counted in the report, and retrying would change nothing
    return 1 if c["failed"] - c.get("failed_baseline", 0) else 0


def cmd_score(args: argparse.Namespace) -> int:
    from harness.scorers.scoring import score_run
    from harness.stats import summarize

    scores = score_run(args.run_id, args.results)
    print(summarize(scores).round(3).to_string(index=False))
    return 0


def _pdf_first(args: argparse.Namespace) -> None:
    """With --pdf: fail before rendering when no browser can print it."""
    if args.pdf:
        from harness.report.browser import require_chromium

        require_chromium()


def _pdf(args: argparse.Namespace, path: Path) -> None:
    if args.pdf:
        from harness.report.render import print_report

        print(f"pdf: {print_report(path, paper=args.paper)}")


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report import render_report, render_workflow_selection

    _pdf_first(args)
    if args.phase == "workflow_selection":
        path = render_workflow_selection(args.run_id, results_dir=args.results)
        print(f"report: {path}")
        _pdf(args, path)
        return 0
    path = render_report(
        args.run_id,
        phase=args.phase,
        title=args.title,
        results_dir=args.results,
        gates=args.gates,
        governance=args.governance,
        protocol=args.protocol,
    )
    print(f"report: {path}")
    _pdf(args, path)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.report import render_comparison

    _pdf_first(args)
    path = render_comparison(
        args.run_a, args.run_b, args.pilot_log, results_dir=args.results, protocol=args.protocol
    )
    print(f"report: {path}")
    _pdf(args, path)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from harness.report import calibrate_and_render

    _pdf_first(args)
    path = calibrate_and_render(args.run_id, results_dir=args.results, say=print)
    print(f"report: {path}")
    _pdf(args, path)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from harness.gates.ci import check, junit_xml, markdown, terminal_table

    result = check(
        args.run_id,
        args.phase,
        against=args.against,
        results_dir=args.results,
        gates=args.gates,
        governance=args.governance,
    )
    print(terminal_table(result))
    if args.junit:
        Path(args.junit).write_text(junit_xml(result, args.run_id, args.phase), encoding="utf-8")
        print(f"junit: {args.junit}")
    if args.markdown:
        Path(args.markdown).write_text(
            markdown(result, args.run_id, args.phase, args.against), encoding="utf-8"
        )
        print(f"markdown: {args.markdown}")
    return result.exit_code


def cmd_verify(args: argparse.Namespace) -> int:
    from harness.run.audit import verify

    table = verify(args.run_id, args.results)
    changed = table[table["status"] != "unchanged"]
    print(f"{len(table)} files recorded; {len(changed)} changed, missing or added since the run")
    if not changed.empty:
        print(changed.to_string(index=False))
    return 1 if len(changed) else 0


def cmd_merge(args: argparse.Namespace) -> int:
    from harness.run.merge import merge_runs
    from harness.scorers.scoring import score_run
    from harness.store.runs import check_run_id

    if args.run_id is not None:
        check_run_id(args.run_id)
    store = merge_runs(args.run_ids, args.results, args.run_id)
    score_run(store)
    print(f"merged {len(args.run_ids)} runs into {store.run_id}: {store.path}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from harness.store.runs import list_runs

    runs = list_runs(args.results)
    print(runs.to_string(index=False) if not runs.empty else "no runs yet")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Validate the sample dataset, run plans/demo.yaml, score, render the pre-pilot report."""
    from harness.data.dataset import load_dataset
    from harness.report import render_report
    from harness.run.runner import RunOptions, run_plan
    from harness.scorers.scoring import score_run

    t0 = time.monotonic()
    plan = Path(args.plan)
    ds = load_dataset(REPO / "datasets" / "sample-district")
    print(f"1/4 dataset {ds.name}: {len(ds.items)} items, {len(ds.sources)} sources: valid")
    print(f"2/4 running {plan} (baselines + embedded SmolLM2 model)")
    from harness.engine.local import lease_if_embedded
    from harness.plan.spec import load_plan

    p = load_plan(plan)
    models = [c.model or "" for c in p.candidates] + [p.judge.model if p.judge else ""]
    # one server for the drafts and the judge (without a lease across both sessions, the
    # server stopped after the drafts and started again for the judge)
    with lease_if_embedded(models, Path(args.results) / ".cache"):
        store = run_plan(
            plan,
            results_dir=args.results,
            options=RunOptions(progress=not args.quiet, limit=args.limit),
            score=False,
        )
        t1 = time.monotonic()
        print(f"3/4 scoring (generation took {t1 - t0:.0f} s)")
        score_run(store)
    t2 = time.monotonic()
    judge = (store.read_manifest().get("scoring_calls") or {}).get("judge") or {}
    split = ", ".join(f"{k} until {v:.0f} s" for k, v in (judge.get("seconds") or {}).items())
    print(
        f"4/4 rendering the readiness report (scoring took {t2 - t1:.0f} s"
        + (f"; judge: {split})" if split else ")")
    )
    path = render_report(store.run_id, phase="pre_pilot", results_dir=args.results)
    c = store.read_manifest()["counts"]
    t3 = time.monotonic()
    print(
        f"done in {t3 - t0:.0f} s (report {t3 - t2:.0f} s): {c['ok']} drafts, {c['failed']} failed"
    )
    print(f"report: {path.resolve()}")
    print(
        f"review station: harness review {store.run_id} --reviewers 'Ana,Ben' "
        "then open http://127.0.0.1:8765/ (see README, 'Running the pilot review')"
    )
    return 0


PROTOCOL_HELP = "the frozen pilot protocol (default pilots/<workflow>.yaml when there is one)"
RESULTS_HELP = "folder holding run folders (default: results/ or $HARNESS_RESULTS)"


def _pdf_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pdf", action="store_true", help="also print a tagged PDF beside the HTML")
    p.add_argument("--paper", default="letter", choices=("letter", "a4"), help="PDF paper size")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harness", description=__doc__.splitlines()[0])
    p.add_argument(
        "--results", default=os.environ.get("HARNESS_RESULTS", "results"), help=RESULTS_HELP
    )
    # global options are accepted after the subcommand too; SUPPRESS keeps the main default
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--results", default=argparse.SUPPRESS, help=RESULTS_HELP)
    subparsers = p.add_subparsers(dest="command", required=True)

    class _Sub:
        def add_parser(self, name: str, **kw: Any) -> argparse.ArgumentParser:
            return subparsers.add_parser(name, parents=[common], **kw)

    sub = _Sub()

    v = sub.add_parser("validate", help="check a dataset folder and print a summary")
    v.add_argument("path", help="the dataset folder (holding items.jsonl and sources/)")
    v.add_argument(
        "--strict", action="store_true", help="exit 2 when there are warnings, not only errors"
    )
    v.add_argument(
        "--gates",
        help="gates file whose phases the warnings check (default rubrics/gates.yaml)",
    )
    v.set_defaults(fn=cmd_validate)
    add_data_commands(sub)  # import, import-sources, suggestions, review, pilot (cli/data.py)

    r = sub.add_parser("run", help="run an eval plan (generate, then score)")
    r.add_argument("plan", nargs="?", help="plan YAML file")
    r.add_argument("--dataset", help="run the plan on this dataset folder instead")
    r.add_argument("--run-id", help="name of the new run (default: time, plan name, suffix)")
    r.add_argument("--resume", metavar="RUN_ID", help="complete a run that was interrupted")
    r.add_argument("--retry-errors", action="store_true", help="with --resume: retry failures")
    r.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    r.add_argument("--refresh-cache", action="store_true", help="ignore and overwrite the cache")
    r.add_argument("--concurrency", type=int, help="calls in flight per provider (default 8)")
    r.add_argument(
        "--workers",
        help="processes that make the model calls: a number (0 = this process) or auto (default)",
    )
    r.add_argument("--budget", type=float, help="stop cleanly once this many USD are spent")
    r.add_argument("--limit", type=int, help="run only the first N selected items")
    r.add_argument("--shard", help="run slice i of n of the items, e.g. 1/4")
    r.add_argument(
        "--no-score",
        action="store_true",
        help="only generate; score later with harness score RUN_ID (reports need scores)",
    )
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument(
        "--governance",
        help="trusted governance file (CI): its approved_providers apply; a plan naming "
        "another governance file is refused (exit 2)",
    )
    r.set_defaults(fn=cmd_run)

    s = sub.add_parser("score", help="re-score a stored run without generating again")
    s.add_argument("run_id", help=RUN_ID_HELP)
    s.set_defaults(fn=cmd_score)

    rep = sub.add_parser("report", help="render the readiness report of a run to HTML")
    rep.add_argument("run_id", help=RUN_ID_HELP)
    rep.add_argument(
        "--phase",
        default="pre_pilot",
        choices=(*PHASES, "workflow_selection"),
        help=PHASE_HELP + "; workflow_selection: Phase 1, which workflow to pilot first",
    )
    rep.add_argument("--title", default="", help="the report's title (default: the workflow)")
    rep.add_argument("--gates", help="gates file (default rubrics/gates.yaml)")
    rep.add_argument("--governance", help="governance file (default rubrics/governance.yaml)")
    _pdf_options(rep)
    rep.add_argument("--protocol", help=PROTOCOL_HELP)
    rep.set_defaults(fn=cmd_report)

    cmp = sub.add_parser("compare", help="what changed between two runs, with pilot outcomes")
    cmp.add_argument("run_a", help="the earlier run (before)")
    cmp.add_argument("run_b", help="the later run (after); the report goes in its folder")
    cmp.add_argument("--pilot-log", help="a pilot_log.csv (default: run B's dataset's)")
    _pdf_options(cmp)
    cmp.add_argument("--protocol", help=PROTOCOL_HELP)
    cmp.set_defaults(fn=cmd_compare)

    cal = sub.add_parser("calibrate", help="check a run's AI judge against human ratings")
    cal.add_argument("run_id", help=RUN_ID_HELP)
    _pdf_options(cal)
    cal.set_defaults(fn=cmd_calibrate)

    ck = sub.add_parser(
        "check",
        help="CI: phase gates (+ regression vs a base run); exit 0/1/2/4 (4: evidence missing)",
    )
    ck.add_argument("run_id", help=RUN_ID_HELP)
    ck.add_argument("--phase", default="pre_pilot", choices=PHASES, help=PHASE_HELP)
    ck.add_argument("--against", metavar="BASE_RUN", help="the last accepted run")
    ck.add_argument("--gates", help="gates file (default rubrics/gates.yaml)")
    ck.add_argument("--governance", help="governance file (default rubrics/governance.yaml)")
    ck.add_argument("--junit", help="write JUnit XML here")
    ck.add_argument("--markdown", help="write a Markdown summary here")
    ck.set_defaults(fn=cmd_check)

    ver = sub.add_parser("verify", help="recompute a run's content hashes; list what changed")
    ver.add_argument("run_id", help=RUN_ID_HELP)
    ver.set_defaults(fn=cmd_verify)

    mg = sub.add_parser("merge", help="join shard runs into one run")
    mg.add_argument("run_ids", nargs="+", help="the shard runs to join (ids under --results)")
    mg.add_argument("--run-id", help="name of the merged run (default: derived from the shards)")
    mg.set_defaults(fn=cmd_merge)

    ls = sub.add_parser("runs", help="list stored runs")
    ls.set_defaults(fn=cmd_runs)

    d = sub.add_parser("demo", help="the whole path on the sample district")
    d.add_argument(
        "--plan", default=str(REPO / "plans" / "demo.yaml"), help="plan (default plans/demo.yaml)"
    )
    d.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(fn=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    args = build_parser().parse_args(argv)
    from harness.engine.llm import load_dotenv

    load_dotenv()
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        code = int(args.fn(args))
        if argv is None:  # the process's own command, done: the interpreter's collections on
            gc.freeze()  # the way out skip what it loaded (0.17 s to 0.03 s after a run)
        return code
    except InfrastructureError as exc:
        print(f"error: {scrub(terminal(exc))}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    except HarnessError as exc:
        print(f"error: {scrub(terminal(exc, keep_newlines=True))}", file=sys.stderr)
        return 2
    except OSError as exc:
        from harness.store.runs import infrastructure_error, is_infrastructure

        if not is_infrastructure(exc):
            raise
        verb = "write" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) else "access"
        what = f"{verb} {exc.filename}" if exc.filename else f"{verb} a file"
        print(f"error: {terminal(infrastructure_error(exc, what))}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    except KeyboardInterrupt:
        print(
            "interrupted; finished generations are saved: resume with harness run --resume RUN_ID",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
