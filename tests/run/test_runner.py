from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys

import pytest
import yaml

from harness.cli.commands import main
from harness.engine.llm import parse_retry_after
from harness.errors import RunError
from harness.run.runner import RunOptions, run_plan
from harness.scorers.scoring import score_run
from harness.store.runs import open_run
from tests.conftest import LAYOUTS, REPO, model_candidate, plan_in, wait_for, write_plan

QUIET = RunOptions(progress=False)
N_FAQ = 6  # faq_reply items in the mini dataset


def _plan(tmp_path, mini, srv, layout="absolute", **kw):
    cands = [
        {"name": "canned", "baseline": "template"},
        {"name": "retrieval", "baseline": "retrieval"},
        {"name": "staff", "baseline": "staff_first_draft"},
        model_candidate(srv.base_url, **kw.pop("model", {})),
    ]
    return plan_in(layout, tmp_path, mini, cands, **kw)


def test_one_generation_per_unit_and_scores(tmp_path, mini, results, loopback):
    srv = loopback()
    plan = _plan(tmp_path, mini, srv, layout="shipped")  # relative dataset, reference row on
    store = run_plan(plan, results_dir=results, options=QUIET)
    gens = store.generations()
    assert len(gens) == 5 * N_FAQ and gens["key"].is_unique
    assert srv.request_count == N_FAQ
    m = store.read_manifest()
    assert m["status"] == "complete" and m["counts"]["ok"] == 5 * N_FAQ - 4  # 4 lack staff drafts
    assert m["counts"]["no_output"] == 4
    assert m["endpoints"] == [srv.base_url.rsplit("/v1", 1)[0]]
    assert m["selection"]["uncovered_items"] == 2
    model = gens[gens["candidate"] == "m"]
    assert model["output"].str.startswith("Thank you").all()
    assert (model["tokens_out"] > 0).all()
    scores = score_run(store)
    ws = scores[scores["metric"] == "word_similarity"]
    staff = ws[ws["candidate"] == "staff"]
    assert staff["value"].isna().sum() == 4  # no draft: unscored, not 0
    assert ws[ws["candidate"] == "m"]["value"].between(0, 1).all()
    assert (ws[ws["candidate"] == "approved_answer"]["value"] == 1).all()  # the ceiling


def test_warm_cache_rerun_makes_zero_calls(tmp_path, mini, results, loopback):
    srv = loopback()
    plan = _plan(tmp_path, mini, srv, layout="shipped")
    run_plan(plan, results_dir=results, options=QUIET)
    before = srv.request_count
    again = run_plan(plan, results_dir=results, options=QUIET)
    assert srv.request_count == before
    g = again.generations()
    assert g[g["candidate"] == "m"]["cached"].all()
    assert again.read_manifest()["spent"]["calls"] == 0
    run_plan(plan, results_dir=results, options=RunOptions(progress=False, cache="refresh"))
    assert srv.request_count == before + N_FAQ
    run_plan(plan, results_dir=results, options=RunOptions(progress=False, cache="off"))
    assert srv.request_count == before + 2 * N_FAQ


def test_repeated_samples_stay_distinct(tmp_path, mini, results, loopback):
    srv = loopback()
    plan = _plan(tmp_path, mini, srv, model={"samples": 3})
    store = run_plan(plan, results_dir=results, options=QUIET)
    g = store.generations()
    assert len(g[g["candidate"] == "m"]) == 3 * N_FAQ
    assert srv.request_count == 3 * N_FAQ
    run_plan(plan, results_dir=results, options=QUIET)
    assert srv.request_count == 3 * N_FAQ


