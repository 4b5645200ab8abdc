"""The AI judge's calibration against human ratings, as the reports show it."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from harness.report.decision import has_judge, rated_text
from harness.report.families import family_section
from harness.report.format import STYLE, esc, fmt, frame_table, mapping, note
from harness.report.glossary import candidate_names, model_name
from harness.store.runs import (
    RunData,
    calibration_files,
)


def calibration_summary(run: RunData) -> Any:
    """The judge's calibration against human ratings, as the judge's calibration step wrote it."""
    from IPython.display import HTML

    cal = run.calibration
    if cal is None and not has_judge(run):
        return note("This run has no AI judge, so there is no calibration to show.")
    if cal is None:
        return note(
            "The AI judge of this run has not been checked against human ratings yet (an "
            "analyst runs the calibration). Until then its scores cannot pass a gate."
        )
    flag = cal.get("calibrated")
    verdict = (
        "The judge agrees with human raters well enough: its scores may count toward gates."
        if flag is True
        else "The judge does not agree with human raters well enough: its scores do not count."
    )
    facts = _calibration_facts(cal, candidate_names(run))
    rows = "".join(
        f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in facts.items()
    )
    return HTML(
        STYLE
        + f"<div class='decision {'ready' if flag is True else 'notready'}'><p class='verdict'>"
        f"{'Calibrated' if flag is True else 'Not calibrated'}</p><p class='reason'>{esc(verdict)}</p></div>"
        "<table class='harness-table'><caption>How the judge was checked</caption>"
        f"<tbody>{rows}</tbody></table>"
    )


def _calibration_facts(cal: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The facts a reader needs beside the verdict: judge, drafts checked, the bar, calls
    (``names``: each candidate's name in the glossary's words)."""
    judge = mapping(cal.get("judge"))
    facts: dict[str, Any] = {}
    if judge.get("model"):
        facts["judge"] = model_name(judge["model"]) + (
            f" (rubric {judge['rubric']})" if judge.get("rubric") else ""
        )
    if judge.get("candidates"):
        facts["drafts it rates in this run"] = ", ".join(
            names.get(str(c), str(c)) for c in judge["candidates"]
        )
    facts["checked on"] = rated_text(cal)
    by = mapping(cal.get("by_criterion"))
    ns = sorted({int(v["n"]) for v in by.values() if isinstance(v, dict) and "n" in v})
    if ns:
        facts["drafts with a readable judge score (n)"] = " / ".join(str(n) for n in ns)
    if "min_kappa" in judge and "min_rated" in judge:
        facts["the bar"] = (
            f"quadratic-weighted kappa of at least {judge['min_kappa']} on every criterion, "
            f"on at least {judge['min_rated']} rated drafts"
        )
    answer_format = judge.get("response_format")
    if answer_format:
        facts["answer format"] = _FORMAT_WORDS.get(answer_format, answer_format)
    counts = mapping(cal.get("counts"))
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
    """Per criterion: the judge's agreement with the human raters, the raters' own, the verdict
    (formatted text; numeric twin: :func:`calibration_numbers`)."""
    cal = run.calibration or {}
    summary = cal.get("summary")
    if not isinstance(summary, list) or not summary:
        return pd.DataFrame(columns=list(_CALIBRATION_COLUMNS.values()))
    frame = pd.DataFrame(summary)
    cols = [c for c in _CALIBRATION_COLUMNS if c in frame.columns]
    frame = frame[cols].copy()
    for c in ("kappa", "spearman", "exact", "within_one", "bias", "human_kappa"):
        if c in frame:
            frame[c] = [fmt(v) for v in pd.to_numeric(frame[c], errors="coerce")]
    if "calibrated" in frame:
        frame["calibrated"] = frame["calibrated"].map({True: "yes", False: "no"})
    return frame.rename(columns=_CALIBRATION_COLUMNS)


