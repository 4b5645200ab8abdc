"""Helpers the report notebooks call (tables, plots, examples) and rendering via papermill.

Notebooks hold a tagged ``parameters`` cell and one call per cell into this module. Every
piece of dataset or model text is HTML-escaped here, so a question containing ``<script>``
shows as text and runs nothing.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from harness.datasets import Dataset, load_dataset
from harness.errors import ReportError
from harness.scorers import metrics as metric_registry
from harness.stats import summarize
from harness.store import RunStore, default_results_dir, open_run

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PHASES = {
    "pre_pilot": "Before the pilot: is a candidate good enough to pilot with staff review?",
    "post_pilot": "After the pilot: did the pilot improve the workflow?",
    "pre_expansion": "Before expansion: may the pilot widen?",
}
HEADLINE_METRICS = ["word_similarity", "char_similarity", "review_minutes", "saved_minutes"]
PLAIN = {
    "word_similarity": "Closeness to the approved answer (words)",
    "char_similarity": "Closeness to the approved answer (characters)",
    "review_minutes": "Estimated minutes to review and fix",
    "saved_minutes": "Estimated minutes saved vs writing from scratch",
    "scratch_minutes": "Estimated minutes to write from scratch",
}


def esc(value: Any) -> str:
    """HTML-escape anything for display (None shows as an em dash)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "&mdash;"
    return html.escape(str(value), quote=True)


@dataclass
class RunData:
    """Everything a report needs about one stored run, loaded once."""

    store: RunStore

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return self.store.read_manifest()

    @cached_property
    def generations(self) -> pd.DataFrame:
        return self.store.generations()

    @cached_property
    def scores(self) -> pd.DataFrame:
        return self.store.scores()

    @cached_property
    def dataset(self) -> Dataset:
        return load_dataset(self.manifest["dataset"]["path"])

    @property
    def run_id(self) -> str:
        return self.store.run_id

    def candidate_kinds(self) -> dict[str, str]:
        return {c["name"]: c["kind"] for c in self.manifest["candidates"]}

    def wide_scores(self) -> pd.DataFrame:
        """One row per generation, one column per metric."""
        return self.scores.pivot_table(
            index=["key", "item_id", "candidate", "sample"],
            columns="metric",
            values="value",
            dropna=False,
        ).reset_index()


def load_run(run_id: str, results_dir: str | Path | None = None) -> RunData:
    """Load a stored run for a notebook (``'latest'`` picks the newest run)."""
    return RunData(open_run(run_id, results_dir))


def _fmt(v: float, unit: str) -> str:
    if pd.isna(v):
        return "—"
    return f"{v:.1f}" if unit == "minutes" else f"{v:.2f}"


