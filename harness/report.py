"""Helpers the report notebooks call (decision, tables, plots, examples) and rendering.

Notebooks hold a tagged ``parameters`` cell and one call per cell into this module. Every
piece of dataset or model text is HTML-escaped here, so a question containing ``<script>``
shows as text and runs nothing. Tables are aggregated and examples capped before anything is
drawn, so a report stays small (a few MB) however many items a run holds.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import stats
from harness.datasets import Dataset, load_dataset
from harness.errors import ReportError
from harness.gates import Decision, decide, read_calibration
from harness.scorers import metrics as metric_registry
from harness.scorers import scorer_info, scorer_names
from harness.stats import summarize
from harness.store import RunStore, default_results_dir, open_run

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PHASES = {
    "pre_pilot": "Before the pilot: is a candidate good enough to pilot with staff review?",
    "post_pilot": "After the pilot: did the pilot improve the workflow?",
    "pre_expansion": "Before expansion: may the pilot widen?",
}
# The metrics a leader sees first, in this order, when the run has them.
HEADLINE_METRICS = [
    "required_facts_coverage",
    "unsupported_claims_count",
    "superseded_claims_count",
    "personal_data_count",
    "word_similarity",
    "review_minutes",
    "saved_minutes",
    "escalation_ok",
    "judge_accuracy",
]
PLAIN = {
    "word_similarity": "Closeness to the approved answer (words)",
    "char_similarity": "Closeness to the approved answer (characters)",
    "review_minutes": "Estimated minutes to review and fix",
    "saved_minutes": "Estimated minutes saved vs writing from scratch",
    "scratch_minutes": "Estimated minutes to write from scratch",
    "required_facts_coverage": "Share of required facts the draft carries",
    "unsupported_claims_count": "Facts per draft the sources do not support",
    "superseded_claims_count": "Facts per draft from superseded policies",
    "escalation_ok": "Sensitive questions handed to a person",
    "reference_similarity": "Wording overlap with the approved answer",
    "claim_support": "Share of the draft's facts the sources support",
    "personal_data_count": "Personal details per draft not in the question",
    "reading_grade": "School grade needed to read the draft",
    "reading_level_ok": "Share of drafts at grade 8 reading level or below",
    "length_ok": "Share of drafts within the length limit",
    "words_over_limit_count": "Words over the length limit",
    "sample_similarity": "Same answer when asked twice (wording)",
    "sample_claim_agreement": "Same facts when asked twice",
    "paraphrase_similarity": "Same answer to one question asked differently (wording)",
    "paraphrase_claim_agreement": "Same facts to one question asked differently",
    "judge_calibrated": "AI judge checked against human ratings (1 = yes)",
    "judge_accuracy": "AI judge: accuracy",
    "judge_completeness": "AI judge: completeness",
    "judge_tone": "AI judge: tone",
}
# The paired comparisons a leader sees (every metric is in the analyst's tables).
COMPARE_METRICS = [
    "required_facts_coverage",
    "unsupported_claims_count",
    "word_similarity",
    "saved_minutes",
]
MAX_EXAMPLES = 3  # best / worst / most edited, each
MAX_SENSITIVE = 25
MAX_FAILURES = 50
STATUS_WORDS = {"pass": "Passed", "fail": "Failed", "not evaluated": "Not checked"}
VERDICT_CLASS = {"Ready": "ready", "Ready with conditions": "conditions", "Not ready": "notready"}


def esc(value: Any) -> str:
    """HTML-escape anything for display (None shows as an em dash)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "&mdash;"
    return html.escape(str(value), quote=True)


def plain(metric: str) -> str:
    """A metric's name in plain words (its registered description when we have no phrase)."""
    if metric in PLAIN:
        return PLAIN[metric]
    info = metric_registry().get(metric)
    return info.description if info is not None and info.description else metric


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
    def calibration(self) -> dict[str, Any] | None:
        """The judge's stored calibration (calibration.json), if the run has one."""
        return read_calibration(self.store.path)

    @cached_property
    def dataset(self) -> Dataset:
        return load_dataset(self.manifest["dataset"]["path"])

    @property
    def run_id(self) -> str:
        return self.store.run_id

    def candidate_kinds(self) -> dict[str, str]:
        return {c["name"]: c["kind"] for c in self.manifest["candidates"]}

    def candidate_names(self, kind: str | None = None) -> list[str]:
        """Candidates in plan order, optionally only ``model`` or ``baseline`` ones."""
        return [c["name"] for c in self.manifest["candidates"] if kind in (None, c["kind"])]

    def metric_names(self) -> list[str]:
        """Metrics this run has scores for: headline metrics first, then the rest sorted."""
        have = set(self.scores.loc[self.scores["value"].notna(), "metric"].unique())
        head = [m for m in HEADLINE_METRICS if m in have]
        return head + sorted(have - set(head))

    def wide_scores(self) -> pd.DataFrame:
        """One row per generation, one column per metric."""
        # pivot, not pivot_table(dropna=False): the latter builds the cartesian product of the
        # index levels (keys x items x candidates x samples), gigabytes at a few thousand items.
        wide = self.scores.pivot(
            index=["key", "item_id", "candidate", "sample"], columns="metric", values="value"
        )
        wide.columns.name = None
        return wide.reset_index()


def load_run(run_id: str, results_dir: str | Path | None = None) -> RunData:
    """Load a stored run for a notebook (``'latest'`` picks the newest run)."""
    return RunData(open_run(run_id, results_dir))


def _unit(metric: str) -> str:
    info = metric_registry().get(metric)
    if info is not None:
        return info.unit
    return (
        "minutes" if metric.endswith("_minutes") else "count" if metric.endswith("_count") else ""
    )


def _fmt(v: float, unit: str = "") -> str:
    if v is None or pd.isna(v):
        return "—"
    digits = 1 if unit == "minutes" else 2
    return f"{round(float(v), digits) + 0.0:.{digits}f}"  # + 0.0: never show -0.0


def metric_families() -> dict[str, str]:
    """Metric name -> scorer family (edit, accuracy, consistency, governance, judge)."""
    out = {}
    for name in scorer_names():
        info = scorer_info(name)
        for m in info.metrics:
            out[m.name] = info.family
    return out


