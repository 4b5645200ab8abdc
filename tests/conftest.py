from __future__ import annotations

import fcntl
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))

from loopback import Behaviour, LoopbackServer

from harness.report.lazy import defer_iri_grammar

# As every render does: nbformat (imported at collection by the report tests, in each xdist
# worker) would otherwise build rfc3987_syntax's RFC 3987 grammar, ~1.5-4 CPU s, for "iri"
# checks no notebook schema makes (built on the first such check, if any).
defer_iri_grammar()

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "tests" / "fixtures" / "mini-district"
SAMPLE = REPO / "datasets" / "sample-district"


@pytest.fixture
def mini() -> Path:
    return MINI


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "mini-district"
    shutil.copytree(MINI, dst)
    return dst


@pytest.fixture
def results(tmp_path: Path) -> Path:
    p = tmp_path / "results"
    p.mkdir()
    return p


@pytest.fixture
def loopback():
    servers: list[LoopbackServer] = []

    def start(**kw: Any) -> LoopbackServer:
        srv = LoopbackServer(Behaviour(**kw)).__enter__()
        servers.append(srv)
        return srv

    yield start
    for s in servers:
        s.__exit__(None, None, None)


def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test session's temp root, the same folder in every pytest-xdist worker:
    pytest-of-USER/pytest-N/, above each worker's popen-gwK/."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


@pytest.hookimpl(trylast=True)  # after pytest's tmp_path plugin has made its factory
def pytest_configure(config: pytest.Config) -> None:
    """The default results folder ($HARNESS_RESULTS) is the session's, never the checkout's
    results/: a test that runs, caches or builds a knowledge index without naming a folder (or a
    module that builds one at import) writes under the session's temp root, which every worker
    shares (so the sample district's index is built once per session, not once per worker)."""
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        os.environ["HARNESS_RESULTS"] = str(session_root(factory) / "default-results")


def shared_copy(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A copy of a folder that ``build(folder)`` makes once per test session.

    Expensive fixtures (real runs, scored and rendered) are built once however many modules or
    pytest-xdist workers ask for them: the first caller builds under a file lock in the
    session's temp root (shared by the workers), the others wait for it; every caller gets a
    fresh copy in a temp folder of its own, so what a test writes never reaches another test.
    A failed build leaves nothing behind, and the next caller builds again.
    """
    root = session_root(tmp_path_factory)
    built = root / f"shared-{name}"
    with (root / f"shared-{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (built / ".complete").is_file():
                shutil.rmtree(built, ignore_errors=True)
                built.mkdir()
                try:
                    build(built)
                except BaseException:
                    shutil.rmtree(built, ignore_errors=True)
                    raise
                (built / ".complete").touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    dst = tmp_path_factory.mktemp(name) / "copy"
    shutil.copytree(built, dst, symlinks=True)
    return dst


def _build_baselines_run(folder: Path) -> None:
    import harness

    store = harness.run_plan(REPO / "plans" / "baselines.yaml", results_dir=folder / "results")
    (folder / "run_id").write_text(store.run_id, encoding="utf-8")


def baselines_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """(run id, results folder): ``plans/baselines.yaml`` as shipped, run and scored on the
    sample district by ``harness.run_plan`` once per test session (~4 CPU s), a copy per
    caller (``shared_copy``). For tests that read a shipped baselines run, not make one."""
    folder = shared_copy(tmp_path_factory, "baselines-run", _build_baselines_run)
    return (folder / "run_id").read_text(encoding="utf-8"), folder / "results"


def write_plan(
    folder: Path,
    dataset: Path,
    candidates: list[dict[str, Any]],
    *,
    shipped: bool = False,
    **extra: Any,
) -> Path:
    """A plan file in ``folder`` with a simple prompt template beside it.

    ``shipped``: written as the shipped plans are (plans/demo.yaml): the dataset named by a path
    relative to the plan file's folder, and the approved-answer reference row left at its
    default (on), unless ``reference_row`` is given.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompt.j2").write_text(
        "Sources:\n{% for s in sources %}{{ s.text }}\n{% endfor %}\nQuestion: {{ item.input }}",
        encoding="utf-8",
    )
    plan = {
        "name": extra.pop("name", "t"),
        "dataset": os.path.relpath(dataset, folder) if shipped else str(dataset),
        "tasks": extra.pop("tasks", ["faq_reply"]),
        "candidates": candidates,
        **extra,
    }
    if not shipped:
        # the runner's mechanics are counted per candidate: the approved-answer reference row
        # (on in every real plan) is asked for by the tests about it
        plan["reference_row"] = extra.get("reference_row", False)
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path


