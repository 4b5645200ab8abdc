"""The call workers (harness/candidates/pool.py) against the real loopback server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from harness.candidates.pool import CallPool, auto_workers, start_pool
from harness.errors import PlanError
from harness.plan import load_plan
from harness.runner import RunOptions, run_plan

from ..conftest import REPO, model_candidate, wait_for, write_plan

N_FAQ = 6  # faq_reply items in the mini dataset


def _opts(workers: int | str) -> RunOptions:
    return RunOptions(progress=False, workers=workers, cache="off")


@pytest.mark.parametrize(
    ("capacity", "calls", "cpus", "expected"),
    [
        (8, 400, 2, 2),  # many calls, many in flight: one worker per core
        (32, 400, 8, 4),  # capped: past 4 the parent's bookkeeping is the limit
        (1, 400, 2, 0),  # one call at a time (the embedded model): nothing to spread
        (4, 400, 2, 0),
        (8, 99, 2, 0),  # too few calls to pay for a worker's start
        (32, 400, 1, 0),  # one core: a worker only adds a process
    ],
)
def test_auto_workers(capacity, calls, cpus, expected):
    assert auto_workers(capacity, calls, cpus) == expected


@pytest.mark.parametrize("bad", [-1, 33, "many", 1.5])
def test_plan_workers_must_be_a_count_or_auto(tmp_path, mini, loopback, bad):
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)], runner={"workers": bad})
    with pytest.raises(PlanError) as err:
        load_plan(plan)
    assert "runner.workers" in str(err.value)


def test_workers_give_the_same_generations_as_in_process(tmp_path, mini, results, loopback):
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url, samples=4)])
    inproc = run_plan(plan, results_dir=results, options=_opts(0))
    pooled = run_plan(plan, results_dir=results, options=_opts(2))
    assert srv.request_count == 2 * 4 * N_FAQ
    assert inproc.read_manifest()["call_workers"] == 0
    assert pooled.read_manifest()["call_workers"] == 2
    cols = ["key", "status", "output", "tokens_in", "tokens_out", "attempts"]
    a = inproc.generations()[cols].sort_values("key").reset_index(drop=True)
    b = pooled.generations()[cols].sort_values("key").reset_index(drop=True)
    assert (b["status"] == "ok").all() and len(b) == 4 * N_FAQ
    assert a.equals(b)
    # the requests the workers sent are the ones the parent would have sent
    sent = srv.recorded.requests
    assert sent[: 4 * N_FAQ] and sorted(map(json.dumps, sent[: 4 * N_FAQ])) == sorted(
        map(json.dumps, sent[4 * N_FAQ :])
    )


def test_faults_through_workers_lose_nothing(tmp_path, mini, results, loopback):
    srv = loopback(fault_rate=0.3, retry_after="0.05", seed=11)
    plan = write_plan(
        tmp_path,
        mini,
        [model_candidate(srv.base_url, samples=8)],
        runner={"backoff_base": 0.05, "max_attempts": 10},
    )
    store = run_plan(plan, results_dir=results, options=_opts(2))
    g = store.generations()
    assert len(g) == 8 * N_FAQ and g["key"].is_unique and (g["status"] == "ok").all()
    assert srv.request_count > 8 * N_FAQ and (g["attempts"] > 1).any()
    # Retry-After and the status reached the parent's retry loop through the pipe
    assert g["error"].dropna().str.contains("RateLimit|ServiceUnavailable|InternalServer").any()


def test_a_killed_worker_loses_no_sample(tmp_path, mini, results, loopback):
    srv = loopback(latency=0.2)
    plan = write_plan(
        tmp_path,
        mini,
        [model_candidate(srv.base_url, samples=10)],
        runner={"backoff_base": 0.05, "concurrency": 8},
    )
    pool = start_pool(2, wait=True)
    victim = pool.pids[0]

    def kill_one() -> None:
        if wait_for(lambda: srv.request_count >= 8):
            os.kill(victim, signal.SIGKILL)

    killer = threading.Thread(target=kill_one)
    killer.start()
    store = run_plan(plan, results_dir=results, options=_opts(2))
    killer.join()
    g = store.generations()
    assert len(g) == 10 * N_FAQ and g["key"].is_unique and (g["status"] == "ok").all()
    assert g["error"].dropna().str.contains(f"call worker process \\(pid {victim}\\)").any()
    assert victim not in pool.pids
    survivor = pool.pids
    assert start_pool(2).pids[: len(survivor)] == survivor  # topped up, the live one kept
    assert len(start_pool(2).pids) == 2


def _tagged_processes(tag: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"HARNESS_TEST_TAG={tag}".encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_the_harness_takes_its_workers_and_resume_completes(
    tmp_path, mini, results, loopback
):
    srv = loopback(latency=0.1)
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url, samples=20)])
    tag = uuid.uuid4().hex
    env = dict(os.environ, HARNESS_RESULTS=str(results), HARNESS_TEST_TAG=tag)
    cmd = [sys.executable, "-m", "harness.cli", "run", str(plan), "--run-id", "killed"]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2", "--quiet", "--no-score"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert wait_for(lambda: srv.request_count >= 10, timeout=180)
    assert len(_tagged_processes(tag)) >= 3  # the harness and its two workers (and any git)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert wait_for(lambda: not _tagged_processes(tag), timeout=10), "a worker outlived it"
    store = run_plan(plan, results_dir=results, resume="killed", options=_opts(2))
    g = store.generations()
    assert len(g) == 20 * N_FAQ and g["key"].is_unique and (g["status"] == "ok").all()


def test_a_worker_that_cannot_start_says_why_and_leaves_no_file(tmp_path, monkeypatch):
    fake = tmp_path / "shadow" / "litellm"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("a broken litellm, for the test")\n')
    monkeypatch.setenv("PYTHONPATH", str(fake.parent))  # shadows the installed litellm
    pool = CallPool(1)
    try:
        asyncio.run(asyncio.wait_for(pool.until_ready(), 60))  # a dead worker is not waited for
        assert not pool.wait_ready(timeout=60)

        async def one() -> object:
            return await pool._workers[0].submit(1, {})

        res = asyncio.run(one())
        assert res.retryable and "exited with code 1" in res.error  # type: ignore[attr-defined]
        assert "a broken litellm, for the test" in res.error  # type: ignore[attr-defined]
    finally:
        pool.close()
    leftovers = list(Path(tempfile.gettempdir()).glob(f"harness-callworker-{os.getpid()}-*"))
    assert leftovers == []


def test_until_ready_waits_in_the_event_loop_for_the_import():
    pool = CallPool(1)
    try:

        async def go() -> bool:
            # the worker's "ready" frame is only read by an event loop watching its pipe
            await pool.until_ready(timeout=120)
            return pool._workers[0].ready and pool._workers[0].alive

        assert asyncio.run(go())
    finally:
        pool.close()