def family_metrics(run: RunData, family: str) -> list[str]:
    """The metrics of one scorer family present in this run (judge_* counts as judge)."""
    fam = metric_families()
    return [
        m
        for m in run.metric_names()
        if fam.get(m) == family or (family == "judge" and m.startswith("judge_"))
    ]


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def summary_table(run: RunData, metric_names: list[str] | None = None) -> pd.DataFrame:
    """Candidates (and baselines) by headline metric: mean [95% CI], plus counts."""
    present = run.metric_names()
    names = metric_names or [m for m in HEADLINE_METRICS if m in present] or present[:6]
    summ = summarize(run.scores[run.scores["metric"].isin(names)])
    gens = run.generations
    kinds = run.candidate_kinds()
    rows = []
    for cand in run.candidate_names():
        g = gens[gens["candidate"] == cand]
        row: dict[str, Any] = {
            "candidate": cand,
            "kind": kinds.get(cand, "?"),
            "drafts": int((g["status"] == "ok").sum()),
            "failed": int((g["status"] == "failed").sum()),
            "no draft": int((g["status"] == "no_output").sum()),
        }
        for m in names:
            s = summ[(summ["candidate"] == cand) & (summ["metric"] == m)]
            unit = _unit(m)
            if s.empty or pd.isna(s["mean"].iloc[0]):
                row[plain(m)] = "—"
            else:
                r = s.iloc[0]
                row[plain(m)] = (
                    f"{_fmt(r['mean'], unit)} [{_fmt(r['ci_low'], unit)}–{_fmt(r['ci_high'], unit)}]"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def metric_table(run: RunData, metrics: list[str] | None = None) -> pd.DataFrame:
    """Every metric of the run: what it means, which way is better, mean [CI] per candidate."""
    names = metrics if metrics is not None else run.metric_names()
    if not names:
        return pd.DataFrame(columns=["measure", "better when"])
    summ = summarize(run.scores[run.scores["metric"].isin(names)])
    rows = []
    for m in names:
        unit = _unit(m)
        row: dict[str, Any] = {
            "measure": plain(m),
            "metric": m,
            "better when": "higher" if stats.higher_is_better(m) else "lower",
        }
        for cand in run.candidate_names():
            s = summ[(summ["candidate"] == cand) & (summ["metric"] == m)]
            if s.empty or pd.isna(s["mean"].iloc[0]):
                row[cand] = "—"
            else:
                r = s.iloc[0]
                row[cand] = (
                    f"{_fmt(r['mean'], unit)} [{_fmt(r['ci_low'], unit)}–{_fmt(r['ci_high'], unit)}]"
                    f" n={int(r['n'])}"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def comparisons(run: RunData, metrics: list[str] | None = None) -> pd.DataFrame:
    """Every AI candidate against every baseline on the same items (see stats.paired_comparisons)."""
    names = metrics if metrics is not None else run.metric_names()
    return stats.paired_comparisons(
        run.scores, run.candidate_names("model"), run.candidate_names("baseline"), names
    )


_VERDICT_WORDS = {
    "better": "AI better",
    "worse": "AI worse",
    "no clear difference": "no clear difference",
    "no paired items": "no shared items",
}


def comparison_table(run: RunData, metrics: list[str] | None = None) -> pd.DataFrame:
    """Paired comparisons in plain words: difference [interval], wins/ties/losses, verdict."""
    present = run.metric_names()
    names = metrics or [m for m in COMPARE_METRICS if m in present] or present[:4]
    comp = comparisons(run, names)
    rows = []
    for _, r in comp.iterrows():
        unit = _unit(r["metric"])
        rows.append(
            {
                "measure": plain(r["metric"]),
                "AI candidate": r["candidate"],
                "compared with": r["baseline"],
                "items": int(r["n"]),
                "AI minus baseline [95% interval]": (
                    f"{_fmt(r['diff'], unit)} [{_fmt(r['diff_low'], unit)}–"
                    f"{_fmt(r['diff_high'], unit)}]"
                ),
                "AI better / same / worse on": (
                    f"{r['wins']} / {r['ties']} / {r['losses']} items" if r["n"] else "—"
                ),
                "chance finding (Holm p)": _fmt(r["p_holm"]),
                "verdict": _VERDICT_WORDS.get(r["verdict"], r["verdict"]),
            }
        )
    return pd.DataFrame(rows)


def category_table(run: RunData, metric: str | None = None) -> pd.DataFrame:
    """One metric by category (rows) and candidate (columns): mean and item count."""
    metric = metric or _category_metric(run)
    if metric is None:
        return pd.DataFrame(columns=["category"])
    s = run.scores[run.scores["metric"] == metric]
    summ = stats.summarize_by_category(s, run.dataset.items["category"])
    unit = _unit(metric)
    summ["cell"] = [
        f"{_fmt(m, unit)} [{_fmt(lo, unit)}–{_fmt(hi, unit)}]" if not pd.isna(m) else "—"
        for m, lo, hi in zip(summ["mean"], summ["ci_low"], summ["ci_high"], strict=True)
    ]
    table = summ.pivot_table(index="category", columns="candidate", values="cell", aggfunc="first")
    order = [c for c in run.candidate_names() if c in table.columns]
    table = table[order]
    table.columns.name = None
    counts = s.groupby(s["item_id"].map(run.dataset.items["category"]))["item_id"].nunique()
    table.insert(0, "questions", counts.reindex(table.index).fillna(0).astype(int))
    return table.reset_index()


def by_category(run: RunData, metric: str = "word_similarity") -> pd.DataFrame:
    """Mean of one metric by category (rows) and candidate (columns)."""
    s = run.scores[run.scores["metric"] == metric]
    cats = run.dataset.items["category"]
    s = s.assign(category=s["item_id"].map(cats))
    table = s.pivot_table(index="category", columns="candidate", values="value", aggfunc="mean")
    order = [c for c in run.candidate_names() if c in table.columns]
    table = table[order].round(2)
    table.columns.name = None
    return table.reset_index()


def _category_metric(run: RunData) -> str | None:
    present = run.metric_names()
    for m in ("required_facts_coverage", "word_similarity", "char_similarity"):
        if m in present:
            return m
    return present[0] if present else None


def family_table(run: RunData, family: str) -> pd.DataFrame:
    """The metrics of one family (consistency, governance, judge, ...) per candidate, with CIs."""
    return metric_table(run, family_metrics(run, family))


def minutes_table(run: RunData) -> pd.DataFrame:
    """Estimated staff minutes per reply and minutes saved, per candidate, with intervals."""
    names = [
        m for m in ("scratch_minutes", "review_minutes", "saved_minutes") if m in run.metric_names()
    ]
    if not names:
        return pd.DataFrame(columns=["candidate"])
    summ = summarize(run.scores[run.scores["metric"].isin(names)])
    rows = []
    for cand in run.candidate_names():
        row: dict[str, Any] = {"candidate": cand}
        for m in names:
            s = summ[(summ["candidate"] == cand) & (summ["metric"] == m)]
            if s.empty or pd.isna(s["mean"].iloc[0]):
                row[plain(m)] = "—"
                continue
            r = s.iloc[0]
            row[plain(m)] = f"{r['mean']:.1f} [{r['ci_low']:.1f}–{r['ci_high']:.1f}]"
            if m == "saved_minutes":
                row["hours saved per 100 replies"] = f"{r['mean'] * 100 / 60:.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def failures(run: RunData) -> pd.DataFrame:
    """Samples whose calls all failed: recorded with their error, never scored as 0."""
    g = run.generations
    f = g[g["status"] == "failed"][["item_id", "candidate", "sample", "attempts", "error"]]
    return f.reset_index(drop=True)


def failures_table(run: RunData, limit: int = MAX_FAILURES) -> Any:
    """Failed drafts (the first ``limit``), with a count of the rest."""
    f = failures(run)
    if f.empty:
        return table_html(f, "No failures: every draft was produced.")
    cap = f"{len(f)} drafts failed after retries; they are left out of every average." + (
        f" The first {limit} are listed." if len(f) > limit else ""
    )
    return table_html(f.head(limit), cap)


def table_html(frame: pd.DataFrame, caption: str = "") -> Any:
    """A DataFrame as an escaped, readable HTML table (for display in a notebook)."""
    from IPython.display import HTML

    body = frame.to_html(index=False, escape=True, border=0, classes="harness-table", na_rep="—")
    cap = f"<p class='caption'>{esc(caption)}</p>" if caption else ""
    return HTML(_STYLE + cap + body)


def note(text: str) -> Any:
    """A short escaped paragraph (for a section that has nothing to show in this run)."""
    from IPython.display import HTML

    return HTML(_STYLE + f"<p class='caption'>{esc(text)}</p>")


def family_section(run: RunData, family: str, what: str) -> Any:
    """The table of one scorer family, or a plain note that the run did not measure it."""
    table = family_table(run, family)
    if table.empty:
        return note(
            f"This run did not measure {what}: add the '{family}' scorers to the plan and run "
            "harness score RUN_ID."
        )
    return table_html(table, "Average per question [95% interval], n = questions scored.")


_STYLE = """<style>
.harness-table{border-collapse:collapse;font-family:system-ui,sans-serif;font-size:14px;margin:8px 0}
.harness-table th,.harness-table td{border-bottom:1px solid #ddd;padding:6px 10px;text-align:left!important;vertical-align:top}
.harness-table th{background:#f3f5f8}
.caption{color:#444;font-size:14px;margin:4px 0}
.cover h1{margin:0 0 6px;font-size:28px}.cover p{margin:2px 0;font-size:15px}
.cover .meta{color:#555;font-size:13px}
.decision{border-radius:10px;padding:14px 18px;margin:14px 0;font-family:system-ui,sans-serif}
.decision .verdict{font-size:30px;font-weight:700;margin:0 0 6px}
.decision .reason{font-size:17px;margin:0 0 8px}
.decision ul{margin:4px 0 0 0;padding-left:20px;font-size:15px}
.decision.ready{background:#e6f4ea;border:3px solid #2f855a}.decision.ready .verdict{color:#22543d}
.decision.conditions{background:#fff8e1;border:3px solid #b7791f}.decision.conditions .verdict{color:#744210}
.decision.notready{background:#fdecea;border:3px solid #c53030}.decision.notready .verdict{color:#742a2a}
.st-pass{color:#22543d;font-weight:600}.st-fail{color:#9b2c2c;font-weight:600}.st-not{color:#744210;font-weight:600}
.example{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin:10px 0 18px}
.example div{border:1px solid #ddd;border-radius:6px;padding:8px;white-space:pre-wrap;font-size:13px}
.example h4,.example .q{grid-column:1/3;margin:0}
del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:none}
@media print{.example,.decision,.harness-table tr{break-inside:avoid}}
</style>"""


# ---------------------------------------------------------------------------------------------
# Cover, decision, gates, governance
# ---------------------------------------------------------------------------------------------


def decision(
    run: RunData, phase: str, gates: str | Path | None = None, governance: str | Path | None = None
) -> Decision:
    """The readiness decision of a run for one phase (gates and governance files optional)."""
    if phase not in PHASES:
        raise ReportError(f"unknown phase '{phase}'; phases: {', '.join(PHASES)}")
    return decide(run, phase, gates=gates or None, governance=governance or None)


def _has_judge(run: RunData) -> bool:
    """The run's plan has a judge, or its scores hold judge metrics."""
    return bool(run.manifest.get("plan", {}).get("judge") or family_metrics(run, "judge"))


def _judge_line(run: RunData) -> str:
    judge = run.manifest.get("plan", {}).get("judge")
    cal = run.calibration
    if not _has_judge(run):
        return "no AI judge in this run"
    model = judge.get("model") if isinstance(judge, dict) else judge
    rates = judge.get("candidates") if isinstance(judge, dict) else None
    who = f" (rates {', '.join(rates)})" if rates else ""
    if cal is None:
        state = "not yet checked against human ratings (its scores cannot pass a gate)"
    else:
        checked = f"checked against {_rated_text(cal)}"
        if cal.get("calibrated") is True:
            state = f"{checked}: agrees well enough to count"
        else:
            state = f"{checked}: does not agree well enough, so its scores do not count"
    return f"{model or 'an AI judge'}{who}, {state}"


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict (a calibration file's section), else an empty one."""
    return value if isinstance(value, dict) else {}


def _rated_text(cal: dict[str, Any]) -> str:
    """'24 of the 61 human-rated drafts (a seeded sample stratified by human score)'."""
    sample = _mapping(cal.get("sample"))
    used, total = sample.get("used"), sample.get("rated_drafts")
    if used is None or total is None:
        return "human ratings"
    if not sample.get("subset"):
        return f"all {total} human-rated drafts"
    by = {"score": "human score", "item": "question"}.get(str(sample.get("stratify")), "stratum")
    return (
        f"{used} of the {total} human-rated drafts (a seeded sample stratified by {by}, "
        f"seed {sample.get('seed')})"
    )


def cover(run: RunData, phase: str, title: str = "", dec: Decision | None = None) -> Any:
    """The first screen: which workflow, which phase, the decision and why, then the data."""
    from IPython.display import HTML

    m = run.manifest
    phase_text = PHASES.get(phase, phase)
    cands = ", ".join(
        f"{c['name']} ({c['model'] or 'baseline: ' + str(c['baseline'])})" for c in m["candidates"]
    )
    counts = m.get("counts", {})
    district = _district(run)
    head = f"""<div class="cover">
<h1>{esc(title or "AI drafting readiness report")}</h1>
<p><b>District:</b> {esc(district)}</p>
<p><b>Workflow:</b> {esc(m.get("workflow") or m["plan_name"])}</p>
<p><b>Phase:</b> {esc(phase_text)}</p></div>"""
    box = decision_box(dec, wrap=False) if dec is not None else ""
    meta = f"""<div class="cover"><p class="meta"><b>Data:</b> {esc(m["dataset"]["name"])}
({esc(m["selection"]["items"])} questions; dataset fingerprint {esc(m["dataset"]["fingerprint"][:12])});
plan {esc(m["plan_name"])} (fingerprint {esc(m["plan_fingerprint"][:12])})</p>
<p class="meta"><b>Compared:</b> {esc(cands)}</p>
<p class="meta"><b>AI judge:</b> {esc(_judge_line(run))}</p>
<p class="meta"><b>Run:</b> {esc(run.run_id)}, started {esc(m.get("started_at"))};
{esc(counts.get("ok"))} drafts, {esc(counts.get("failed"))} failed.
Report made {esc(pd.Timestamp.now().strftime("%Y-%m-%d %H:%M"))}.</p></div>"""
    return HTML(_STYLE + head + box + meta)


def _district(run: RunData) -> str:
    from harness.gates import GOVERNANCE_FILE

    try:
        import yaml

        data = yaml.safe_load(GOVERNANCE_FILE.read_text(encoding="utf-8")) or {}
        name = data.get("district") if isinstance(data, dict) else None
    except (OSError, ValueError):
        name = None
    return str(name or run.manifest["dataset"]["name"])


def decision_box(dec: Decision, wrap: bool = True) -> Any:
    """The decision in a coloured box: verdict, one-line reason, and each reason as a bullet."""
    from IPython.display import HTML

    cls = VERDICT_CLASS.get(dec.verdict, "notready")
    bullets = "".join(f"<li>{esc(r)}</li>" for r in dec.reasons)
    open_gates = dec.gates[dec.gates["status"] != "pass"] if len(dec.gates) else dec.gates
    if len(open_gates):
        order = open_gates.sort_values("required", ascending=False, kind="stable")
        bullets += "".join(
            f"<li><b>{esc(g['title'])}</b> ({'required' if g['required'] else 'advisory'}, "
            f"{esc(STATUS_WORDS.get(str(g['status']), g['status']).lower())}): {esc(g['evidence'])}</li>"
            for _, g in order.head(8).iterrows()
        )
    meaning = {
        "Ready": "The evidence supports going ahead with this phase as planned.",
        "Ready with conditions": "Go ahead only with the conditions below watched and reported.",
        "Not ready": "Do not go ahead yet: fix what is listed below and evaluate again.",
    }.get(dec.verdict, "")
    body = f"""<div class="decision {cls}" id="decision">
<p class="verdict">Decision: {esc(dec.verdict)}</p>
<p class="reason">{esc(dec.question)} &mdash; {esc(meaning)}</p>
<p>Why:</p><ul>{bullets}</ul></div>"""
    return HTML(_STYLE + body) if wrap else body


def gate_table(dec: Decision) -> Any:
    """Every gate of the phase: what it asks, its verdict and the evidence behind it."""
    from IPython.display import HTML

    if dec.gates.empty:
        return note("No gates were evaluated (the run has no AI candidate).")
    rows = []
    for _, g in dec.gates.iterrows():
        st = str(g["status"])
        cls = {"pass": "st-pass", "fail": "st-fail"}.get(st, "st-not")
        kind = "required" if g["required"] else "advisory"
        rows.append(
            f"<tr><td>{esc(g['title'])}</td><td>{esc(kind)}</td>"
            f"<td class='{cls}'>{esc(STATUS_WORDS.get(st, st))}</td>"
            f"<td>{esc(g['evidence'])}</td><td>{esc(g['metric'])}"
            f"{' per category' if g['scope'] == 'every_category' else ''}</td></tr>"
        )
    cap = (
        f"Gates for {dec.candidate}. A gate passes only when its whole 95% interval clears the "
        "bar; a required gate that fails or cannot be checked makes the decision Not ready."
    )
    return HTML(
        _STYLE + f"<p class='caption'>{esc(cap)}</p><table class='harness-table'><thead><tr>"
        "<th>gate</th><th>kind</th><th>verdict</th><th>evidence</th><th>measure</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def candidates_table(dec: Decision) -> pd.DataFrame:
    """Each AI candidate's own verdict for the phase (the decision is the best of them)."""
    return dec.candidates.rename(columns={"why": "reasons"})


def governance_table(dec: Decision) -> Any:
    """The governance checklist and where district data may go."""
    from IPython.display import HTML

    g = dec.governance
    rows = "".join(
        f"<tr><td>{esc(r['question'])}</td>"
        f"<td class='{'st-pass' if r['status'] == 'complete' else 'st-fail'}'>{esc(r['status'])}</td>"
        f"<td>{esc(r['answer'])}</td></tr>"
        for _, r in g.iterrows()
    )
    prov = dec.providers
    prows = "".join(
        f"<tr><td>{esc(r['candidate'])}</td><td>{esc(r['model'])}</td><td>{esc(r['endpoint'])}</td>"
        f"<td class='{'st-pass' if r['status'] == 'approved' else 'st-fail'}'>{esc(r['status'])}</td></tr>"
        for _, r in prov.iterrows()
    )
    ptable = (
        "<p class='caption'>Where each AI candidate sends district data:</p>"
        "<table class='harness-table'><thead><tr><th>candidate</th><th>model</th><th>endpoint</th>"
        f"<th>on the approved list</th></tr></thead><tbody>{prows}</tbody></table>"
        if len(prov)
        else ""
    )
    return HTML(
        _STYLE
        + "<p class='caption'>From rubrics/governance.yaml. A missing or empty entry alone makes "
        "the decision Not ready.</p><table class='harness-table'><thead><tr><th>question</th>"
        f"<th>status</th><th>answer</th></tr></thead><tbody>{rows}</tbody></table>" + ptable
    )


# ---------------------------------------------------------------------------------------------
# Figures (aggregated before drawing: the size of a figure does not grow with the run)
# ---------------------------------------------------------------------------------------------


def similarity_figure(run: RunData, metric: str | None = None) -> Any:
    """Bar chart: mean of a 0-1 metric per candidate, with 95% CIs."""
    import matplotlib.pyplot as plt

    metric = metric or _category_metric(run) or "word_similarity"
    summ = summarize(run.scores[run.scores["metric"] == metric])
    order = run.candidate_names()
    summ = summ.set_index("candidate").reindex(order).dropna(subset=["mean"])
    kinds = run.candidate_kinds()
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(summ) + 1.4))
    colors = ["#2b6cb0" if kinds.get(c) == "model" else "#a0aec0" for c in summ.index]
    err = [summ["mean"] - summ["ci_low"], summ["ci_high"] - summ["mean"]]
    ax.barh(summ.index, summ["mean"], xerr=err, color=colors, capsize=4)
    if _unit(metric) == "0-1":
        ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel(
        f"{plain(metric)} ({'higher' if stats.higher_is_better(metric) else 'lower'} is better)"
    )
    ax.set_title(
        "Average per question (blue: AI, grey: today's alternatives; bars: 95% interval)",
        fontsize=10,
    )
    fig.tight_layout()
    plt.close(fig)
    return fig


def comparison_figure(run: RunData, metrics: list[str] | None = None) -> Any:
    """Forest plot: how much better (right) or worse (left) each AI candidate is than each baseline."""
    import matplotlib.pyplot as plt

    present = run.metric_names()
    names = metrics or [m for m in COMPARE_METRICS if m in present] or present[:4]
    comp = comparisons(run, names)
    comp = comp[comp["n"] > 0]
    fig, axes = plt.subplots(
        1,
        max(1, len(names)),
        figsize=(
            3.2 * max(1, len(names)) + 1,
            0.45 * max(1, len(comp) // max(1, len(names))) + 1.8,
        ),
        squeeze=False,
    )
    for ax, m in zip(axes[0], names, strict=False):
        c = comp[comp["metric"] == m]
        labels = [f"{a} vs {b}" for a, b in zip(c["candidate"], c["baseline"], strict=True)]
        y = np.arange(len(c))
        colors = [
            "#2f855a" if v == "better" else "#c53030" if v == "worse" else "#718096"
            for v in c["verdict"]
        ]
        ax.hlines(y, c["gain_low"], c["gain_high"], colors=colors, lw=2)
        ax.scatter(c["gain"], y, c=colors, zorder=3)
        ax.axvline(0, color="#333", lw=0.8)
        ax.set_yticks(y, labels if ax is axes[0][0] else [""] * len(y), fontsize=8)
        ax.invert_yaxis()
        ax.set_title(plain(m), fontsize=9)
        ax.set_xlabel("← baseline better · AI better →", fontsize=8)
    fig.suptitle("Paired difference on the same questions (95% interval)", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def category_figure(run: RunData, metric: str | None = None) -> Any:
    """Heat map of one metric by category and candidate (a weak topic stands out)."""
    import matplotlib.pyplot as plt

    metric = metric or _category_metric(run)
    table = by_category(run, metric) if metric else pd.DataFrame()
    fig, ax = plt.subplots(
        figsize=(1.3 * max(1, table.shape[1] - 1) + 3, 0.38 * max(1, len(table)) + 1.5)
    )
    if table.empty:
        ax.text(0.5, 0.5, "no scores", ha="center")
        plt.close(fig)
        return fig
    data = table.set_index("category")
    higher = stats.higher_is_better(str(metric))
    im = ax.imshow(
        data.to_numpy(dtype=float), cmap="RdYlGn" if higher else "RdYlGn_r", aspect="auto"
    )
    ax.set_xticks(range(data.shape[1]), data.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(data.shape[0]), data.index, fontsize=8)
    for (i, j), v in np.ndenumerate(data.to_numpy(dtype=float)):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(f"{plain(str(metric))} by topic", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def minutes_figure(run: RunData) -> Any:
    """Estimated reviewer minutes per reply, by candidate, against writing from scratch."""
    import matplotlib.pyplot as plt

    wide = run.wide_scores()
    if "review_minutes" not in wide:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.text(0.5, 0.5, "this run has no edit-effort scores", ha="center")
        ax.axis("off")
        plt.close(fig)
        return fig
    order = [c for c in run.candidate_names() if c in set(wide["candidate"])]
    per_item = wide.groupby(["candidate", "item_id"])[["review_minutes"]].mean().reset_index()
    data = [per_item.loc[per_item["candidate"] == c, "review_minutes"].dropna() for c in order]
    scratch = (
        wide.drop_duplicates("item_id")["scratch_minutes"].dropna()
        if "scratch_minutes" in wide
        else pd.Series(dtype=float)
    )
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(order) + 1.6))
    ax.boxplot(
        [*data, scratch], vert=False, tick_labels=[*order, "write from scratch"], showfliers=False
    )
    ax.invert_yaxis()
    ax.set_xlabel("estimated staff minutes per reply (read + check + edit)")
    ax.set_title(
        "Editing effort per reply (box: middle half of questions; line: median)", fontsize=10
    )
    fig.tight_layout()
    plt.close(fig)
    return fig


# ---------------------------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------------------------


def _diff_html(draft: str, reference: str) -> str:
    """Word diff: what the reviewer deletes (red) and adds (green) to reach the reference."""
    left, right = _diff_sides(draft, reference)
    return left + " " + right


def _diff_sides(draft: str, reference: str) -> tuple[str, str]:
    """The draft with removed words in red, and the approved answer with added words in green."""
    from rapidfuzz.distance import Levenshtein

    from harness.scorers.edit import words

    dw, rw = words(draft), words(reference)
    left: list[str] = []
    right: list[str] = []
    for op in Levenshtein.opcodes(dw, rw):
        tag, s1, e1, s2, e2 = op.tag, op.src_start, op.src_end, op.dest_start, op.dest_end
        if tag == "equal":
            left.append(esc(" ".join(dw[s1:e1])))
            right.append(esc(" ".join(rw[s2:e2])))
        if tag in ("delete", "replace"):
            left.append(f"<del>{esc(' '.join(dw[s1:e1]))}</del>")
        if tag in ("insert", "replace"):
            right.append(f"<ins>{esc(' '.join(rw[s2:e2]))}</ins>")
    return " ".join(left), " ".join(right)


def _focus_candidate(run: RunData, dec: Decision | None) -> str:
    if dec is not None and dec.candidate:
        return dec.candidate
    models = run.candidate_names("model")
    return models[0] if models else run.candidate_names()[0]


def _example_html(run: RunData, r: pd.Series, gens: pd.DataFrame, extra: str = "") -> str:
    item = run.dataset.items.loc[r["item_id"]]
    out = gens.loc[r["key"], "output"] if r["key"] in gens.index else None
    draft = out if isinstance(out, str) else ""
    left, right = _diff_sides(draft, str(item["reference"]))
    facts = []
    for m, label in (
        ("word_similarity", "closeness"),
        ("required_facts_coverage", "facts covered"),
        ("review_minutes", "minutes to fix"),
        ("unsupported_claims_count", "unsupported facts"),
    ):
        if m in r and not pd.isna(r[m]):
            facts.append(f"{label} {_fmt(r[m], _unit(m))}")
    head = " · ".join(
        [str(r["item_id"]), str(item["category"]), *facts, *([extra] if extra else [])]
    )
    return (
        f"<div class='example'><h4>{esc(head)}</h4>"
        f"<div class='q'><b>Question:</b> {esc(item['input'])}</div>"
        f"<div><b>Draft ({esc(r['candidate'])})</b> &mdash; red: what the reviewer removes\n"
        f"{left if draft else '<i>no draft</i>'}</div>"
        f"<div><b>Approved answer</b> &mdash; green: what the draft lacked\n{right}</div></div>"
    )


def examples(
    run: RunData, candidate: str | None = None, n: int = MAX_EXAMPLES, dec: Decision | None = None
) -> Any:
    """Best, worst and most edited drafts of a candidate, beside the approved answer."""
    from IPython.display import HTML

    cand = candidate or _focus_candidate(run, dec)
    wide = run.wide_scores()
    key = next(
        (m for m in ("word_similarity", "char_similarity", "required_facts_coverage") if m in wide),
        None,
    )
    w = wide[wide["candidate"] == cand]
    if key is None or w.dropna(subset=[key]).empty:
        return HTML(_STYLE + f"<p>No scored drafts for {esc(cand)}.</p>")
    w = w.dropna(subset=[key]).sort_values(key, kind="stable")
    gens = run.generations.set_index("key")
    groups = [
        ("Closest to the approved answer", w.tail(n).iloc[::-1]),
        ("Furthest from the approved answer", w.head(n)),
    ]
    if "review_minutes" in w:
        groups.append(
            (
                "Most editing needed",
                w.sort_values("review_minutes", kind="stable").tail(n).iloc[::-1],
            )
        )
    parts = [_STYLE]
    for label, rows in groups:
        parts.append(f"<h3>{esc(label)} ({esc(cand)})</h3>")
        parts.extend(_example_html(run, r, gens) for _, r in rows.iterrows())
    return HTML("".join(parts))


def sensitive_examples(
    run: RunData,
    candidate: str | None = None,
    limit: int = MAX_SENSITIVE,
    dec: Decision | None = None,
) -> Any:
    """Every sensitive question (up to ``limit``): what the candidate drafted, beside the approved answer."""
    from IPython.display import HTML

    items = run.dataset.items
    if "sensitive" not in items:
        return note("The dataset marks no question as sensitive.")
    sens = set(items.index[items["sensitive"].fillna(False).astype(bool)])
    cand = candidate or _focus_candidate(run, dec)
    wide = run.wide_scores()
    w = wide[(wide["candidate"] == cand) & wide["item_id"].isin(sens)]
    w = w[w["sample"] == w["sample"].min()] if len(w) else w
    if w.empty:
        return note("None of this run's questions is marked sensitive.")
    gens = run.generations.set_index("key")
    parts = [
        _STYLE,
        f"<p class='caption'>{len(w)} sensitive questions in this run"
        + (f"; the first {limit} are shown" if len(w) > limit else "")
        + ".</p>",
    ]
    for _, r in w.head(limit).iterrows():
        reason = items.loc[r["item_id"]].get("sensitive_reason")
        esc_state = ""
        if "escalation_ok" in r and not pd.isna(r["escalation_ok"]):
            esc_state = (
                "handed to a person"
                if r["escalation_ok"] >= 0.5
                else "answered instead of escalated"
            )
        extra = ", ".join(
            x
            for x in [f"sensitive: {reason}" if isinstance(reason, str) else "sensitive", esc_state]
            if x
        )
        parts.append(_example_html(run, r, gens, extra))
    return HTML("".join(parts))


def methodology() -> Any:
    """How the numbers are made, and what they cannot tell, in plain words."""
    from IPython.display import HTML

    return HTML(
        _STYLE
        + """<ul>
<li><b>What was compared</b>: every candidate drafted a reply to the same questions the district
has already answered. Each draft is compared with the answer the district actually approved.
The baselines are what staff have today: a canned reply, the best-matching approved text, and
the staff's own first draft.</li>
<li><b>Closeness to the approved answer</b>: 1 minus the edit distance between a draft and the
approved answer, counted in words (or characters) and divided by the longer text.
1 means identical; 0 means nothing in common.</li>
<li><b>Facts covered, invented and outdated</b>: each question lists the facts a correct answer
must carry (a fee, a phone number, a date). A fact counts as invented when neither the approved
sources nor the question contain it, and as outdated when only a superseded policy contains it.</li>
<li><b>Minutes to review and fix</b>: an estimate, not a measurement: time to read the draft,
check its facts and type the changes. <b>Minutes saved</b> compares this with writing the
approved answer from scratch. A draft that must be rewritten saves nothing. The rates are in
rubrics/effort.yaml; the pilot log measures real minutes.</li>
<li><b>Intervals</b>: the range in brackets is a 95% bootstrap interval over questions (2,000
resamples, fixed seed, so the report is the same every time it is made). A wide interval means
thin evidence. A gate passes only when its whole interval clears the bar.</li>
<li><b>Paired comparisons</b>: an AI candidate and a baseline are compared question by question on
the questions both answered. "Chance finding" is the Wilcoxon signed-rank test's p-value,
corrected (Holm) for making many comparisons at once; below 0.05 the difference is unlikely to be
luck. A difference counts only when both the interval and the corrected p-value agree.</li>
<li><b>Failed drafts</b> (the model could not be reached after retries) are listed and left out
of the averages, never counted as zero.</li>
</ul>
<p><b>Limitations.</b> The questions are ones the district already answered; new kinds of
questions may go worse. Closeness to the approved answer rewards copying its wording, so a correct
answer worded differently scores lower. Automatic fact checks catch dates, amounts, phone numbers
and named programs, not every kind of error. An AI judge is trusted only after it agrees with human
raters. Nothing here replaces staff review during the pilot.</p>"""
    )


# ---------------------------------------------------------------------------------------------
# Phase comparison and pilot outcomes
# ---------------------------------------------------------------------------------------------


def phase_changes(
    before: RunData, after: RunData, metrics: list[str] | None = None
) -> pd.DataFrame:
    """Each candidate present in both runs: after minus before on the same items, paired."""
    shared = sorted(set(before.candidate_names()) & set(after.candidate_names()))
    names = metrics or [m for m in after.metric_names() if m in set(before.metric_names())]
    b = before.scores[before.scores["candidate"].isin(shared) & before.scores["metric"].isin(names)]
    a = after.scores[after.scores["candidate"].isin(shared) & after.scores["metric"].isin(names)]
    both = pd.concat(
        [
            b.assign(candidate=b["candidate"] + " (before)"),
            a.assign(candidate=a["candidate"] + " (after)"),
        ],
        ignore_index=True,
    )
    parts = []
    for c in shared:
        comp = stats.paired_comparisons(both, [f"{c} (after)"], [f"{c} (before)"], names)
        parts.append(comp.assign(candidate=c).drop(columns="baseline"))
    if not parts:
        return pd.DataFrame(columns=["candidate", *stats.COMPARISON_COLUMNS])
    out = pd.concat(parts, ignore_index=True)
    out["p_holm"] = stats.holm(out["p_value"].to_numpy())
    return out.rename(columns={"candidate_mean": "after_mean", "baseline_mean": "before_mean"})


def phase_cover(before: RunData, after: RunData) -> Any:
    """Which runs are compared, and whether they used the same frozen questions."""
    from IPython.display import HTML

    ib = set(before.manifest["selection"]["item_ids"])
    ia = set(after.manifest["selection"]["item_ids"])
    same_ds = before.manifest["dataset"]["fingerprint"] == after.manifest["dataset"]["fingerprint"]
    rows = "".join(
        f"<p><b>{esc(label)}:</b> run {esc(r.run_id)} ({esc(r.manifest.get('started_at'))}), plan "
        f"{esc(r.manifest['plan_name'])}, {esc(len(r.manifest['selection']['item_ids']))} questions</p>"
        for label, r in (("Before", before), ("After", after))
    )
    return HTML(
        _STYLE
        + f"""<div class="cover"><h1>What changed between phases</h1>
<p><b>District:</b> {esc(_district(after))}</p>
<p><b>Workflow:</b> {esc(after.manifest.get("workflow") or after.manifest["plan_name"])}</p>{rows}
<p><b>Same questions:</b> {len(ib & ia)} questions are in both runs and are compared one by one
({"the same dataset version" if same_ds else "the dataset changed between the runs"}).</p></div>"""
    )


def phase_table(before: RunData, after: RunData) -> pd.DataFrame:
    """Phase changes in plain words: before, after, change [interval], verdict."""
    ch = phase_changes(before, after)
    rows = []
    for _, r in ch.iterrows():
        unit = _unit(r["metric"])
        rows.append(
            {
                "candidate": r["candidate"],
                "measure": plain(r["metric"]),
                "questions": int(r["n"]),
                "before": _fmt(r["before_mean"], unit),
                "after": _fmt(r["after_mean"], unit),
                "change [95% interval]": f"{_fmt(r['diff'], unit)} [{_fmt(r['diff_low'], unit)}–{_fmt(r['diff_high'], unit)}]",
                "verdict": {"better": "improved", "worse": "got worse"}.get(
                    r["verdict"], r["verdict"]
                ),
            }
        )
    return pd.DataFrame(rows)


def pilot_log_for(run: RunData, path: str = "") -> pd.DataFrame | None:
    """The pilot log: from ``path`` (a CSV or a dataset folder) or the run's own dataset."""
    if not path:
        return run.dataset.pilot_log
    p = Path(path)
    if p.is_dir():
        return load_dataset(p).pilot_log
    if not p.is_file():
        raise ReportError(
            f"pilot log {path} does not exist; give a pilot_log.csv or a dataset folder"
        )
    from harness.datasets import _Collector, _read_pilot_log

    col = _Collector(p.parent, str(p.parent))
    frame = _read_pilot_log(p, set(run.dataset.items.index), col)
    if col.problems:
        from harness.errors import DatasetError

        raise DatasetError(f"pilot log {path}", col.problems)
    return frame


def pilot_table(log: pd.DataFrame | None) -> Any:
    """The pilot's measured outcomes: before, during, improvement [interval], verdict, how."""
    from harness.pilot import outcomes

    out = outcomes(log)
    if out.empty:
        return note("No pilot log: the dataset has no pilot_log.csv, so no outcome was measured.")
    view = pd.DataFrame(
        {
            "outcome": out["title"],
            "before the pilot": [_fmt(v) for v in out["baseline"]],
            "during the pilot": [_fmt(v) for v in out["pilot"]],
            "improvement [95% interval]": [
                f"{_fmt(i)} [{_fmt(lo)}–{_fmt(hi)}] {u}"
                for i, lo, hi, u in zip(
                    out["improvement"], out["ci_low"], out["ci_high"], out["unit"], strict=True
                )
            ],
            "replies (before / during)": [
                f"{b} / {p}" for b, p in zip(out["n_baseline"], out["n_pilot"], strict=True)
            ],
            "verdict": out["verdict"],
            "how it is measured": out["how"],
        }
    )
    return table_html(
        view,
        "Measured from the pilot log, not estimated. Positive improvement = the pilot did better. "
        "Before and during are different questions, so the interval compares two groups.",
    )


def pilot_figure(log: pd.DataFrame | None) -> Any:
    """Minutes per reply before and during the pilot, by staff member (averages)."""
    import matplotlib.pyplot as plt

    from harness.pilot import by_staff

    staff = by_staff(log)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if staff.empty:
        ax.text(0.5, 0.5, "no pilot log", ha="center")
        ax.axis("off")
        plt.close(fig)
        return fig
    wide = staff.pivot_table(index="staff_member", columns="phase", values="minutes")
    x = np.arange(len(wide))
    for i, (phase, color) in enumerate((("baseline", "#a0aec0"), ("pilot", "#2b6cb0"))):
        if phase in wide:
            ax.bar(
                x + (i - 0.5) * 0.38,
                wide[phase],
                width=0.38,
                color=color,
                label="before (written from scratch)"
                if phase == "baseline"
                else "pilot (AI draft edited)",
            )
    ax.set_xticks(x, wide.index, fontsize=8)
    ax.set_ylabel("staff minutes per reply")
    ax.set_title("Average staff minutes per reply, by staff member", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def staff_table(log: pd.DataFrame | None) -> pd.DataFrame:
    """Per staff member and phase: replies, minutes, revisions, turnaround, approvals."""
    from harness.pilot import by_staff

    return by_staff(log)


# ---------------------------------------------------------------------------------------------
# Judge calibration
# ---------------------------------------------------------------------------------------------


def calibration_summary(run: RunData) -> Any:
    """The judge's calibration against human ratings, as the judge's calibration step wrote it."""
    from IPython.display import HTML

    cal = run.calibration
    if cal is None and not _has_judge(run):
        return note("This run has no AI judge, so there is no calibration to show.")
    if cal is None:
        return note(
            "The AI judge of this run has not been checked against human ratings yet: run "
            f"harness calibrate {run.run_id}. Until then its scores cannot pass a gate."
        )
    flag = cal.get("calibrated")
    verdict = (
        "The judge agrees with human raters well enough: its scores may count toward gates."
        if flag is True
        else "The judge does not agree with human raters well enough: its scores do not count."
    )
    facts = _calibration_facts(cal)
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts.items())
    return HTML(
        _STYLE
        + f"<div class='decision {'ready' if flag is True else 'notready'}'><p class='verdict'>"
        f"{'Calibrated' if flag is True else 'Not calibrated'}</p><p class='reason'>{esc(verdict)}</p></div>"
        f"<table class='harness-table'><tbody>{rows}</tbody></table>"
    )


def _calibration_facts(cal: dict[str, Any]) -> dict[str, Any]:
    """The facts a reader needs beside the verdict: judge, drafts checked, the bar, calls."""
    judge = _mapping(cal.get("judge"))
    facts: dict[str, Any] = {}
    if judge.get("model"):
        facts["judge"] = judge["model"] + (
            f" (rubric {judge['rubric']})" if judge.get("rubric") else ""
        )
    if judge.get("candidates"):
        facts["drafts it rates in this run"] = ", ".join(judge["candidates"])
    facts["checked on"] = _rated_text(cal)
    by = _mapping(cal.get("by_criterion"))
    ns = sorted({int(v["n"]) for v in by.values() if isinstance(v, dict) and "n" in v})
    if ns:
        facts["drafts with a readable judge score (n)"] = " / ".join(str(n) for n in ns)
    if "min_kappa" in judge and "min_rated" in judge:
        facts["the bar"] = (
            f"quadratic-weighted kappa of at least {judge['min_kappa']} on every criterion, "
            f"on at least {judge['min_rated']} rated drafts"
        )
    fmt = judge.get("response_format")
    if fmt:
        facts["answer format"] = _FORMAT_WORDS.get(fmt, fmt)
    counts = _mapping(cal.get("counts"))
    if counts:
        facts["judge calls for this check"] = (
            f"{counts.get('calls', 0)} new, {counts.get('cached', 0)} replies reused from the cache"
        )
    for k, v in cal.items():  # anything else a calibration file carries as a plain value
        if k != "calibrated" and not isinstance(v, (dict, list)):
            facts[k] = v
    return facts


_FORMAT_WORDS = {
    "json_schema": "JSON schema from the rubric (for the embedded model: enforced as a grammar)",
    "json_object": "any JSON object (provider's JSON mode)",
    "off": "free text, read for a JSON object",
    "params": "as set in the judge's params",
    "auto": "automatic",
}

_CALIBRATION_COLUMNS = {
    "criterion": "criterion",
    "n": "rated drafts (n)",
    "kappa": "agreement (weighted kappa)",
    "spearman": "rank correlation",
    "exact": "exact agreement",
    "within_one": "within one point",
    "bias": "bias (judge - human)",
    "unscored": "unscored",
    "human_kappa": "humans with each other (kappa)",
    "human_n": "drafts rated twice",
    "calibrated": "calibrated",
}


def calibration_table(run: RunData) -> pd.DataFrame:
    """Per criterion: the judge's agreement with the human raters, the raters' own, the verdict."""
    cal = run.calibration or {}
    summary = cal.get("summary")
    if not isinstance(summary, list) or not summary:
        return pd.DataFrame(columns=list(_CALIBRATION_COLUMNS.values()))
    frame = pd.DataFrame(summary)
    cols = [c for c in _CALIBRATION_COLUMNS if c in frame.columns]
    frame = frame[cols].copy()
    for c in ("kappa", "spearman", "exact", "within_one", "bias", "human_kappa"):
        if c in frame:
            frame[c] = [_fmt(v) for v in pd.to_numeric(frame[c], errors="coerce")]
    if "calibrated" in frame:
        frame["calibrated"] = frame["calibrated"].map({True: "yes", False: "no"})
    return frame.rename(columns=_CALIBRATION_COLUMNS)


def confusion_table(run: RunData) -> pd.DataFrame:
    """Per criterion and human score (the raters' mean): how often the judge gave each score."""
    cal = run.calibration or {}
    conf = cal.get("confusion")
    if not isinstance(conf, list) or not conf:
        return pd.DataFrame(columns=["criterion", "human score"])
    frame = pd.DataFrame(conf)
    wide = frame.pivot_table(
        index=["criterion", "human"], columns="judge", values="count", aggfunc="sum", fill_value=0
    )
    order = [c for c in (cal.get("by_criterion") or {}) if c in wide.index.get_level_values(0)]
    wide = wide.reindex(order or None, level=0)
    wide.columns = [f"judge {float(j):g}" for j in wide.columns]
    out = wide.reset_index().rename(columns={"human": "human score"})
    out["human score"] = [f"{float(h):g}" for h in out["human score"]]
    return out


def calibration_section(run: RunData) -> Any:
    """The agreement table and the confusion table of the judge's calibration (or a note)."""
    from IPython.display import HTML

    table = calibration_table(run)
    if table.empty:
        return note("No calibration tables: the judge has not been checked against human ratings.")
    conf = confusion_table(run)
    body = _STYLE + (
        "<p class='caption'>Agreement with the district's human raters per criterion. Weighted "
        "kappa: 1 = the same scores, 0 = no better than chance; it must reach the bar on every "
        'criterion. "Humans with each other" is the raters\' own agreement on drafts two of '
        "them rated: the most a judge can be expected to reach.</p>"
        + table.to_html(index=False, escape=True, border=0, classes="harness-table", na_rep="—")
    )
    if not conf.empty:
        body += (
            "<p class='caption'>How often the judge gave each score (columns) to drafts the "
            "humans scored as in the row (their mean, so half points occur). A good judge puts "
            "the counts on the diagonal; one column full of counts means it gives every draft "
            "the same score.</p>"
            + conf.to_html(index=False, escape=True, border=0, classes="harness-table")
        )
    return HTML(body)


def calibration_tables(run: RunData) -> Any:
    """Per-criterion agreement tables the calibration stored (JSON lists/dicts, Parquet or CSV)."""
    from IPython.display import HTML

    cal = run.calibration or {}
    parts = [_STYLE]
    for k, v in cal.items():
        frame = None
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            frame = pd.DataFrame(v)
        elif isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()):
            frame = pd.DataFrame.from_dict(v, orient="index").reset_index(names=k.rstrip("s") or k)
        if frame is not None:
            frame = frame.map(lambda x: json.dumps(x) if isinstance(x, (dict, list)) else x)
            parts.append(
                f"<h3>{esc(k)}</h3>"
                + frame.round(3).to_html(
                    index=False, escape=True, border=0, classes="harness-table"
                )
            )
    for p in sorted(run.store.path.glob("calibration*")):
        if p.suffix in (".parquet", ".csv"):
            frame = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
            parts.append(
                f"<h3>{esc(p.name)}</h3>"
                + frame.head(200)
                .round(3)
                .to_html(index=False, escape=True, border=0, classes="harness-table")
            )
    if len(parts) == 1:
        parts.append("<p class='caption'>No per-criterion tables were stored.</p>")
    return HTML("".join(parts))


def judge_scores(run: RunData) -> Any:
    """The judge's scores per candidate (shown beside its calibration, never alone)."""
    return family_section(run, "judge", "anything with an AI judge")


# ---------------------------------------------------------------------------------------------
# Explore (the analyst's starting point)
# ---------------------------------------------------------------------------------------------


def run_overview(run: RunData) -> pd.DataFrame:
    """The run at a glance: one row per candidate with counts, cost and latency."""
    g = run.generations
    return (
        g.groupby("candidate", sort=False)
        .agg(
            drafts=("status", lambda s: int((s == "ok").sum())),
            failed=("status", lambda s: int((s == "failed").sum())),
            cached=("cached", "sum"),
            cost_usd=("cost_usd", "sum"),
            median_latency_s=("latency_s", "median"),
        )
        .reset_index()
    )


# rendering ------------------------------------------------------------------------------------
def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """The parameters a notebook's tagged cell declares."""
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
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or name}})
    body = self_contained(body)
    out = out_dir / f"{name}.html"
    out.write_text(body, encoding="utf-8")
    return out


