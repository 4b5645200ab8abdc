"""The call workers (harness/engine/pool.py) against the real loopback server."""

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

from harness.engine.pool import CallPool, auto_workers, start_pool
from harness.errors import PlanError
from harness.plan.spec import load_plan
from harness.run.runner import RunOptions, run_plan

from ..conftest import REPO, model_candidate, wait_for, write_plan

N_FAQ = 6  # faq_reply items in the mini dataset


def _opts(workers: int | str) -> RunOptions:
    return RunOptions(progress=False, workers=workers, cache="off")


@pytest.mark.parametrize(
    ("capacity", "calls", "cpus", "expected"),
    [
        (8, 400, 2, 1),  # many calls, 8 in flight: one worker keeps up (one litellm import)
        (16, 400, 2, 1),
        (32, 400, 2, 2),  # one worker per 16 in flight, at most one per core
        (32, 400, 8, 2),
        (128, 400, 8, 4),  # capped: past 4 the parent's bookkeeping is the limit
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
        # litellm's import is frozen out of the collector's way: the worker's collections
        # during its calls do not scan the half million objects of its imports again
        assert pool._workers[0].frozen > 100_000
    finally:
        pool.close()


def test_the_cli_imports_neither_pandas_nor_litellm_before_a_run_starts_its_workers():
    code = (
        "import sys, harness.cli, harness.engine.pool; "
        "print([m for m in ('pandas', 'litellm') if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "[]", out.stderr


def test_harness_run_starts_its_workers_before_it_imports_pandas(tmp_path, mini, results, loopback):
    """The workers' litellm import is the longest step before a cold run's first call: `harness
    run` starts them as soon as the plan's shape is known, before the names its plan uses are
    resolved (the scorers' and baselines' registries import pandas)."""
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)], scorers=["edit"])
    code = (
        "import json, os, sys\n"
        "import harness.engine.pool as pool\n"
        "def spy(n, wait=False):\n"  # what is loaded when the first worker starts; then stop
        "    print(json.dumps([m for m in ('pandas', 'litellm') if m in sys.modules]))\n"
        "    sys.stdout.flush()\n"
        "    os._exit(0)\n"
        "pool.start_pool = spy\n"
        "from harness.cli.commands import main\n"
        f"main(['--results', {str(results)!r}, 'run', {str(plan)!r}, '--quiet'])\n"
        "print('no worker was started')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    assert srv.request_count == 0


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("cold", 1),  # no response cache yet: every model unit is a call
        ("cached", 0),  # a cache exists and may answer every unit: nothing early
        ("cache_off", 1),
        ("refresh", 1),
        ("workers_0", 0),  # in process, as asked
        ("embedded", 0),  # the embedded model: one call at a time, no workers
        ("bad_plan", 0),  # the run reports the problem, not prestart
        ("litellm_loaded", 0),  # in process calls cost nothing more to start (a notebook)
    ],
)
def test_prestart_starts_workers_only_for_a_run_that_must_call(
    tmp_path, mini, results, loopback, monkeypatch, case, expected
):
    from harness.engine.pool import prestart, shutdown_pool, take_prestarted

    if case == "litellm_loaded":
        monkeypatch.setitem(sys.modules, "litellm", sys.modules.get("litellm", object()))
    else:  # a fresh ``harness run`` process (this one may have imported litellm for a test)
        monkeypatch.delitem(sys.modules, "litellm", raising=False)
    srv = loopback()
    model = {"model": "local/smollm2", "api_base": None} if case == "embedded" else {}
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url, **model)])
    if case == "bad_plan":
        plan.write_text("candidates: [", encoding="utf-8")
    if case in ("cached", "cache_off", "refresh"):
        (results / ".cache").mkdir()
        (results / ".cache" / "responses.sqlite").write_bytes(b"")
    cache = {"cache_off": "off", "refresh": "refresh"}.get(case, "use")
    workers = "0" if case == "workers_0" else "1"
    try:
        assert prestart(plan, results, workers, cache) == expected
        assert take_prestarted() == expected and take_prestarted() == 0  # taken once
    finally:
        shutdown_pool()


def test_a_run_uses_the_workers_started_early_and_kills_unused_ones(
    tmp_path, mini, results, loopback, monkeypatch
):
    from harness.engine.pool import prestart, shutdown_pool, start_pool

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.delitem(sys.modules, "litellm", raising=False)  # as in a fresh process
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url, samples=2)])
    try:
        # 12 calls: too few for ``workers: auto`` to start a worker, but one that is already
        # importing litellm is used rather than importing litellm in process as well
        assert prestart(plan, results) == 1
        store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
        assert store.read_manifest()["call_workers"] == 1
        assert (store.generations()["status"] == "ok").all()
        assert srv.request_count == 2 * N_FAQ
    finally:
        shutdown_pool()
    # started early for a run that never called: killed at the end, not waited for (its
    # litellm import would hold the harness's exit for seconds)
    assert prestart(plan, tmp_path / "elsewhere", "1", "off") == 1
    pool = start_pool(1)
    shutdown_pool()
    assert [w.proc.returncode for w in pool._workers] == [-signal.SIGKILL]
