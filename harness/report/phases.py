"""The phase comparison: a run before and a run after, and the pilot log's measured outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import harness.store.pilotlog as pl
from harness import stats
from harness.data.dataset import load_dataset
from harness.errors import ReportError
from harness.gates.noninferior import noninferior_paired
from harness.metrics import metric_def
from harness.report.alt import Figure
from harness.report.decision import PHASES, decision, decision_box, district_name
from harness.report.format import STYLE, esc, fmt, note, plain, table_html, unit_of
from harness.report.glossary import candidate_names
from harness.report.pilot import evidence_short, short_box
from harness.store.runs import RunData


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
    # no worse within the metric's margin (paired t, statsmodels' ttost_paired); NaN: no margin
    out["margin"] = [metric_def(str(m)).margin for m in out["metric"]]
    out["p_no_worse"] = [
        _no_worse(both, str(c), str(m), mg)
        for c, m, mg in zip(out["candidate"], out["metric"], out["margin"], strict=True)
    ]
    return out.rename(columns={"candidate_mean": "after_mean", "baseline_mean": "before_mean"})


def _no_worse(both: pd.DataFrame, cand: str, metric: str, margin: float | None) -> float:
    if margin is None or pd.isna(margin):
        return float("nan")
    pairs = stats.paired_values(both, metric, f"{cand} (after)", f"{cand} (before)")
    higher = stats.higher_is_better(metric)
    return noninferior_paired(pairs["candidate"], pairs["baseline"], float(margin), higher)


def phase_cover(before: RunData, after: RunData, protocol: str = "") -> Any:
    """Which runs are compared, whether they used the same frozen questions, and the pilot
    protocol's hash."""
    from IPython.display import HTML

    from harness.report.pilot import protocol_line

    ib = set(before.manifest["selection"]["item_ids"])
    ia = set(after.manifest["selection"]["item_ids"])
    same_ds = before.manifest["dataset"]["fingerprint"] == after.manifest["dataset"]["fingerprint"]
    rows = "".join(
        f"<p><b>{esc(label)}:</b> run {esc(r.run_id)} ({esc(r.manifest.get('started_at'))}), plan "
        f"{esc(r.manifest['plan_name'])}, {esc(len(r.manifest['selection']['item_ids']))} questions</p>"
        for label, r in (("Before", before), ("After", after))
    )
    return HTML(
        STYLE
        + f"""<div class="cover"><h1>What changed between phases</h1>
<p><b>District:</b> {esc(district_name(after))}</p>
<p><b>Workflow:</b> {esc(after.manifest.get("workflow") or after.manifest["plan_name"])}</p>{rows}
<p><b>Same questions:</b> {len(ib & ia)} questions are in both runs and are compared one by one
({"the same dataset version" if same_ds else "the dataset changed between the runs"}).</p>
{protocol_line(after, protocol)}</div>"""
    )


def phase_table(before: RunData, after: RunData) -> pd.DataFrame:
    """Phase changes in plain words: before, after, change [interval], verdict."""
    ch, shown = phase_changes(before, after), candidate_names(after)
    rows = []
    for _, r in ch.iterrows():
        unit = unit_of(r["metric"])
        rows.append(
            {
                "candidate": shown.get(r["candidate"], r["candidate"]),
                "measure": plain(r["metric"]),
                "questions": int(r["n"]),
                "before": fmt(r["before_mean"], unit),
                "after": fmt(r["after_mean"], unit),
                "change [95% interval]": f"{fmt(r['diff'], unit)} [{fmt(r['diff_low'], unit)}–{fmt(r['diff_high'], unit)}]",
                "verdict": {"better": "improved", "worse": "got worse"}.get(
                    r["verdict"], r["verdict"]
                ),
                "no worse than before?": _no_worse_words(r["p_no_worse"], r["margin"], unit),
            }
        )
    return pd.DataFrame(rows)


def _no_worse_words(p: float, margin: float | None, unit: str) -> str:
    if pd.isna(p):
        return "—"
    within = f"within {fmt(float(margin or 0.0), unit)}"
    return f"yes, {within} (p = {p:.3f})" if p < 0.05 else f"not shown {within} (p = {p:.2f})"


def pilot_log_for(run: RunData, path: str = "") -> pd.DataFrame | None:
    """The pilot log: from ``path`` (a CSV or a dataset folder) or the run's own dataset, with
    the entries of the run's workflows only (:func:`harness.store.run_pilot_log`)."""
    if not path:  # the review station's measured minutes first, then the dataset's log
        return pl.run_pilot_log(run)
    p = Path(path)
    if p.is_dir():
        log = load_dataset(p).pilot_log
    elif not p.is_file():
        raise ReportError(
            f"pilot log {path} does not exist; give a pilot_log.csv or a dataset folder"
        )
    else:
        from harness.data.dataset import read_pilot_log

        log = read_pilot_log(p, run.dataset.item_tasks())
    return None if log is None else pl.for_workflows(log, pl.run_workflows(run))


# What the before / during columns of each pilot outcome count (the improvement is their gap).
_MEASURED = {
    "minutes_saved_per_reply": "staff minutes spent per reply",
    "hand_written_reduction": "share of replies written by hand",
    "fewer_revisions": "approval revisions per reply",
    "faster_turnaround_hours": "hours from message to approved reply",
}