def _root(results_dir: str | Path | None) -> Path:
    return Path(results_dir) if results_dir is not None else default_results_dir()


def _record(store: RunStore, key: str, path: Path) -> None:
    m = store.read_manifest()
    reports = dict(m.get("reports", {}))
    reports[key] = path.name
    store.update_manifest(reports=reports)


def render_report(
    run_id: str,
    phase: str = "pre_pilot",
    title: str = "",
    results_dir: str | Path | None = None,
    gates: str | Path | None = None,
    governance: str | Path | None = None,
) -> Path:
    """Render the readiness report of a stored run to results/<run_id>/readiness_report.html.

    Makes no model calls: it reads the stored generations and scores. The phase's gates come
    from ``gates`` (default rubrics/gates.yaml), the checklist from ``governance``.
    """
    if phase not in PHASES:
        raise ReportError(f"unknown phase '{phase}'; phases: {', '.join(PHASES)}")
    root = _root(results_dir)
    store = open_run(run_id, root)
    store.scores()  # a clear error if the run was never scored
    # Validate the rubric files here, so a typo is reported with file and line, not as a cell error.
    from harness.gates import load_gates, load_governance

    load_gates(gates).phase(phase)
    load_governance(governance)
    params = {
        "run_id": store.run_id,
        "phase": phase,
        "title": title,
        "results_dir": str(root.resolve()),
        "gates": str(Path(gates).resolve()) if gates else "",
        "governance": str(Path(governance).resolve()) if governance else "",
    }
    path = render_notebook(
        "readiness_report", params, store.path, title=f"Readiness report: {store.run_id}"
    )
    _record(store, phase, path)
    return path


def render_comparison(
    run_before: str,
    run_after: str,
    pilot_log: str | Path | None = None,
    results_dir: str | Path | None = None,
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


def calibrate_and_render(run_id: str, results_dir: str | Path | None = None) -> Path:
    """Calibrate the run's judge against the dataset's human ratings, then render the report.

    The calibration itself is ``harness.calibration.calibrate`` (it may call the judge model;
    its calls are cached). Rendering alone is :func:`render_calibration`.
    """
    try:
        from harness.calibration import calibrate
    except ImportError as exc:
        raise ReportError(
            f"judge calibration is not available in this installation ({exc}); "
            "harness/calibration.py must provide calibrate(run, results_dir=...)"
        ) from None
    root = _root(results_dir)
    store = open_run(run_id, root)
    calibrate(store, results_dir=root)
    return render_calibration(store.run_id, root)


def render_explore(run_id: str, results_dir: str | Path | None = None) -> Path:
    """Render the analyst's explore notebook for a run (mainly to check it runs)."""
    root = _root(results_dir)
    store = open_run(run_id, root)
    params = {"run_id": store.run_id, "results_dir": str(root.resolve())}
    return render_notebook("explore", params, store.path)


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
