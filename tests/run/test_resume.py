"""Resume what users run: shipped-style plans (relative dataset path, reference row on), from
another folder, after kill -9, through the real CLI; a real change of content is refused by name.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from harness.errors import RunError
from harness.plan.spec import load_plan
from harness.run.runner import RunOptions, run_plan
from harness.store.runs import RunStore
from tests.conftest import REPO, model_candidate, wait_for, write_plan

QUIET = RunOptions(progress=False)
N_FAQ = 6  # faq_reply items in the mini dataset
BASELINES = [
    {"name": "canned", "baseline": "template"},
    {"name": "retrieval", "baseline": "retrieval"},
    {"name": "staff", "baseline": "staff_first_draft"},
]


def _cli(*args: str, cwd: Path, results: Path, prelude: str = "") -> subprocess.Popen[bytes]:
    """``harness --results RESULTS ARGS...`` in its own process group, run from ``cwd``."""
    code = f"import sys\n{prelude}\nfrom harness.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, "--results", str(results), *args],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own group: kill -9 reaches any call workers too
    )


def _main(*args: str, cwd: Path, results: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """The same command through ``harness.cli.commands.main`` in this process, run from ``cwd``: for the
    resume after a kill (the kill needs a process of its own; the resume does not, and in its
    own process it would pay the interpreter and its imports again)."""
    from harness.cli.commands import main

    monkeypatch.chdir(cwd)
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        return main(["--results", str(results), *args])
    finally:
        signal.signal(signal.SIGTERM, sigterm)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _journal(store: RunStore) -> list[dict]:
    """Every whole line of the journal, duplicates included (a redone unit appends again)."""
    if not store.journal_path.exists():
        return []
    lines = store.journal_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines if x.strip().endswith("}")]


def _once_each(store: RunStore, candidates: list[str], samples: dict[str, int], n: int) -> None:
    """Exactly one generation, and one journal line, per item x candidate x sample."""
    g = store.generations()
    per = Counter(zip(g["item_id"], g["candidate"], g["sample"], strict=True))
    assert set(per.values()) == {1}, [k for k, v in per.items() if v != 1]
    want = {(c, s) for c in candidates for s in range(samples.get(c, 1))}
    assert {(c, s) for _, c, s in per} == want
    assert len(per) == n * len(want)
    lines = Counter(r["key"] for r in _journal(store))
    assert set(lines.values()) == {1}, [k for k, v in lines.items() if v != 1]


def _shipped(tmp_path: Path, dataset: Path, candidates: list[dict], **extra) -> Path:
    return write_plan(tmp_path / "district" / "plans", dataset, candidates, shipped=True, **extra)


# ---- the fingerprint covers content, never paths -----------------------------------------


@pytest.mark.parametrize(
    ("start_cwd", "start_plan", "resume_cwd", "resume_plan"),
    [
        # started from the district folder with a relative plan path; resumed from elsewhere
        ("district", "plans/plan.yaml", "elsewhere", None),
        ("district", "plans/plan.yaml", "elsewhere", "ABS"),
        ("district", "plans/plan.yaml", "district/plans", "plan.yaml"),
        ("district/plans", "plan.yaml", "district", "plans/plan.yaml"),
        ("elsewhere", "ABS", "district/plans", "../plans/plan.yaml"),
    ],
)
def test_resume_matches_from_any_folder_and_plan_path(
    tmp_path, mini, results, monkeypatch, start_cwd, start_plan, resume_cwd, resume_plan
):
    plan = _shipped(tmp_path, mini, BASELINES)
    assert not Path(load_plan(plan).dataset).is_absolute()  # what users run
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / start_cwd)
    store = run_plan(
        str(plan) if start_plan == "ABS" else start_plan,
        results_dir=results,
        run_id="r",
        options=QUIET,
        score=False,
    )
    lines = store.journal_path.read_text().splitlines(keepends=True)
    store.journal_path.write_text("".join(lines[:7]) + lines[7][:20])  # killed mid-write
    (store.path / "generations.parquet").unlink()
    monkeypatch.chdir(tmp_path / resume_cwd)
    again = str(plan) if resume_plan == "ABS" else resume_plan
    run_plan(again, results_dir=results, resume="r", options=QUIET, score=False)
    _once_each(store, ["canned", "retrieval", "staff", "approved_answer"], {}, N_FAQ)
    assert store.read_manifest()["status"] == "complete"


def test_resume_on_the_dataset_given_with_dataset_from_another_folder(
    tmp_path, mini, results, monkeypatch
):
    plan = _shipped(tmp_path, tmp_path / "no-such-dataset", BASELINES)
    monkeypatch.chdir(mini.parent)
    store = run_plan(
        plan, dataset="mini-district", results_dir=results, run_id="d", options=QUIET, score=False
    )
    store.journal_path.write_text("")
    monkeypatch.chdir(tmp_path)
    run_plan(None, results_dir=results, resume="d", options=QUIET, score=False)  # type: ignore[arg-type]
    _once_each(store, ["canned", "retrieval", "staff", "approved_answer"], {}, N_FAQ)


def test_a_run_recorded_with_the_old_fingerprint_still_resumes(tmp_path, mini, results):
    """Runs started before content-only fingerprints (killed, or stopped by the budget) can
    be finished: their manifest has the old hash, which counted the dataset path as written."""
    from harness.plan.content import legacy_fingerprint

    plan = _shipped(tmp_path, mini, BASELINES)
    store = run_plan(plan, results_dir=results, run_id="old", options=QUIET, score=False)
    m = store.read_manifest()
    m.pop("plan_content")
    m["plan_fingerprint"] = legacy_fingerprint(load_plan(plan))
    store.write_manifest(m)
    store.journal_path.write_text("")
    run_plan(plan, results_dir=results, resume="old", options=QUIET, score=False)
    _once_each(store, ["canned", "retrieval", "staff", "approved_answer"], {}, N_FAQ)
    (plan.parent / "prompt.j2").write_text("changed")  # named by no candidate: no change
    m["plan_fingerprint"] = "0" * 64  # ... but a different old plan is refused
    store.write_manifest(m)
    with pytest.raises(RunError, match="the plan changed since run old started"):
        run_plan(plan, results_dir=results, resume="old", options=QUIET, score=False)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, text)
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("params", "candidates.m.params.max_tokens: 50 then, 60 now"),
        ("prompt", "candidates.m.prompt: the content of prompt.j2 changed"),
        ("samples", "candidates.m.samples: not set then, 2 now"),
        ("candidate", 'candidates.canned.baseline: not set then, "template" now'),
        ("reference_row", "reference_row: not set then, false now"),
        ("dataset", "the dataset changed since run c started: items.jsonl changed"),
        ("source", "the dataset changed since run c started: sources/"),
    ],
)
def test_resume_refuses_a_real_change_naming_it(
    tmp_path, mini_copy, results, loopback, monkeypatch, change, named
):
    srv = loopback()
    plan = _shipped(tmp_path, mini_copy, [model_candidate(srv.base_url)])
    run_plan(plan, results_dir=results, run_id="c", options=QUIET, score=False)
    if change == "params":
        _edit(plan, "max_tokens: 50", "max_tokens: 60")
    elif change == "prompt":
        _edit(plan.parent / "prompt.j2", "Question:", "Q:")
    elif change == "samples":
        _edit(plan, "max_tokens: 50\n", "max_tokens: 50\n  samples: 2\n")
    elif change == "candidate":
        _edit(plan, "candidates:\n", "candidates:\n- name: canned\n  baseline: template\n")
    elif change == "reference_row":
        plan.write_text(plan.read_text() + "reference_row: false\n")
    elif change == "dataset":
        _edit(mini_copy / "items.jsonl", "lost his bus pass", "lost her bus pass")
    else:
        src = sorted((mini_copy / "sources").iterdir())[0]
        src.write_text(src.read_text() + "\nOne more line.\n")
    n = srv.request_count
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RunError) as err:
        run_plan(None, results_dir=results, resume="c", options=QUIET)  # type: ignore[arg-type]
    assert named in str(err.value), str(err.value)
    assert "start a new run instead of resuming" in str(err.value)
    assert srv.request_count == n  # refused before anything was sent


def test_the_fingerprint_ignores_paths_and_cache_location_only(tmp_path, mini):
    a = load_plan(_shipped(tmp_path / "a", mini, BASELINES))
    b = load_plan(write_plan(tmp_path / "b", mini, BASELINES, reference_row=True))
    c = load_plan(a.path, dataset=mini)
    assert a.dataset != b.dataset and a.dataset != c.dataset and a.path != b.path
    assert a.fingerprint() == b.fingerprint() == c.fingerprint()
    d = a.model_copy(update={"runner": a.runner.model_copy(update={"cache_path": "x.sqlite"})})
    assert d.fingerprint() == a.fingerprint()
    e = a.model_copy(update={"runner": a.runner.model_copy(update={"concurrency": 3})})
    assert e.fingerprint() != a.fingerprint()


# ---- kill -9 through the real CLI, resume from another folder -----------------------------


@pytest.mark.parametrize("kill_after", [6])
def test_cli_kill_9_then_resume_from_another_folder(
    tmp_path, mini, results, loopback, kill_after, monkeypatch, capfd
):
    """The shipped layout, a slow model server: kill -9 the process group mid-run, then
    ``harness run --resume`` from a different folder completes without redoing anything."""
    srv = loopback(latency=0.15)
    plan = _shipped(
        tmp_path,
        mini,
        [*BASELINES, model_candidate(srv.base_url, samples=3)],
        runner={"concurrency": 2},
    )
    district = plan.parent.parent
    first = _cli(
        "run", "plans/plan.yaml", "--run-id", "x", "--quiet", cwd=district, results=results
    )
    assert wait_for(lambda: srv.request_count >= kill_after, timeout=180)
    _kill_group(first)
    store = RunStore(results / "x")
    assert store.read_manifest()["status"] == "running"  # killed: nothing closed the run
    finished = {r["key"] for r in _journal(store) if r["kind"] == "model"}
    assert len(finished) < 3 * N_FAQ
    before = srv.request_count
    (tmp_path / "elsewhere").mkdir()
    code = _main(
        "run", "--resume", "x", "--quiet", cwd=tmp_path / "elsewhere", results=results,
        monkeypatch=monkeypatch,
    )  # fmt: skip
    assert code == 0, capfd.readouterr().err
    names = ["canned", "retrieval", "staff", "m", "approved_answer"]
    _once_each(store, names, {"m": 3}, N_FAQ)
    m = store.read_manifest()
    assert m["status"] == "complete" and len(store.scores()) > 0
    # finished generations were not asked for again: only the rest, and the <= 2 calls the
    # kill cut off in flight (answered, never journaled), reached the server
    assert srv.request_count - before <= 3 * N_FAQ - len(finished)
    assert srv.request_count <= 3 * N_FAQ + 2


# A real SIGKILL at a chosen point: after the K-th finished generation is journaled (the
# baselines make no model call, so nothing slow marks the middle of the run).
_KILL_AFTER = """
import os, signal
from harness.store.runs import RunStore
_append, _n = RunStore.append, [0]
def _append_then_die(self, record):
    _append(self, record)
    _n[0] += 1
    if _n[0] == int(os.environ["KILL_AFTER"]):
        os.kill(os.getpid(), signal.SIGKILL)
