"""Rendering: papermill executes a report notebook, nbconvert turns it into one HTML file."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import ReportError
from harness.paths import resolve_path
from harness.report.decision import PHASES
from harness.report.kernel import papermill_kernel_options
from harness.report.lazy import defer_iri_grammar
from harness.report.printing import finish
from harness.store.runs import RunStore, default_results_dir, open_run

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


# rendering ------------------------------------------------------------------------------------
def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """The parameters a notebook's tagged cell declares."""
    defer_iri_grammar()
    import papermill as pm

    return dict(pm.inspect_notebook(str(notebook)))


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.S | re.I)


_CSP = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:\">"
)


def self_contained(body: str) -> str:
    """Drop every script (the template's CDN loaders included) and forbid scripts and fetches.

    The report is HTML and embedded PNGs only: it opens offline, and a Content-Security-Policy
    stops any script from running even if one slipped through escaping.
    """
    body = _SCRIPT.sub("", body)
    return body.replace("<head>", "<head>\n" + _CSP, 1)


def render_notebook(
    notebook: str,
    parameters: dict[str, Any],
    out_dir: Path,
    out_name: str | None = None,
    title: str = "",
    words: dict[str, str] | None = None,
) -> Path:
    """Execute a report notebook with papermill and render it to HTML without code cells.

    Unknown parameters are refused (papermill would only warn). A failing cell raises
    ReportError with the cell index and error name. ``words``: the workflow's vocabulary
    (:mod:`harness.report.vocab`) the notebook's prose is put in before it runs.
    """
    defer_iri_grammar()
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    nb_path = NOTEBOOKS / f"{notebook}.ipynb"
    if not nb_path.is_file():
        known = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
        raise ReportError(f"no report notebook '{notebook}'; known: {', '.join(known)}")
    declared = notebook_parameters(nb_path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ReportError(
            f"{nb_path.name} does not take parameter(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(sorted(declared))}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    name = out_name or notebook
    executed = out_dir / f"{name}.ipynb"
    env_before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    source: Any = str(nb_path)
    if words is not None:
        from harness.report.vocab import reword_notebook

        source = reword_notebook(nbformat.read(str(nb_path), as_version=4), words)
    try:
        pm.execute_notebook(
            source,
            str(executed),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            cwd=str(NOTEBOOKS.parent),
            **papermill_kernel_options(),  # a private IPC kernel: no unencrypted-TCP warning
        )
    except pm.PapermillExecutionError as exc:
        raise ReportError(
            f"{nb_path.name} failed in cell {exc.cell_index} with {exc.ename}: "
            f"{exc.evalue} (the executed notebook is at {executed})",
            exc.cell_index,
            exc.ename,
        ) from None
    finally:
        if env_before is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_before
    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or name}})
    body = self_contained(finish(body))
    out = out_dir / f"{name}.html"
    out.write_text(body, encoding="utf-8")
    return out


def _root(results_dir: str | Path | None) -> Path:
    return resolve_path(results_dir) if results_dir is not None else default_results_dir()


def _record(store: RunStore, key: str, path: Path) -> None:
    m = store.read_manifest()
    reports = dict(m.get("reports", {}))
    reports[key] = path.name
    store.update_manifest(reports=reports)


def _protocol_param(protocol: str | Path | None) -> str:
    if protocol and not Path(protocol).is_file():
        raise ReportError(
            f"pilot protocol {protocol} does not exist; freeze one with harness pilot start"
        )
    return str(Path(protocol).resolve()) if protocol else ""


def render_report(
    run_id: str,
    phase: str = "pre_pilot",
    title: str = "",
    results_dir: str | Path | None = None,
    gates: str | Path | None = None,
    governance: str | Path | None = None,
    protocol: str | Path | None = None,
) -> Path:
    """Render the readiness report of a stored run to results/<run_id>/readiness_report.html.

    Makes no model calls: it reads the stored generations and scores. The phase's gates come
    from ``gates`` (default rubrics/gates.yaml), the checklist from ``governance``; the frozen
    pilot protocol from ``protocol`` (default ``pilots/<workflow>.yaml`` when there is one).
    """
    if phase not in PHASES:
        raise ReportError(f"unknown phase '{phase}'; phases: {', '.join(PHASES)}")
    root = _root(results_dir)
    store = open_run(run_id, root)
    store.scores()  # a clear error if the run was never scored
    # Validate the rubric files here, so a typo is reported with file and line, not as a cell error.
    from harness.gates.decision import load_gates, load_governance

    load_gates(gates).phase(phase)
    load_governance(governance)
    params = {
        "run_id": store.run_id,
        "phase": phase,
        "title": title,
        "results_dir": str(root.resolve()),
        "gates": str(Path(gates).resolve()) if gates else "",
        "governance": str(Path(governance).resolve()) if governance else "",
        "protocol": _protocol_param(protocol),
    }
    m = store.read_manifest()
    district = str(m.get("district") or m["dataset"]["name"])
    from harness.report.glossary import PHASE_NAMES

    # the document's title (the PDF's too): the district and the phase, never the run id
    doc_title = f"{district}: AI drafting readiness report, {PHASE_NAMES[phase].lower()}"
    from harness.report.vocab import vocab

    words = vocab((m.get("plan") or {}).get("tasks"))
    path = render_notebook("readiness_report", params, store.path, title=doc_title, words=words)
    _record(store, phase, path)
    return path