def pilot_table(log: pd.DataFrame | None) -> Any:
    """The pilot's measured outcomes: before, during, improvement [interval], verdict, how."""
    from harness.gates.pilot_log import outcomes

    out = outcomes(log)
    if out.empty and pl.none_for_workflow(log):
        return note(f"No outcome was measured: {pl.missing_entries(log)}.")
    if out.empty:
        return note("No pilot log: the dataset has no pilot_log.csv, so no outcome was measured.")
    measured = [
        _MEASURED.get(str(m), str(u)) for m, u in zip(out["measure"], out["unit"], strict=True)
    ]
    view = pd.DataFrame(
        {
            "outcome": out["title"],
            "what before and during count": measured,
            "before the pilot": [fmt(v) for v in out["baseline"]],
            "during the pilot": [fmt(v) for v in out["pilot"]],
            "improvement [95% interval]": [
                f"{fmt(i)} [{fmt(lo)}–{fmt(hi)}] {u}"
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
    """Minutes per reply before and during the pilot: each staff member's average as an unnamed
    dot (the pilot is not an evaluation of individual staff), the phase's mean as a bar."""
    import matplotlib.pyplot as plt

    from harness.gates.pilot_log import by_staff

    staff = by_staff(log)
    fig, ax = plt.subplots(figsize=(6, 2.8))
    if staff.empty:
        ax.text(0.5, 0.5, "no pilot log", ha="center")
        ax.axis("off")
        plt.close(fig)
        return Figure(fig, "Staff minutes per reply before and during the pilot: no pilot log.")
    phases = [
        (p, w, c)
        for p, w, c in (
            ("baseline", "before (written from scratch)", "#999999"),
            ("pilot", "pilot (AI draft edited)", "#0072B2"),
        )
        if (staff["phase"] == p).any()
    ]
    means = []
    for i, (phase, word, color) in enumerate(phases):
        v = staff.loc[staff["phase"] == phase, "minutes"].dropna().sort_values()
        ax.bar(i, v.mean(), width=0.5, color=color, alpha=0.35, hatch="//" if i == 0 else "")
        ax.plot(np.full(len(v), i) + np.linspace(-0.12, 0.12, len(v)), v, "o", color=color)
        means.append(
            f"{word}: {fmt(float(v.mean()), 'minutes')} minutes on average, staff averages "
            f"from {fmt(float(v.min()), 'minutes')} to {fmt(float(v.max()), 'minutes')} minutes"
        )
    ax.set_xticks(range(len(phases)), [w for _, w, _ in phases], fontsize=8)
    ax.set_ylabel("staff minutes per reply")
    ax.set_title("Minutes per reply: each dot one staff member's average (unnamed)", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    n = staff["staff_member"].nunique()
    alt = (
        f"Dot chart of average staff minutes per reply for {n} staff members (not named), "
        f"written from scratch before the pilot and edited from an AI draft during it; "
        f"{'; '.join(means)}."
    )
    return Figure(fig, alt)


def staff_labels(log: pd.DataFrame | None) -> dict[str, str]:
    """Each staff member's anonymous label in a leader's report ("Staff A", "Staff B", ...),
    assigned in a shuffled order fixed by the log, so a label says nothing about who it is."""
    if log is None or log.empty or "staff_member" not in log:
        return {}
    names = sorted({str(s) for s in log["staff_member"].dropna()})
    order = np.random.default_rng(len(names) + len(log)).permutation(len(names))
    letters = [chr(65 + i % 26) + ("" if i < 26 else str(i // 26)) for i in range(len(names))]
    return {names[j]: f"Staff {letters[k]}" for k, j in enumerate(order)}


def staff_table(log: pd.DataFrame | None) -> pd.DataFrame:
    """Per staff member (anonymised: issue 24, no named staff graded in a leader's report) and
    phase: replies, minutes per reply with its 95% interval, revisions, turnaround, approvals."""
    from harness.gates.pilot_log import by_staff, minutes_per_reply

    out = by_staff(log)
    if out.empty or log is None:
        return out
    minutes = log.assign(_m=minutes_per_reply(log))
    bounds = [
        stats.bootstrap_ci(minutes[(minutes["staff_member"] == s) & (minutes["phase"] == p)]["_m"])
        for s, p in zip(out["staff_member"], out["phase"], strict=True)
    ]
    labels = staff_labels(log)
    out = out.assign(
        staff_member=out["staff_member"].astype(str).map(labels),
        minutes_low=[round(b[1], 2) for b in bounds],
        minutes_high=[round(b[2], 2) for b in bounds],
    )
    return out.sort_values(["staff_member", "phase"]).reset_index(drop=True)


def staff_spread_table(log: pd.DataFrame | None) -> Any:
    """How far apart staff members' own averages are, per phase and measure, naming nobody
    (numeric twin: ``harness.gates.pilot_log.staff_spread``)."""
    from harness.gates.pilot_log import STAFF_MEASURES, staff_spread

    t = staff_spread(log)
    if t.empty:
        return note("No pilot log with staff members: no spread between staff to show.")
    word = {"baseline": "before the pilot", "pilot": "during the pilot"}
    view = pd.DataFrame(
        {
            "phase": [word.get(p, p) for p in t["phase"]],
            "measure": [STAFF_MEASURES[m] for m in t["measure"]],
            "staff members": t["staff"],
            "average of their averages": [fmt(v) for v in t["mean"]],
            "lowest": [fmt(v) for v in t["lowest"]],
            "highest": [fmt(v) for v in t["highest"]],
        }
    )
    return table_html(
        view,
        "Spread between staff members: each one's own average, summarised without names (the "
        "pilot is not an evaluation of individual staff).",
    )


def pilot_decision_box(
    run: RunData, phase: str, log: pd.DataFrame | None, protocol: str | Path = "", gates: str = ""
) -> Any:
    """The phase's decision box, or 'not enough evidence yet' while the pilot is short."""
    from IPython.display import HTML

    short = evidence_short(run, log, protocol)
    if short is not None:
        return HTML(STYLE + short_box(PHASES.get(phase, phase), short))
    return decision_box(decision(run, phase, gates or None))