def summary_table(run: RunData, metric_names: list[str] | None = None) -> pd.DataFrame:
    """Candidates (and baselines) by headline metric: mean [95% CI], plus counts."""
    names = metric_names or HEADLINE_METRICS
    info = metric_registry()
    summ = summarize(run.scores[run.scores["metric"].isin(names)])
    gens = run.generations
    kinds = run.candidate_kinds()
    rows = []
    for cand in [c["name"] for c in run.manifest["candidates"]]:
        g = gens[gens["candidate"] == cand]
        row: dict[str, Any] = {
            "candidate": cand,
            "kind": kinds.get(cand, "?"),
            "outputs": int((g["status"] == "ok").sum()),
            "failed": int((g["status"] == "failed").sum()),
            "no output": int((g["status"] == "no_output").sum()),
        }
        for m in names:
            s = summ[(summ["candidate"] == cand) & (summ["metric"] == m)]
            unit = info[m].unit if m in info else ""
            if s.empty or pd.isna(s["mean"].iloc[0]):
                row[PLAIN.get(m, m)] = "—"
            else:
                r = s.iloc[0]
                row[PLAIN.get(m, m)] = (
                    f"{_fmt(r['mean'], unit)} "
                    f"[{_fmt(r['ci_low'], unit)}–{_fmt(r['ci_high'], unit)}]"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def table_html(frame: pd.DataFrame, caption: str = "") -> Any:
    """A DataFrame as an escaped, readable HTML table (for display in a notebook)."""
    from IPython.display import HTML

    body = frame.to_html(index=False, escape=True, border=0, classes="harness-table", na_rep="—")
    cap = f"<p class='caption'>{esc(caption)}</p>" if caption else ""
    return HTML(_STYLE + cap + body)


_STYLE = """<style>
.harness-table{border-collapse:collapse;font-family:system-ui,sans-serif;font-size:14px;margin:8px 0}
.harness-table th,.harness-table td{border-bottom:1px solid #ddd;padding:6px 10px;text-align:left;vertical-align:top}
.harness-table th{background:#f3f5f8}
.caption{color:#555;font-size:13px;margin:4px 0}
.cover h1{margin-bottom:4px}.cover p{margin:2px 0}
.example{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin:10px 0 18px}
.example div{border:1px solid #ddd;border-radius:6px;padding:8px;white-space:pre-wrap;font-size:13px}
.example h4{grid-column:1/3;margin:0}
del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:none}
@media print{.example{break-inside:avoid}}
</style>"""


def cover(run: RunData, phase: str, title: str = "") -> Any:
    """The first screen: which workflow, which phase, which data, which candidates."""
    from IPython.display import HTML

    m = run.manifest
    phase_text = PHASES.get(phase, phase)
    cands = ", ".join(
        f"{c['name']} ({c['model'] or 'baseline: ' + str(c['baseline'])})" for c in m["candidates"]
    )
    counts = m.get("counts", {})
    return HTML(
        _STYLE
        + f"""<div class="cover">
<h1>{esc(title or "AI drafting readiness report")}</h1>
<p><b>Workflow:</b> {esc(m.get("workflow") or m["plan_name"])}</p>
<p><b>Phase:</b> {esc(phase_text)}</p>
<p><b>Data:</b> {esc(m["dataset"]["name"])} ({esc(m["selection"]["items"])} questions;
dataset fingerprint {esc(m["dataset"]["fingerprint"][:12])}), plan {esc(m["plan_name"])}
(fingerprint {esc(m["plan_fingerprint"][:12])})</p>
<p><b>Compared:</b> {esc(cands)}</p>
<p><b>Run:</b> {esc(run.run_id)}, {esc(m.get("started_at"))}; {esc(counts.get("ok"))} drafts,
{esc(counts.get("failed"))} failed</p></div>"""
    )


def similarity_figure(run: RunData, metric: str = "word_similarity") -> Any:
    """Bar chart: mean closeness to the approved answer per candidate, with 95% CIs."""
    import matplotlib.pyplot as plt

    summ = summarize(run.scores[run.scores["metric"] == metric])
    order = [c["name"] for c in run.manifest["candidates"]]
    summ = summ.set_index("candidate").reindex(order).dropna(subset=["mean"])
    kinds = run.candidate_kinds()
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(summ) + 1.4))
    colors = ["#2b6cb0" if kinds.get(c) == "model" else "#a0aec0" for c in summ.index]
    err = [summ["mean"] - summ["ci_low"], summ["ci_high"] - summ["mean"]]
    ax.barh(summ.index, summ["mean"], xerr=err, color=colors, capsize=4)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel(f"{PLAIN.get(metric, metric)} (0 = nothing alike, 1 = identical)")
    ax.set_title("How close each draft is to the approved answer (bars: 95% interval)")
    fig.tight_layout()
    plt.close(fig)
    return fig


def minutes_figure(run: RunData) -> Any:
    """Estimated reviewer minutes per draft, by candidate, against writing from scratch."""
    import matplotlib.pyplot as plt

    wide = run.wide_scores()
    order = [c["name"] for c in run.manifest["candidates"] if c["name"] in set(wide["candidate"])]
    data = [wide.loc[wide["candidate"] == c, "review_minutes"].dropna() for c in order]
    scratch = wide.drop_duplicates("item_id")["scratch_minutes"].dropna()
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(order) + 1.6))
    ax.boxplot(
        [*data, scratch], vert=False, tick_labels=[*order, "write from scratch"], showfliers=False
    )
    ax.invert_yaxis()
    ax.set_xlabel("estimated staff minutes per reply (review + edits)")
    ax.set_title("Editing effort per reply")
    fig.tight_layout()
    plt.close(fig)
    return fig


def by_category(run: RunData, metric: str = "word_similarity") -> pd.DataFrame:
    """Mean of one metric by category (rows) and candidate (columns)."""
    s = run.scores[run.scores["metric"] == metric]
    cats = run.dataset.items["category"]
    s = s.assign(category=s["item_id"].map(cats))
    table = s.pivot_table(index="category", columns="candidate", values="value", aggfunc="mean")
    order = [c["name"] for c in run.manifest["candidates"] if c["name"] in table.columns]
    table = table[order].round(2)
    table.columns.name = None
    return table.reset_index()


def _diff_html(draft: str, reference: str) -> str:
    """Word diff: what the reviewer deletes (red) and adds (green) to reach the reference."""
    from rapidfuzz.distance import Levenshtein

    from harness.scorers.edit import words

    dw, rw = words(draft), words(reference)
    out: list[str] = []
    for op in Levenshtein.opcodes(dw, rw):
        tag, s1, e1, s2, e2 = op.tag, op.src_start, op.src_end, op.dest_start, op.dest_end
        if tag == "equal":
            out.append(esc(" ".join(dw[s1:e1])))
        if tag in ("delete", "replace"):
            out.append(f"<del>{esc(' '.join(dw[s1:e1]))}</del>")
        if tag in ("insert", "replace"):
            out.append(f"<ins>{esc(' '.join(rw[s2:e2]))}</ins>")
    return " ".join(out)