WORKFLOW_SELECTION = "workflow_selection"


def render_workflow_selection(run_id: str, results_dir: str | Path | None = None) -> Path:
    """Render Phase 1's choice between workflows (notebooks/workflow_selection.ipynb) from a
    stored, scored run of several workflows; no model calls."""
    root = _root(results_dir)
    store = open_run(run_id, root)
    store.scores()
    params = {"run_id": store.run_id, "results_dir": str(root.resolve())}
    path = render_notebook(
        WORKFLOW_SELECTION, params, store.path, title=f"Which workflow first: {store.run_id}"
    )
    _record(store, WORKFLOW_SELECTION, path)
    return path


def render_comparison(
    run_before: str,
    run_after: str,
    pilot_log: str | Path | None = None,
    results_dir: str | Path | None = None,
    protocol: str | Path | None = None,
) -> Path:
    """Render what changed between two runs (and the pilot's outcomes) into the later run's folder."""
    root = _root(results_dir)
    before, after = open_run(run_before, root), open_run(run_after, root)
    before.scores()
    after.scores()
    if pilot_log and not Path(pilot_log).exists():
        raise ReportError(
            f"pilot log {pilot_log} does not exist; give a pilot_log.csv or a dataset folder"
        )
    params = {
        "run_before": before.run_id,
        "run_after": after.run_id,
        "pilot_log": str(Path(pilot_log).resolve()) if pilot_log else "",
        "results_dir": str(root.resolve()),
        "protocol": _protocol_param(protocol),
    }
    path = render_notebook("phase_comparison", params, after.path)
    _record(after, f"compare:{before.run_id}", path)
    return path


def render_calibration(run_id: str, results_dir: str | Path | None = None) -> Path:
    """Render the judge calibration report of a run (from its stored calibration; no model calls)."""
    root = _root(results_dir)
    store = open_run(run_id, root)
    params = {"run_id": store.run_id, "results_dir": str(root.resolve())}
    path = render_notebook("judge_calibration", params, store.path)
    _record(store, "judge_calibration", path)
    return path


def calibrate_and_render(
    run_id: str, results_dir: str | Path | None = None, say: Callable[[str], Any] | None = None
) -> Path:
    """Calibrate the run's judge against the dataset's human ratings, then render the report.

    The calibration itself is ``harness.scorers.calibration.calibrate`` (it may call the judge model;
    its calls are cached); an earlier calibration of the run is kept in its
    ``calibration-history`` folder, and ``say`` (e.g. ``print``) is told what was re-run.
    Rendering alone is :func:`render_calibration`.
    """
    try:
        from harness.scorers.calibration import calibrate
    except ImportError as exc:
        raise ReportError(
            f"judge calibration is not available in this installation ({exc}); "
            "harness/scorers/calibration.py must provide calibrate(run, results_dir=...)"
        ) from None
    root = _root(results_dir)
    store = open_run(run_id, root)
    result = calibrate(store, results_dir=root)
    if say is not None:
        from harness.scorers.calibration_facts import calibration_message

        say(calibration_message(result))
    return render_calibration(store.run_id, root)


def print_report(path: Path, paper: str = "letter") -> Path:
    """Print a rendered report to a tagged PDF beside it (Letter or A4), with the page numbers
    and the district's name (as its run recorded it) in the footer. Needs Chromium."""
    from harness.report.pdf import print_pdf

    m = open_run(path.parent.name, path.parent.parent).read_manifest()
    return print_pdf(path, paper=paper, footer=str(m.get("district") or m["dataset"]["name"]))


def render_explore(run_id: str, results_dir: str | Path | None = None) -> Path:
    """Render the analyst's explore notebook for a run (mainly to check it runs)."""
    root = _root(results_dir)
    store = open_run(run_id, root)
    params = {"run_id": store.run_id, "results_dir": str(root.resolve())}
    return render_notebook("explore", params, store.path)