RunStore.append = _append_then_die
"""


@pytest.mark.parametrize("kill_after", [1, 45])
def test_shipped_baselines_plan_kill_9_then_resume(
    tmp_path, results, monkeypatch, kill_after, capfd
):
    """plans/baselines.yaml as shipped (../datasets/sample-district, reference row on), 20
    items: killed mid-run, resumed from another folder by the command the CLI prints."""
    monkeypatch.setenv("KILL_AFTER", str(kill_after))
    first = _cli(
        "run",
        "plans/baselines.yaml",
        "--run-id",
        "b",
        "--limit",
        "20",
        "--quiet",
        cwd=REPO,
        results=results,
        prelude=_KILL_AFTER,
    )
    first.wait(timeout=300)
    assert first.returncode == -signal.SIGKILL
    store = RunStore(results / "b")
    assert len(_journal(store)) == kill_after and store.read_manifest()["status"] == "running"
    monkeypatch.delenv("KILL_AFTER")
    code = _main(
        "run", "--resume", "b", "--quiet", cwd=tmp_path, results=results, monkeypatch=monkeypatch
    )
    assert code == 0, capfd.readouterr().err
    names = ["canned-reply", "retrieval", "staff-first-draft", "approved_answer"]
    _once_each(store, names, {}, 20)
    m = store.read_manifest()
    assert m["status"] == "complete" and m["spent"]["calls"] == 0
    assert m["dataset"]["name"] == "sample-district" and m["plan"]["dataset"].startswith("..")


def test_shards_started_from_different_folders_merge(tmp_path, mini, results, monkeypatch):
    """Shards of one plan, one named relatively from the district folder and one by its
    absolute path with --dataset from elsewhere, are one plan: they merge."""
    from harness.run.merge import merge_runs

    plan = _shipped(tmp_path, mini, BASELINES)
    monkeypatch.chdir(plan.parent.parent)
    a = RunOptions(progress=False, shard=(1, 2))
    run_plan("plans/plan.yaml", results_dir=results, run_id="s1", options=a, score=False)
    monkeypatch.chdir(mini.parent)
    b = RunOptions(progress=False, shard=(2, 2))
    run_plan(
        plan, dataset="mini-district", results_dir=results, run_id="s2", options=b, score=False
    )
    merged = merge_runs(["s1", "s2"], results)
    _once_each(merged, ["canned", "retrieval", "staff", "approved_answer"], {}, N_FAQ)


@pytest.mark.parametrize("name", ["demo.yaml", "baselines.yaml"])
def test_shipped_plans_match_themselves_from_any_folder(tmp_path, monkeypatch, name):
    """The shipped plans (../datasets/sample-district, the reference row on), as the runner
    records them at the start and loads them on resume from another folder, before and after
    content-only fingerprints; the embedded model is never started."""
    from harness.data.dataset import load_dataset
    from harness.plan.content import check_unchanged, legacy_fingerprint, plan_content

    monkeypatch.chdir(REPO)
    start = load_plan(f"plans/{name}")
    assert start.dataset == "../datasets/sample-district" and start.reference_row
    ds = load_dataset(start.dataset_path())
    manifest = {
        "plan_fingerprint": start.fingerprint(),
        "plan_content": plan_content(start),
        "plan": start.model_dump(mode="json"),
        "dataset": {
            "path": str(ds.path.resolve()),
            "fingerprint": ds.fingerprint,
            "files": ds.files,
        },
    }
    monkeypatch.chdir(tmp_path)
    again = load_plan(REPO / "plans" / name, dataset=manifest["dataset"]["path"])
    check_unchanged(again, load_dataset(manifest["dataset"]["path"]), manifest, "r")
    old = dict(manifest, plan_fingerprint=legacy_fingerprint(start))
    del old["plan_content"]
    check_unchanged(again, ds, old, "r")  # a run the previous code started
    changed = again.model_copy(update={"select": start.select.model_copy(update={"limit": 2})})
    with pytest.raises(RunError, match=r"select\.limit: not set then, 2 now"):
        check_unchanged(changed, ds, manifest, "r")
