from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest

from harness.run.runner import RunOptions, run_plan
from harness.scorers import scorer_names
from harness.scorers.scoring import score_run

from ..conftest import MINI, model_candidate, write_plan

HOSTILE = "<script>document.title='PWNED'</script><img src=x onerror=alert(1)>"
JUDGE_REPLY = '{"accuracy": 4, "completeness": 3, "tone": 4, "rationale": "ok"}'


@pytest.fixture(scope="module")
def review_run(tmp_path_factory):
    """A real scored run (three baselines + a loopback model + the approved-answer reference
    row, on by default in every plan) whose plan has a loopback judge."""
    from loopback import Behaviour, LoopbackServer

    tmp = tmp_path_factory.mktemp("review")
    ds = tmp / "mini"
    shutil.copytree(MINI, ds)
    lines = (ds / "items.jsonl").read_text().splitlines()
    rec = json.loads(lines[1])
    rec["input"] += " " + HOSTILE
    rec["source_ids"] = [*rec["source_ids"], "safety-reporting"]  # a page with two sources
    lines[1] = json.dumps(rec)
    for i, line in enumerate(lines):  # when each message arrived: turnaround runs from it
        rec = json.loads(line)
        rec["received_at"] = f"{rec['date']}T07:{10 + i:02d}:00-07:00"
        lines[i] = json.dumps(rec)
    (ds / "items.jsonl").write_text("\n".join(lines) + "\n")
    results = tmp / "results"
    judge = LoopbackServer(Behaviour(reply=JUDGE_REPLY)).__enter__()
    # as small models write: a fill-in slot left in, and Markdown a family would never see
    reply = (
        "Dear [Parent's Name],\n\n**A replacement bus pass** is $10 at the school office, "
        "ready within 2 school days."
    )
    with LoopbackServer(Behaviour(reply=reply)) as srv:
        plan = write_plan(
            tmp,
            ds,
            [
                {"name": "canned", "baseline": "template"},
                {"name": "retrieval", "baseline": "retrieval"},
                {"name": "staff", "baseline": "staff_first_draft"},
                model_candidate(srv.base_url, name="model_x"),
            ],
            scorers=[n for n in scorer_names() if n != "judge"],
            judge={"model": "openai/loopback", "api_base": judge.base_url, "concurrency": 4},
            reference_row=True,  # as in every real plan: the approved answer is scored too
        )
        store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
    score_run(store)
    yield SimpleNamespace(store=store, results=results, dataset=ds, judge=judge, tmp=tmp)
    judge.__exit__(None, None, None)


@pytest.fixture
def fresh_run(review_run, request):
    """A copy of the module's run under a new id (a queue is built once per run)."""
    import hashlib

    tag = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]
    new = review_run.results / f"{review_run.store.run_id}-{tag}"
    shutil.copytree(review_run.store.path, new, ignore=shutil.ignore_patterns("review"))
    return SimpleNamespace(
        run_id=new.name,
        path=new,
        results=review_run.results,
        dataset=review_run.dataset,
        judge=review_run.judge,
    )