def test_thirty_percent_faults_lose_nothing(tmp_path, mini, results, loopback):
    srv = loopback(fault_rate=0.3, retry_after="0.05", faults=(429, 500, 503), seed=7)
    plan = write_plan(
        tmp_path,
        mini,
        [model_candidate(srv.base_url, samples=8)],
        runner={"backoff_base": 0.05, "max_attempts": 10},
    )
    store = run_plan(plan, results_dir=results, options=QUIET)
    g = store.generations()
    assert len(g) == 8 * N_FAQ and (g["status"] == "ok").all()
    assert 500 in srv.recorded.statuses or 503 in srv.recorded.statuses
    assert srv.request_count > 8 * N_FAQ  # faults really happened and were retried
    assert (g["attempts"] >= 1).all() and (g["attempts"] > 1).any()


def test_provider_that_always_fails(tmp_path, mini, results, loopback, capsys):
    srv = loopback(always_fail=503, retry_after="0")
    plan = write_plan(
        tmp_path,
        mini,
        [{"name": "canned", "baseline": "template"}, model_candidate(srv.base_url)],
        runner={"backoff_base": 0.01, "max_attempts": 3},
    )
    code = main(["--results", str(results), "run", str(plan), "--quiet"])
    assert code == 1  # the run finished; failures are reported, not hidden
    store = open_run("latest", results)
    g = store.generations()
    failed = g[g["candidate"] == "m"]
    assert len(failed) == N_FAQ and (failed["status"] == "failed").all()
    assert failed["error"].str.contains("503").all()
    assert (failed["attempts"] == 3).all()
    assert srv.request_count == 3 * N_FAQ
    s = store.scores()
    assert s[s["candidate"] == "m"]["value"].isna().all()  # unscored, never 0
    assert store.read_manifest()["counts"]["failed"] == N_FAQ
    assert "6 failed" in capsys.readouterr().out


def test_non_retryable_error_is_not_retried(tmp_path, mini, results, loopback):
    srv = loopback(always_fail=400)
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)])
    store = run_plan(plan, results_dir=results, options=QUIET)
    assert srv.request_count == N_FAQ
    assert (store.generations()["attempts"] == 1).all()


def test_retry_errors_completes_only_failed_samples(tmp_path, mini, results, loopback):
    srv = loopback(always_fail=500)
    plan = write_plan(
        tmp_path,
        mini,
        [model_candidate(srv.base_url)],
        runner={"backoff_base": 0.01, "max_attempts": 2},
    )
    store = run_plan(plan, results_dir=results, options=QUIET)
    assert (store.generations()["status"] == "failed").all()
    srv.behaviour.always_fail = None
    n = srv.request_count
    run_plan(plan, results_dir=results, resume=store.run_id, options=QUIET)
    assert srv.request_count == n  # plain resume: failures are final until asked
    run_plan(
        plan,
        results_dir=results,
        resume=store.run_id,
        options=RunOptions(progress=False, retry_errors=True),
    )
    g = store.generations()
    assert len(g) == N_FAQ and (g["status"] == "ok").all()
    assert srv.request_count == n + N_FAQ


@pytest.mark.parametrize("layout", LAYOUTS)
def test_budget_cap_stops_cleanly_and_resume_finishes(
    tmp_path, mini, results, loopback, monkeypatch, layout
):
    srv = loopback()
    ref = N_FAQ if layout == "shipped" else 0  # the reference rows: no cost, made first
    plan = plan_in(
        layout,
        tmp_path,
        mini,
        [
            model_candidate(
                srv.base_url, price={"input_per_1k": 100.0, "output_per_1k": 100.0}, concurrency=1
            )
        ],
        runner={"budget_usd": 1.0},
    )
    store = run_plan(plan, results_dir=results, options=QUIET)
    m = store.read_manifest()
    assert m["status"] == "stopped_budget"
    done = len(store.generations()) - ref
    assert 1 <= done < N_FAQ and m["spent"]["cost_usd"] >= 1.0
    assert srv.request_count == done
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # resumed from another folder
    run_plan(
        plan,
        results_dir=results,
        resume=store.run_id,
        options=RunOptions(progress=False, budget_usd=1000),
    )
    assert len(store.generations()) == N_FAQ + ref
    assert store.generations()["key"].is_unique and srv.request_count == N_FAQ


