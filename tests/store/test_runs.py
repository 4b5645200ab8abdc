"""Runs stay whole: one writer, exact counts after kill -9, atomic tables, exit 3 on a sick disk."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from harness.cli.commands import main
from harness.errors import InfrastructureError, RunError
from harness.run.runner import RunOptions, run_plan
from harness.store.runs import RunStore, check_run_id, counts_from_journal
from tests.conftest import LAYOUTS, REPO, model_candidate, plan_in, wait_for, write_plan

QUIET = RunOptions(progress=False)
N_FAQ = 6


def _cli_run(
    plan: Path | str | None, results: Path, *extra: str, cwd: Path = REPO
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "--results", str(results), "run", *extra]
        + ([str(plan)] if plan else [])
        + ["--quiet", "--no-score", "--no-cache"],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([], {"calls": 0, "cost_usd": 0.0, "tokens_in": 0, "tokens_out": 0}),
        (
            [
                {"kind": "model", "attempts": 3, "cost_usd": 0.5, "tokens_in": 10, "tokens_out": 4},
                {"kind": "model", "attempts": 2, "cost_usd": None, "tokens_in": None},
                {"kind": "model", "attempts": 0, "cached": True, "cost_usd": 9.0, "tokens_in": 9},
                {"kind": "baseline", "attempts": 0, "cost_usd": None},
                # a failed unit retried after a resume: both sessions' calls count
                {"kind": "model", "attempts": 1, "cost_usd": 0.25, "tokens_in": 1, "tokens_out": 1},
            ],
            {"calls": 6, "cost_usd": 0.75, "tokens_in": 11, "tokens_out": 5},
        ),
    ],
)
def test_counts_from_journal(records, expected):
    assert counts_from_journal(records) == expected


@pytest.mark.parametrize("bad", ["../X", "a/b", "..", ".", "/tmp/x", "", "x" * 200, "-x", "a\nb"])
def test_run_ids_must_be_plain_names(bad):
    with pytest.raises(RunError, match="not a plain name"):
        check_run_id(bad)


def test_run_id_outside_the_results_folder_exits_2(tmp_path, mini, results, capsys):
    plan = write_plan(tmp_path, mini, [{"name": "canned", "baseline": "template"}])
    assert main(["--results", str(results), "run", str(plan), "--run-id", "../X"]) == 2
    assert not (tmp_path / "X").exists() and not list(results.iterdir())
    assert "not a plain name" in capsys.readouterr().err
    assert main(["--results", str(results), "score", "../X"]) == 2
    assert main(["--results", str(results), "run", "--resume", "../../etc"]) == 2


def test_second_writer_is_refused_naming_the_holder(tmp_path):
    run = tmp_path / "r1"
    run.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from harness.store import RunStore; "
            f"s = RunStore({str(run)!r}); s.open_journal(); print('held', flush=True); "
            "time.sleep(60)",
        ],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        other = RunStore(run)
        for write in (other.open_journal, lambda: other.write_manifest({}), other.finalize):
            with pytest.raises(InfrastructureError) as err:
                write()
            msg = str(err.value)
            assert f"process {holder.pid} on {socket.gethostname()}" in msg, msg
            assert "since 20" in msg and "harness run --resume r1" in msg
        assert not (run / "manifest.json").exists()
    finally:
        holder.kill()
        holder.wait()
    RunStore(run).open_journal()  # the kernel dropped the lock with the process: no stale lock


def test_one_process_may_take_its_own_lock_again(tmp_path):
    a, b = RunStore(tmp_path), RunStore(tmp_path)
    a.open_journal()
    b.write_manifest({"status": "running"})  # e.g. score_run(run_id) in the same notebook
    a.close_journal()
    assert json.loads((tmp_path / "manifest.json").read_text()) == {"status": "running"}


def test_two_resumes_at_once_pay_for_each_call_once(tmp_path, mini, results, loopback, capsys):
    # The provider answers nothing until the second resume has been refused: the first resume
    # is surely still running then (under CI load it used to finish its 30 calls first).
    release = threading.Event()
    srv = loopback(latency=0.05, hold=release)
    # the shipped layout (relative dataset path, reference row on), resumed from elsewhere
    plan_in(
        "shipped",
        tmp_path,
        mini,
        [model_candidate(srv.base_url, samples=4)],
        runner={"concurrency": 2},
    )
    first = _cli_run("plans/plan.yaml", results, "--run-id", "twice", cwd=tmp_path)
    assert wait_for(lambda: srv.request_count >= 2, timeout=120)
    first.send_signal(signal.SIGKILL)
    first.wait()
    resumer = _cli_run(None, results, "--resume", "twice")
    n = srv.request_count
    assert wait_for(lambda: srv.request_count > n, timeout=120)
    second = _cli_run(None, results, "--resume", "twice")
    _, raw = second.communicate(timeout=120)
    err = raw.decode()
    assert second.returncode == 3, err
    assert resumer.poll() is None  # the second writer was refused while the first still ran
    assert err.count("\n") == 1 and "being written by process" in err and "Traceback" not in err
    release.set()
    assert resumer.wait(timeout=180) == 0
    g = RunStore(results / "twice").generations()
    assert len(g) == 5 * N_FAQ and g["key"].is_unique and (g["status"] == "ok").all()
    # each unit was asked for once, apart from the calls the kill cut off in flight (<= 2)
    assert srv.request_count - 4 * N_FAQ <= 2, srv.request_count


def test_manifest_counts_are_exact_after_kill_minus_9(
    tmp_path, mini, results, loopback, monkeypatch
):
    srv = loopback(latency=0.05)
    plan = plan_in(
        "shipped",
        tmp_path,
        mini,
        [model_candidate(srv.base_url, samples=5)],
        runner={"concurrency": 4},
    )
    proc = _cli_run("plans/plan.yaml", results, "--run-id", "k9", cwd=tmp_path)
    assert wait_for(lambda: srv.request_count >= 14, timeout=180)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    monkeypatch.chdir(results)  # resumed from another folder
    store = run_plan(
        plan, results_dir=results, resume="k9", options=RunOptions(progress=False, cache="off")
    )
    spent = store.read_manifest()["spent"]
    assert spent == counts_from_journal(store.read_journal())
    # every call whose answer came back is counted; only the <= 4 cut off in flight are not
    assert 0 <= srv.request_count - spent["calls"] <= 4, (srv.request_count, spent)
    assert spent["tokens_in"] > 0


def test_finalize_never_leaves_a_partial_table(tmp_path, mini, results, loopback, monkeypatch):
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)])
    store = run_plan(plan, results_dir=results, options=QUIET)
    pq = store.path / "generations.parquet"
    before = pd.read_parquet(pq)
    real = pd.DataFrame.to_parquet

    def half_then_full(self, path, *a, **kw):
        Path(path).write_bytes(b"PAR1")  # a few bytes land, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_full)
    with pytest.raises(InfrastructureError, match="disk is full"):
        store.finalize()
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    assert pq.stat().st_size > 100
    pd.testing.assert_frame_equal(pd.read_parquet(pq), before)
    assert sorted(p.name for p in store.path.iterdir() if p.name.endswith(".tmp")) == []


@contextlib.contextmanager
def _tmpfs(path: Path, size: str):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)])
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_disk_full_exits_3_sets_error_and_resume_recovers(
    tmp_path, mini, loopback, layout, monkeypatch
):
    """A real full disk: the results folder is a 1 MiB tmpfs; 8 KB drafts fill it. The run that
    meets the full disk is a process of its own (its exit code and what it prints are the point);
    the resume runs the same command through ``main`` in this process, from another folder."""
    srv = loopback(reply="word " * 1600)
    ref = N_FAQ if layout == "shipped" else 0
    plan = plan_in(layout, tmp_path, mini, [model_candidate(srv.base_url, samples=30)])
    start = (plan, REPO) if layout == "absolute" else ("plans/plan.yaml", tmp_path)
    with _tmpfs(tmp_path / "small", "1m") as results:
        proc = _cli_run(start[0], results, "--run-id", "full", "--workers", "0", cwd=start[1])
        _, err = proc.communicate(timeout=300)
        text = err.decode()
        assert proc.returncode == 3, text
        assert "Traceback" not in text
        (line,) = [x for x in text.splitlines() if x.startswith("error:")]
        assert "the disk is full" in line and "harness run --resume full" in line
        man = json.loads((results / "full" / "manifest.json").read_text())
        assert man["status"] == "error"
        subprocess.run(["mount", "-o", "remount,size=16m", str(results)], check=True)
        monkeypatch.chdir(results)  # from elsewhere
        resume = ["--results", str(results), "run", "--resume", "full"]
        sigterm = signal.getsignal(signal.SIGTERM)
        try:
            assert main([*resume, "--quiet", "--no-score", "--no-cache"]) == 0
        finally:
            signal.signal(signal.SIGTERM, sigterm)
        store = RunStore(results / "full")
        g = store.generations()
        assert len(g) == 30 * N_FAQ + ref and g["key"].is_unique and (g["status"] == "ok").all()
        assert store.read_manifest()["status"] == "complete"
        assert (results / "full" / "generations.parquet").stat().st_size > 0


def _immutable(path: Path) -> None:
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported on this file system")


def test_read_only_results_exit_3_with_one_line(tmp_path, mini, results, loopback, capsys):
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)])
    store = run_plan(plan, results_dir=results, run_id="done", options=QUIET)
    _immutable(store.path)
    try:
        assert main(["--results", str(results), "score", "done"]) == 3
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not permitted" in err and "Traceback" not in err
        _immutable(results)
        try:
            assert main(["--results", str(results), "run", str(plan), "--quiet"]) == 3
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "cannot access" in err and "not permitted" in err
        finally:
            subprocess.run(["chattr", "-i", str(results)], check=True)
    finally:
        subprocess.run(["chattr", "-i", str(store.path)], check=True)
    assert srv.request_count == N_FAQ  # the refused run sent nothing
