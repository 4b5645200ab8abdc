"""Runs work from a Jupyter kernel (whose cells run inside an event loop) as from a terminal."""

from __future__ import annotations

import asyncio

import nbformat
import papermill as pm
import pytest

from harness import aio
from harness.run.runner import RunOptions, run_plan

from .conftest import REPO, model_candidate, write_plan

N_FAQ = 6


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_run_outside_and_inside_a_running_loop():
    assert aio.run(_answer()) == 42

    async def inside() -> int:
        return aio.run(_answer())  # asyncio.run would refuse here

    assert asyncio.run(inside()) == 42


@pytest.mark.parametrize("workers", [0, 2])
def test_run_plan_inside_a_running_loop(tmp_path, mini, results, loopback, workers):
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url, samples=2)])

    async def cell() -> object:
        return run_plan(
            plan, results_dir=results, options=RunOptions(progress=False, workers=workers)
        )

    store = asyncio.run(cell())
    g = store.generations()  # type: ignore[attr-defined]
    assert len(g) == 2 * N_FAQ and (g["status"] == "ok").all()
    assert srv.request_count == 2 * N_FAQ


@pytest.mark.parametrize("workers", [0, 2])
def test_run_plan_in_a_real_jupyter_kernel(tmp_path, mini, results, loopback, workers):
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url, samples=3)])
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from harness.run.runner import RunOptions, run_plan\n"
            f"store = run_plan({str(plan)!r}, results_dir={str(results)!r},\n"
            f"                 options=RunOptions(workers={workers}))\n"
            "m = store.read_manifest()\n"
            "print('ok', m['counts']['ok'], 'workers', m['call_workers'])"
        )
    ]
    src, out = tmp_path / "analyst.ipynb", tmp_path / "analyst.out.ipynb"
    nbformat.write(nb, str(src))
    pm.execute_notebook(
        str(src), str(out), kernel_name="python3", progress_bar=False, cwd=str(REPO)
    )
    done = nbformat.read(str(out), as_version=4)
    text = "".join(o.get("text", "") for o in done.cells[0].outputs if o.output_type == "stream")
    assert f"ok {3 * N_FAQ} workers {workers}" in text
    assert srv.request_count == 3 * N_FAQ


def test_judge_inside_a_running_loop(loopback, mini, tmp_path):
    from harness.data.dataset import load_dataset
    from harness.plan.spec import JudgeSpec
    from harness.scorers.judge import judge_drafts

    from .scorers.test_judge import DRAFTS, GOOD

    srv = loopback(reply=GOOD)
    spec = JudgeSpec(model="openai/loopback", api_base=srv.base_url)

    async def cell() -> object:
        return judge_drafts(DRAFTS, load_dataset(mini), spec, cache_path=tmp_path / "c.sqlite")

    got = asyncio.run(cell())
    assert got["error"].isna().all() and got["calls"].tolist() == [1, 1]  # type: ignore[index]
    assert srv.request_count == 2