def test_resume_refuses_a_changed_plan(tmp_path, mini, results, loopback):
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)])
    store = run_plan(plan, results_dir=results, options=QUIET)
    (tmp_path / "prompt.j2").write_text("Different prompt: {{ item.input }}")
    with pytest.raises(RunError, match="plan changed"):
        run_plan(plan, results_dir=results, resume=store.run_id, options=QUIET)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("0.25", 0.25),
        ("3", 3.0),
        ("-1", 0.0),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 5.0),
    ],
)
def test_retry_after_parsing(value, expected):
    now = 1445412475.0  # 5 s before the HTTP date above
    got = parse_retry_after(value, now=now)
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize("workers", [0, 2])  # in process, and through the call workers' pipes
def test_fake_key_never_written_anywhere(tmp_path, mini, results, loopback, monkeypatch, workers):
    key = "sk-test-FAKEKEY-1234567890abcdef"
    monkeypatch.setenv("DISTRICT_LLM_API_KEY", key)
    ok = loopback()
    bad = loopback(always_fail=401, echo_auth=True)
    plan = write_plan(
        tmp_path,
        mini,
        [
            model_candidate(ok.base_url, name="ok", api_key_env="DISTRICT_LLM_API_KEY"),
            model_candidate(bad.base_url, name="bad", api_key_env="DISTRICT_LLM_API_KEY"),
        ],
        runner={"workers": workers},
    )
    store = run_plan(plan, results_dir=results, options=QUIET)
    assert store.read_manifest()["call_workers"] == workers
    score_run(store)
    sent = {k.lower(): v for k, v in ok.recorded.headers[0].items()}
    assert sent["authorization"] == f"Bearer {key}"  # the key was really used
    bad_rows = store.generations().query("candidate == 'bad'")
    assert (bad_rows["status"] == "failed").all()
    assert bad_rows["error"].str.contains("incorrect API key provided").all()  # kept, scrubbed
    for p in results.rglob("*"):
        if p.is_file():
            assert key.encode() not in p.read_bytes(), p


@pytest.mark.parametrize(("kill_after", "layout"), [(3, "absolute"), (17, "shipped")])
def test_sigkill_then_resume_gives_exactly_one_generation_each(
    tmp_path, mini, results, loopback, monkeypatch, kill_after, layout
):
    srv = loopback(latency=0.05)
    ref = N_FAQ if layout == "shipped" else 0
    plan = plan_in(
        layout,
        tmp_path,
        mini,
        [model_candidate(srv.base_url, samples=5)],
        runner={"concurrency": 4},
    )
    env = dict(os.environ, HARNESS_RESULTS=str(results))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            # as users run it: a shipped-style plan named relative to its district's folder
            str(plan) if layout == "absolute" else "plans/plan.yaml",
            "--run-id",
            "killed",
            "--quiet",
            "--no-score",
        ],
        env=env,
        cwd=REPO if layout == "absolute" else tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert wait_for(lambda: srv.request_count >= kill_after, timeout=180)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    journal = results / "killed" / "generations.jsonl"
    finished = (
        {
            json.loads(line)["key"]
            for line in journal.read_text().splitlines()
            if line.strip().endswith("}") and json.loads(line)["kind"] == "model"
        }
        if journal.exists()
        else set()
    )
    before = srv.request_count
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # resumed from another folder
    store = run_plan(plan, results_dir=results, resume="killed", options=QUIET)
    g = store.generations()
    assert len(g) == 5 * N_FAQ + ref and g["key"].is_unique and (g["status"] == "ok").all()
    # finished work was not redone: new requests cover only what had not finished
    assert srv.request_count - before <= 5 * N_FAQ - len(finished)