# How a test's plan is laid out: "absolute" (the dataset by its absolute path, no reference row)
# or "shipped" (plans/plan.yaml naming ../<...>/dataset relatively, reference row on), so a test
# of the runner's mechanics also runs what users run.
LAYOUTS = ("absolute", "shipped")


def shipped_plan(path: Path) -> dict[str, Any]:
    """A shipped plan (e.g. ``plans/demo.yaml``) as a dict, its relative paths (dataset,
    governance, candidates' prompt, system and options.path, the judge's rubric) made absolute,
    so a test can change it and write it anywhere."""
    plan: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    here = path.parent

    def absolute(p: str) -> str:
        return str((here / p).resolve())

    for key in ("dataset", "governance"):
        if plan.get(key):
            plan[key] = absolute(plan[key])
    for c in plan["candidates"]:
        if c.get("options", {}).get("path"):
            c["options"]["path"] = absolute(c["options"]["path"])
        for key in ("prompt", "system"):
            if key in c:
                c[key] = absolute(c[key])
    if plan.get("judge", {}).get("rubric"):
        plan["judge"]["rubric"] = absolute(plan["judge"]["rubric"])
    return plan


def plan_in(
    layout: str, tmp_path: Path, dataset: Path, candidates: list[dict[str, Any]], **extra: Any
) -> Path:
    """A plan in ``layout`` (one of :data:`LAYOUTS`) under ``tmp_path``."""
    if layout == "shipped":
        return write_plan(tmp_path / "plans", dataset, candidates, shipped=True, **extra)
    return write_plan(tmp_path, dataset, candidates, **extra)


def model_candidate(base_url: str, name: str = "m", **kw: Any) -> dict[str, Any]:
    return {
        "name": name,
        "model": "openai/loopback",
        "api_base": base_url,
        "prompt": "prompt.j2",
        "params": {"max_tokens": 50},
        **kw,
    }


def wait_for(pred: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``pred`` until it holds (True) or ``timeout`` seconds pass (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


# Fixtures built once per session (``shared_copy``) whose tests run on one worker: the other
# worker runs the rest of the suite instead of waiting on the file lock while the build runs.
SHARED_BUILDS = frozenset({"runs", "reports", "script_report", "demo_report"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`: `-n <cores + 1> --dist loadgroup`), every test that starts the
    embedded model runs on one worker, one after another: two llama.cpp servers on two cores
    would thrash each other; and the tests of the report runs built once (``SHARED_BUILDS``)
    run on one worker, so no worker sits waiting for another's build. Without xdist the group
    marks do nothing."""
    for item in items:
        if item.get_closest_marker("local_model") is not None:
            item.add_marker(pytest.mark.xdist_group("embedded-model"))
        elif SHARED_BUILDS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("report-runs"))
    if config.getoption(
        "loadgroup", default=False
    ):  # set on pytest-xdist's workers under --dist loadgroup
        _group_suffix(items)


def _group_suffix(items: list[pytest.Item]) -> None:
    """Give each grouped test the ``@group`` suffix that pytest-xdist's scheduler groups by.

    pytest-xdist 3.8 writes it into ``item._nodeid``, which pytest 9.2's structured node ids no
    longer read, so ``--dist loadgroup`` silently spread every group over all workers
    (pytest-dev/pytest-xdist#1386, fix pending in #1388). Done here on the structured id until
    a pytest-xdist release does it; a no-op where the suffix is already there.
    """
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest before 9.2: pytest-xdist's own suffix works
        return
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})  # fmt: skip
        if names and "@" not in item.nodeid.rsplit("]", 1)[-1] and hasattr(item, "_id"):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")