def calibration_numbers(run: RunData) -> pd.DataFrame:
    """The numbers behind :func:`calibration_table`: one row per criterion, numeric columns."""
    summary = (run.calibration or {}).get("summary")
    frame = pd.DataFrame(summary if isinstance(summary, list) else [])
    for c in frame.columns.drop("criterion", errors="ignore"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    return frame


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


def judge_spread(run: RunData) -> pd.DataFrame:
    """Per criterion: the judge's most frequent score, how many of the checked drafts got it,
    and how many drafts were checked (numeric; the one-line summary of :func:`confusion_table`)."""
    conf = (run.calibration or {}).get("confusion")
    cols = ["criterion", "most_frequent_score", "drafts_with_it", "drafts"]
    if not isinstance(conf, list) or not conf:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame(conf)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").fillna(0)
    by_score = frame.groupby(["criterion", "judge"], sort=False)["count"].sum().reset_index()
    rows = []
    for crit, grp in by_score.groupby("criterion", sort=False):
        top = grp.loc[grp["count"].idxmax()]
        rows.append([crit, float(top["judge"]), int(top["count"]), int(grp["count"].sum())])
    return pd.DataFrame(rows, columns=cols)


def _spread_sentence(run: RunData) -> str:
    """'The judge gave its most frequent score to 16 of 16 drafts on accuracy (a 1), ...'."""
    spread = judge_spread(run)
    if spread.empty:
        return ""
    parts = [
        f"{r['drafts_with_it']} of {r['drafts']} drafts on {r['criterion']} "
        f"(a {float(r['most_frequent_score']):g})"
        for r in spread.to_dict("records")
    ]
    return (
        "<p class='caption'>How spread the judge's own scores are, on the drafts it was checked "
        f"on: its most frequent score went to {esc('; '.join(parts))}. A judge that gives most "
        "drafts one score cannot tell a good draft from a poor one. The judge calibration "
        "report has the full table of which score it gave to drafts of each human score.</p>"
    )


def calibration_section(run: RunData, detail: bool = True) -> Any:
    """The agreement table and the confusion table of the judge's calibration (or a note).

    ``detail=False`` (the readiness report): the confusion table is summarised in one sentence
    (:func:`judge_spread`); the judge calibration report shows it whole.
    """
    from IPython.display import HTML

    table = calibration_table(run)
    if table.empty:
        return note("No calibration tables: the judge has not been checked against human ratings.")
    conf = confusion_table(run) if detail else pd.DataFrame()
    body = STYLE + frame_table(
        table,
        "Agreement with the district's human raters per criterion. Weighted "
        "kappa: 1 = the same scores, 0 = no better than chance; it must reach the bar on every "
        'criterion. "Humans with each other" is the raters\' own agreement on drafts two of '
        "them rated: the most a judge can be expected to reach.",
    )
    if not conf.empty:
        body += frame_table(
            conf,
            "How often the judge gave each score (columns) to drafts the "
            "humans scored as in the row (their mean, so half points occur). A good judge puts "
            "the counts on the diagonal; one column full of counts means it gives every draft "
            "the same score.",
        )
    if not detail:
        body += _spread_sentence(run)
    return HTML(body)


def calibration_tables(run: RunData) -> Any:
    """Per-criterion agreement tables the calibration stored (JSON lists/dicts, Parquet or CSV)."""
    from IPython.display import HTML

    cal = run.calibration or {}
    parts = [STYLE]
    for k, v in cal.items():
        frame = None
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            frame = pd.DataFrame(v)
        elif isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()):
            frame = pd.DataFrame.from_dict(v, orient="index").reset_index(names=k.rstrip("s") or k)
        if frame is not None:
            frame = frame.map(lambda x: json.dumps(x) if isinstance(x, (dict, list)) else x)
            parts.append(f"<h3>{esc(k)}</h3>" + frame_table(frame.round(3), f"Stored table {k}"))
    for name, frame in calibration_files(run.store).items():
        parts.append(
            f"<h3>{esc(name)}</h3>"
            + frame_table(frame.head(200).round(3), f"Stored file {name} (first 200 rows)")
        )
    if len(parts) == 1:
        parts.append("<p class='caption'>No per-criterion tables were stored.</p>")
    return HTML("".join(parts))


def judge_scores(run: RunData) -> Any:
    """The judge's scores per candidate (shown beside its calibration, never alone)."""
    return family_section(run, "judge", "anything with an AI judge")