def test_resume_drops_a_line_cut_by_a_kill(tmp_path, mini, results, loopback):
    srv = loopback()
    # the shipped layout: relative dataset path, the reference rows journaled first
    plan = plan_in("shipped", tmp_path, mini, [model_candidate(srv.base_url)])
    store = run_plan(plan, results_dir=results, options=QUIET)
    lines = store.journal_path.read_text().splitlines(keepends=True)
    cut = N_FAQ + 3  # a model generation's line
    assert json.loads(lines[cut])["kind"] == "model"
    store.journal_path.write_text("".join(lines[:cut]) + lines[cut][:25])  # killed mid-write
    (store.path / "generations.parquet").unlink()
    run_plan(
        plan,
        results_dir=results,
        resume=store.run_id,
        options=RunOptions(progress=False, cache="off"),
    )
    g = store.generations()
    assert len(g) == 2 * N_FAQ and g["key"].is_unique
    assert all(json.loads(line) for line in store.journal_path.read_text().splitlines())


def test_plan_errors_name_line_and_field(tmp_path, mini):
    from harness.errors import PlanError
    from harness.plan.spec import load_plan

    p = tmp_path / "plan.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "name": "x",
                "dataset": str(mini),
                "tasks": ["faq_reply"],
                "candidates": [
                    {"name": "a", "baseline": "template"},
                    {"name": "b", "model": "openai/x"},
                ],
                "runnr": {},
            },
            sort_keys=False,
        )
    )
    with pytest.raises(PlanError) as err:
        load_plan(p)
    text = str(err.value)
    assert "field 'runnr' is not a known setting" in text
    assert "candidates.1" in text and "needs 'prompt'" in text
    assert "line" in text


@pytest.mark.parametrize(
    "queued,expected",
    [
        ([("a", False), ("b", True)], ["b", "a"]),  # a retry overtakes a first attempt
        ([("a", True), ("b", False), ("c", True)], ["a", "c", "b"]),  # retries FIFO, then rest
        ([("a", False), ("b", False)], ["a", "b"]),  # first attempts stay first come first served
    ],
)
def test_slots_serve_retries_before_first_attempts(queued, expected):
    import asyncio

    from harness.engine.calls import Slots as _Slots

    async def go() -> list[str]:
        slots = _Slots(1)
        await slots.acquire()  # the one slot is busy
        order: list[str] = []

        async def waiter(name: str, retry: bool) -> None:
            await slots.acquire(retry=retry)
            order.append(name)
            slots.release()

        tasks = []
        for name, retry in queued:
            tasks.append(asyncio.create_task(waiter(name, retry)))
            await asyncio.sleep(0)  # queue in this order
        slots.release()
        await asyncio.gather(*tasks)
        assert slots.free == 1
        return order

    assert asyncio.run(go()) == expected


def test_slots_pass_on_a_slot_whose_waiter_was_cancelled():
    import asyncio

    from harness.engine.calls import Slots as _Slots

    async def go() -> int:
        slots = _Slots(1)
        await slots.acquire()
        gone = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        gone.cancel()
        stays = asyncio.create_task(slots.acquire(retry=True))
        await asyncio.sleep(0)
        slots.release()
        await asyncio.wait_for(stays, 1)
        slots.release()
        return slots.free

    assert asyncio.run(go()) == 1


@pytest.mark.parametrize("n", [1, 250])
def test_cache_writes_off_the_request_path_are_readable_and_durable(tmp_path, n):
    from harness.engine.cache import ResponseCache

    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    keys = [f"k{i}" for i in range(n)]
    for i, k in enumerate(keys):
        cache.put(k, "m", {"output": f"o{i}"})
    got = cache.get_many(keys)  # queued or committed: answered either way
    assert [got[k]["output"] for k in keys] == [f"o{i}" for i in range(n)]
    cache.put(keys[0], "m", {"output": "newer"})
    assert cache.get_many([keys[0]])[keys[0]]["output"] == "newer"
    cache.close()
    again = ResponseCache(path)
    got = again.get_many(keys)
    assert len(got) == n and got[keys[0]]["output"] == "newer"
    again.delete(keys[:1])
    assert keys[0] not in again.get_many(keys[:1])
    again.close()