def examples(run: RunData, candidate: str | None = None, n: int = 3) -> Any:
    """Best and worst drafts of a candidate: question, draft with edits marked, reference."""
    from IPython.display import HTML

    wide = run.wide_scores()
    kinds = run.candidate_kinds()
    cand = (
        candidate or next((c for c, k in kinds.items() if k == "model"), None) or next(iter(kinds))
    )
    w = wide[(wide["candidate"] == cand)].dropna(subset=["word_similarity"])
    if w.empty:
        return HTML(f"<p>No scored drafts for {esc(cand)}.</p>")
    w = w.sort_values("word_similarity")
    gens = run.generations.set_index("key")
    items = run.dataset.items
    parts = [_STYLE]
    for label, rows in (
        ("Closest to the approved answer", w.tail(n).iloc[::-1]),
        ("Furthest from the approved answer", w.head(n)),
    ):
        parts.append(f"<h3>{esc(label)} ({esc(cand)})</h3>")
        for _, r in rows.iterrows():
            item = items.loc[r["item_id"]]
            draft = str(gens.loc[r["key"], "output"])
            parts.append(
                f"<div class='example'><h4>{esc(r['item_id'])} · {esc(item['category'])} · "
                f"closeness {r['word_similarity']:.2f} · about {r['review_minutes']:.1f} min "
                f"to fix</h4><div><b>Question</b>\n{esc(item['input'])}</div>"
                f"<div><b>Draft, with the reviewer's edits</b>\n"
                f"{_diff_html(draft, item['reference'])}</div></div>"
            )
    return HTML("".join(parts))


def failures(run: RunData) -> pd.DataFrame:
    """Samples whose calls all failed: recorded with their error, never scored as 0."""
    g = run.generations
    f = g[g["status"] == "failed"][["item_id", "candidate", "sample", "attempts", "error"]]
    return f.reset_index(drop=True)


def methodology() -> Any:
    """How the numbers are made, in plain words."""
    from IPython.display import HTML

    return HTML(
        _STYLE
        + """<ul>
<li><b>Closeness to the approved answer</b>: 1 minus the edit distance between a draft and the
answer the district approved, counted in words (or characters) and divided by the longer text.
1 means identical; 0 means nothing in common.</li>
<li><b>Minutes to review and fix</b>: an estimate, not a measurement: time to read the draft
(230 words a minute), to check its facts (2 minutes), to write each added or replaced word
(12 words a minute, as when writing from scratch) and to delete each removed word (0.5 s).
<b>Minutes saved</b> compares this with writing the approved answer from scratch (12 words a
minute plus 2 minutes to look up the facts). A draft that must be rewritten saves nothing.
The rates are in rubrics/effort.yaml.</li>
<li><b>Intervals</b>: the range in brackets is a 95% bootstrap interval over questions (2,000
resamples, fixed seed): if it is wide, the evidence is thin.</li>
<li><b>Failed drafts</b> (the model could not be reached after retries) are listed and left out
of averages; they are never counted as zero.</li>
<li><b>Limits</b>: closeness rewards wording like the approved answer; a correct answer worded
differently scores lower, and a fluent answer with one wrong date can score high.
Read the examples.</li></ul>"""
    )


# rendering ------------------------------------------------------------------------------------
def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """The parameters a notebook's tagged cell declares."""
    import papermill as pm

    return dict(pm.inspect_notebook(str(notebook)))


def render_notebook(
    notebook: str, parameters: dict[str, Any], out_dir: Path, out_name: str | None = None
) -> Path:
    """Execute a report notebook with papermill and render it to HTML without code cells.

    Unknown parameters are refused (papermill would only warn). A failing cell raises
    ReportError with the cell index and error name.
    """
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
    try:
        pm.execute_notebook(
            str(nb_path),
            str(executed),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            cwd=str(NOTEBOOKS.parent),
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
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    out = out_dir / f"{name}.html"
    out.write_text(body, encoding="utf-8")
    return out


def render_report(
    run_id: str, phase: str = "pre_pilot", title: str = "", results_dir: str | Path | None = None
) -> Path:
    """Render the readiness report of a stored run to results/<run_id>/readiness_report.html.

    Makes no model calls: it reads the stored generations and scores.
    """
    if phase not in PHASES:
        raise ReportError(f"unknown phase '{phase}'; phases: {', '.join(PHASES)}")
    root = Path(results_dir) if results_dir is not None else default_results_dir()
    store = open_run(run_id, root)
    store.scores()  # a clear error if the run was never scored
    params = {
        "run_id": store.run_id,
        "phase": phase,
        "title": title,
        "results_dir": str(root.resolve()),
    }
    path = render_notebook("readiness_report", params, store.path)
    m = store.read_manifest()
    reports = dict(m.get("reports", {}))
    reports[phase] = path.name
    store.update_manifest(reports=reports)
    return path


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