def test_plan_judge_scores_and_calibrates_with_the_run(tmp_path, mini, results, loopback):
    import json as _json

    def reply(msgs):
        text = msgs[-1]["content"]
        if "accuracy" in text and "tone" in text:  # a judge prompt
            return _json.dumps({"accuracy": 4, "completeness": 3, "tone": 5, "rationale": "ok"})
        return "Thank you. A replacement pass costs $10."

    srv = loopback(reply=reply)
    plan = write_plan(
        tmp_path,
        mini,
        [model_candidate(srv.base_url)],
        scorers=["edit", "judge"],
        judge={"model": "openai/judge", "api_base": srv.base_url, "min_rated": 2},
    )
    store = run_plan(plan, results_dir=results, options=QUIET)
    scores = score_run(store)
    judged = scores[(scores["metric"] == "judge_accuracy") & (scores["candidate"] == "m")]
    assert len(judged) == N_FAQ and (judged["value"] == 0.75).all()
    assert (store.path / "calibration.json").is_file()
    calls = srv.request_count
    score_run(store)  # re-scoring is free: every judge reply is cached
    assert srv.request_count == calls


def test_ramp_spaces_the_first_wave_and_ends_at_the_first_answer():
    import asyncio
    import time

    from harness.engine.calls import Ramp as _Ramp

    async def launches(ramp: _Ramp, n: int, answer_at: float | None = None) -> list[float]:
        """Start times of ``n`` launches through ``ramp`` (and one more after an answer)."""
        t0 = time.monotonic()
        starts: list[float] = []

        async def launch() -> None:
            await ramp.wait()
            starts.append(time.monotonic() - t0)

        async def answer() -> None:
            if answer_at is not None:
                await asyncio.sleep(answer_at)
                ramp.answered()

        await asyncio.gather(answer(), *(launch() for _ in range(n)))
        if answer_at is not None:
            await launch()  # after the answer: no wait at all
        return starts

    starts = asyncio.run(launches(_Ramp(4, gap=0.05), 4))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert starts[0] < 0.03 and all(g >= 0.045 for g in gaps), starts
    # 8 launches 0.2 s apart would take 1.4 s; an answer at 0.1 s releases the ones already
    # waiting (and any later ones) at once
    late = asyncio.run(launches(_Ramp(8, gap=0.2), 8, answer_at=0.1))
    assert len(late) == 9 and max(late) < 0.5, late  # not 1.4 s


@pytest.mark.parametrize(("latency", "spread_out"), [(1.0, True), (0.05, False)])
def test_first_wave_reaches_the_provider_spread_out(
    tmp_path, mini, results, loopback, monkeypatch, latency, spread_out
):
    """Timed where the run decides (when each call leaves the ramp, when the first answer
    comes), not where the server sees it: on a busy machine the client's CPU delays arrivals
    by any amount (CI: 0.24 s and 0.4 s stalls), but cannot shorten a ramp step."""
    import time

    from harness.engine.calls import Ramp as _Ramp

    monkeypatch.setattr(_Ramp, "GAP_S", 0.1)
    wave: list[float] = []  # when each call of the first wave (a ramp ticket) left
    answers: list[float] = []
    real_wait, real_answered = _Ramp.wait, _Ramp.answered

    async def wait(self: _Ramp) -> None:
        ticket = self.left > 0
        await real_wait(self)
        if ticket:
            wave.append(time.monotonic())

    def answered(self: _Ramp) -> None:
        answers.append(time.monotonic())
        real_answered(self)

    monkeypatch.setattr(_Ramp, "wait", wait)
    monkeypatch.setattr(_Ramp, "answered", answered)
    srv = loopback(latency=latency)
    plan = write_plan(
        tmp_path, mini, [model_candidate(srv.base_url, samples=2)], runner={"concurrency": 8}
    )
    store = run_plan(plan, results_dir=results, options=RunOptions(progress=False, workers=0))
    assert store.read_manifest()["counts"]["ok"] == 2 * N_FAQ
    assert len(wave) == 8 and srv.request_count == 2 * N_FAQ
    first_answer = min(answers)
    before = [t for t in wave if t < first_answer]
    steps = [round(b - a, 3) for a, b in itertools.pairwise(before)]
    if spread_out:
        # 1 s answers: the first wave (8 calls) leaves before any answer, 0.1 s apart (7 x 0.1
        # = 0.7 s; a stall of the client may let the answer overtake the last one or two)
        assert len(before) >= 6 and all(g >= 0.09 for g in steps), (steps, len(before))
    else:
        # 0.05 s answers: the first answer ends the ramp, also for the calls waiting on it:
        # each leaves at once, never a step (0.1 s) after the answer or the call before it
        after = [t for t in wave if t >= first_answer]
        late = [
            round(t - max(first_answer, p), 3)
            for p, t in itertools.pairwise([first_answer, *after])
        ]
        assert after and all(d < 0.09 for d in late), late


# Cancelling the calls in flight leaves litellm's inner coroutine unawaited (its warning).
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_an_error_writing_a_generation_stops_the_run_instead_of_vanishing(
    tmp_path, mini, results, loopback, monkeypatch
):
    # 72 units: more than the 64 tasks the runner keeps at once, so the failing one has
    # finished long before the last ones are awaited. 0.3 s answers, 8 in flight: the error
    # comes in the first round, and the calls in flight are then cancelled, not all made.
    from harness.store.runs import RunStore

    srv = loopback(latency=0.3)
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url, samples=12)])
    real_append = RunStore.append
    seen = []

    def append(self, record):
        seen.append(record["key"])
        if len(seen) == 3:
            raise OSError(28, "No space left on device")
        real_append(self, record)

    monkeypatch.setattr(RunStore, "append", append)
    with pytest.raises(OSError, match="No space left"):
        run_plan(plan, results_dir=results, options=RunOptions(progress=False, workers=0))
    (manifest,) = list(results.glob("*/manifest.json"))
    assert json.loads(manifest.read_text())["status"] == "error"
    assert srv.request_count <= 24, srv.request_count  # waiting for all 64 tasks made 64+


def test_run_plan_scores_like_harness_run_and_runs_says_so(tmp_path, mini, results, loopback):
    from harness.store.runs import list_runs

    srv = loopback()
    plan = plan_in("shipped", tmp_path, mini, [model_candidate(srv.base_url)])
    scored = run_plan(plan, results_dir=results, run_id="a", options=QUIET)
    bare = run_plan(plan, results_dir=results, run_id="b", options=QUIET, score=False)
    assert (scored.path / "scores.parquet").is_file()
    assert not (bare.path / "scores.parquet").is_file()
    assert list_runs(results).set_index("run_id")["scored"].to_dict() == {"a": True, "b": False}


def test_a_run_scores_with_the_dataset_it_loaded(tmp_path, mini, results, monkeypatch):
    """Scoring right after the run reads no dataset again (score_run(..., dataset=))."""
    import harness.scorers.scoring as scoring

    loads: list[object] = []
    real = scoring.load_dataset
    monkeypatch.setattr(scoring, "load_dataset", lambda p: loads.append(p) or real(p))
    plan = write_plan(tmp_path, mini, [{"name": "canned", "baseline": "template"}])
    store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
    assert len(store.scores()) > 0 and loads == []
    score_run(store)  # a re-score on its own reads it from the manifest's path
    assert len(loads) == 1
