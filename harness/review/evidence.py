"""What staff did with the drafts: the review station's evidence for the report.

Every table function takes a :class:`harness.report.RunData` and returns a numeric DataFrame
(indexed by candidate, reviewer or measure); :func:`section_html` returns the report section
"What staff did with the drafts" as escaped HTML. A run without a review queue gives empty
tables and a section that says so. Skipped tasks count only in ``skipped_share``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein

from harness.review import db
from harness.review.agreement import agreement_table, kappa_ci  # noqa: F401  (public here)
from harness.review.app import FLAGS
from harness.review.queue import CONTROL
from harness.textsafe import esc

RUBBER_STAMP_SECONDS = 10.0
DEFAULT_RESAMPLES = 1000
FLAG_NAMES = [k for k, _ in FLAGS]


def reviews(run: Any) -> pd.DataFrame:
    """The run's stored reviews (one row per submission); empty without a review queue."""
    path = db.db_path(run.store.path)
    if not db.exists(path):
        return pd.DataFrame()
    frame = db.reviews_frame(path)
    if frame.empty:
        return frame
    frame["minutes"] = frame["active_seconds"] / 60.0
    frame["changed"] = [
        isinstance(d, str) and str(f).strip() != d.strip()
        for f, d in zip(frame["final_text"], frame["draft"], strict=True)
    ]
    return frame


def staff_review_status(run: Any) -> dict[str, Any]:
    """Did staff review drafts? One answer for the report's staff section and the evidence
    index: submissions in this run's review station and replies in the pilot log (the run's
    own station export, else the dataset's ``pilot_log.csv``), with a sentence saying so."""
    store = getattr(run, "store", None)
    station = reviews(run) if store is not None else pd.DataFrame()
    from harness.store.pilotlog import NO_ENTRIES, none_for_workflow, run_pilot_log

    log = run_pilot_log(run)  # the run's workflows' entries only
    phases = log["phase"].value_counts() if log is not None and len(log) else pd.Series(dtype=int)
    out: dict[str, Any] = {
        "station_reviews": len(station),
        "station_reviewers": int(station["reviewer"].nunique()) if len(station) else 0,
        "pilot_replies": int(phases.get("pilot", 0)),
        "baseline_replies": int(phases.get("baseline", 0)),
    }
    out["happened"] = bool(out["station_reviews"] or out["pilot_replies"])
    parts = []
    if out["station_reviews"]:
        parts.append(
            f"{out['station_reviews']} drafts reviewed by {out['station_reviewers']} staff "
            "member(s) in the review station"
        )
    if out["pilot_replies"]:
        parts.append(
            f"the pilot log records {out['pilot_replies']} replies staff edited from AI drafts "
            f"during the pilot and {out['baseline_replies']} written from scratch before it"
        )
    out["text"] = (
        "; ".join(parts)
        if parts
        else "no staff review yet: no draft reviewed in the review station and "
        + (NO_ENTRIES if none_for_workflow(log) else "no pilot_log.csv")
    )
    return out


def _judged(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame[(frame["mode"] == "drafts") & frame["decision"].isin(["approved", "rejected"])]


def _mean_ci(
    values: np.ndarray, level: float, resamples: int, seed: int
) -> tuple[float, float, float]:
    from harness.stats import bootstrap_ci

    if values.size == 0:
        return np.nan, np.nan, np.nan
    m, lo, hi = bootstrap_ci(values, level, resamples, seed)
    return float(m), float(lo), float(hi)


def measured_minutes(
    run: Any, level: float = 0.95, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> pd.DataFrame:
    """Measured active minutes per candidate beside the edit scorer's estimate.

    Columns: ``reviews``, ``measured_minutes`` with ``ci_low``/``ci_high`` (bootstrap),
    ``estimated_minutes`` (the run's ``review_minutes`` metric on the same items; for the row
    ``written from scratch`` its ``scratch_minutes``), and ``measured_minus_estimated``.
    """
    cols = [
        "reviews",
        "measured_minutes",
        "ci_low",
        "ci_high",
        "estimated_minutes",
        "measured_minus_estimated",
    ]
    r = reviews(run)
    if r.empty:
        return pd.DataFrame(columns=cols).rename_axis("candidate")
    scores = run.scores
    est = scores[scores["sample"] == 0].pivot_table(
        index=["item_id", "candidate"], columns="metric", values="value", aggfunc="mean"
    )
    rows = {}
    for cand, grp in _judged(r).groupby("candidate", sort=True):
        m, lo, hi = _mean_ci(grp["minutes"].to_numpy(float), level, resamples, seed)
        keys = [(i, cand) for i in grp["item_id"]]
        e = (
            est["review_minutes"].reindex(keys).mean()
            if "review_minutes" in est and cand != CONTROL
            else np.nan
        )
        rows[cand] = [len(grp), m, lo, hi, e, m - e]
    scratch = r[(r["mode"] == "scratch") & (r["decision"] == "written")]
    if len(scratch):
        m, lo, hi = _mean_ci(scratch["minutes"].to_numpy(float), level, resamples, seed)
        e = np.nan
        if "scratch_minutes" in est:
            per_item = est["scratch_minutes"].groupby(level="item_id").mean()
            e = float(per_item.reindex(scratch["item_id"]).mean())
        rows["written from scratch"] = [len(scratch), m, lo, hi, e, m - e]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols).rename_axis("candidate")
    out["reviews"] = out["reviews"].astype("int64")
    return out.astype({c: "float64" for c in cols[1:]})


def minutes_saved(
    run: Any, level: float = 0.95, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> pd.DataFrame:
    """Measured minutes saved per reply, per candidate: from-scratch minus review minutes.

    The from-scratch replies' mean active minutes minus the candidate's mean active review
    minutes (approved or rejected drafts), with a two-sample bootstrap interval (independent
    groups), beside the edit scorer's estimate (``saved_minutes`` on the reviewed items). This
    is the figure a decision should use where it exists. Empty without from-scratch replies.
    """
    from harness.stats import unpaired_bootstrap

    cols = ["scratch_n", "review_n", "measured_saved", "ci_low", "ci_high", "estimated_saved"]
    r = reviews(run)
    if r.empty:
        return pd.DataFrame(columns=cols).rename_axis("candidate")
    scratch = r[(r["mode"] == "scratch") & (r["decision"] == "written")]["minutes"].to_numpy(float)
    if scratch.size == 0:
        return pd.DataFrame(columns=cols).rename_axis("candidate")
    scores = run.scores
    est = scores[(scores["sample"] == 0) & (scores["metric"] == "saved_minutes")]
    est = est.set_index(["item_id", "candidate"])["value"]
    rows = {}
    for cand, g in _judged(r).groupby("candidate", sort=True):
        if cand == CONTROL:
            continue
        rev = g["minutes"].to_numpy(float)
        diff, lo, hi = unpaired_bootstrap(scratch, rev, level, resamples, seed)
        e = est.reindex([(i, cand) for i in g["item_id"]]).mean()
        rows[cand] = [scratch.size, rev.size, diff, lo, hi, e]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols).rename_axis("candidate")
    return out.astype(
        {"scratch_n": "int64", "review_n": "int64"} | {c: "float64" for c in cols[2:]}
    )


def decisions(run: Any) -> pd.DataFrame:
    """Per candidate: reviews, approved / rejected / skipped shares, approved with or without edits."""
    cols = [
        "reviews",
        "approved_share",
        "rejected_share",
        "skipped_share",
        "approved_edited_share",
        "approved_unchanged_share",
    ]
    r = reviews(run)
    if r.empty:
        return pd.DataFrame(columns=cols).rename_axis("candidate")
    d = r[r["mode"] == "drafts"]
    rows = {}
    for cand, g in d.groupby("candidate", sort=True):
        n = len(g)
        appr = g["decision"] == "approved"
        rows[cand] = [
            n,
            appr.mean(),
            (g["decision"] == "rejected").mean(),
            (g["decision"] == "skipped").mean(),
            (appr & g["changed"]).mean(),
            (appr & ~g["changed"]).mean(),
        ]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols).rename_axis("candidate")
    return out.astype({"reviews": "int64"} | {c: "float64" for c in cols[1:]})


def preferences(run: Any) -> pd.DataFrame:
    """Side-by-side choices: per candidate, times shown, chosen, and the share chosen."""
    cols = ["shown", "chosen", "neither", "chosen_share"]
    r = reviews(run)
    if r.empty:
        return pd.DataFrame(columns=cols).rename_axis("candidate")
    s = r[(r["mode"] == "side_by_side") & (r["decision"] == "chosen")]
    rows: dict[str, list[float]] = {}
    for t in s.itertuples(index=False):
        left, right = (t.candidate_b, t.candidate) if t.swapped else (t.candidate, t.candidate_b)
        for side, cand in (("left", left), ("right", right)):
            row = rows.setdefault(str(cand), [0, 0, 0, np.nan])
            row[0] += 1
            row[1] += int(t.choice == side)
            row[2] += int(t.choice == "neither")
    for row in rows.values():
        row[3] = row[1] / row[0] if row[0] else np.nan
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols).rename_axis("candidate")
    return out.astype({"shown": "int64", "chosen": "int64", "neither": "int64"})


def flag_counts(run: Any) -> pd.DataFrame:
    """Per candidate: how many reviews ticked each flag (inaccurate, outdated, ...)."""
    r = _judged(reviews(run))
    if r.empty:
        return pd.DataFrame(columns=["reviews", *FLAG_NAMES]).rename_axis("candidate")
    rows = {}
    for cand, g in r.groupby("candidate", sort=True):
        rows[cand] = [len(g)] + [int(sum(f in fl for fl in g["flags"])) for f in FLAG_NAMES]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["reviews", *FLAG_NAMES])
    return out.rename_axis("candidate").astype("int64")


def agreement(
    run: Any, level: float = 0.95, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> pd.DataFrame:
    """Agreement between two reviewers of the same draft, per criterion and for the decision.

    Columns: ``pairs``, ``kappa`` (quadratic-weighted for criteria, plain for approve/reject),
    ``ci_low``, ``ci_high`` (bootstrap over drafts), ``exact`` (share of equal answers).
    """
    return agreement_table(_judged(reviews(run)), level, resamples, seed)


def by_reviewer(run: Any) -> pd.DataFrame:
    """Per reviewer: reviews, mean active minutes, approved share, mean rating per criterion."""
    r = _judged(reviews(run))
    if r.empty:
        return pd.DataFrame(columns=["reviews", "minutes", "approved_share"]).rename_axis(
            "reviewer"
        )
    crits = sorted({k for rr in r["ratings"] for k in rr})
    rows = {}
    for name, g in r.groupby("reviewer", sort=True):
        ratings = [[rr.get(c, np.nan) for rr in g["ratings"]] for c in crits]
        rows[name] = [
            len(g),
            g["minutes"].mean(),
            (g["decision"] == "approved").mean(),
            *[float(np.nanmean(np.array(v, dtype=float))) if len(v) else np.nan for v in ratings],
        ]
    out = pd.DataFrame.from_dict(
        rows, orient="index", columns=["reviews", "minutes", "approved_share", *crits]
    )
    return out.rename_axis("reviewer").astype({"reviews": "int64"})


def reviewer_spread(run: Any, seconds: float = RUBBER_STAMP_SECONDS) -> pd.DataFrame:
    """Spread between reviewers, with no reviewer named: for each per-reviewer measure (and
    ``fast_unchanged_share``, the rubber-stamp share of each one's approvals), the sd, min and
    max of the reviewers' values. Leader reports show this; :func:`by_reviewer` is the analyst's."""
    per = by_reviewer(run).drop(columns=["reviews"], errors="ignore")
    if len(per):
        per["fast_unchanged_share"] = rubber_stamps(run, seconds)["share"].reindex(per.index)
    if len(per) < 2:
        return pd.DataFrame(columns=["reviewers", "sd", "min", "max"]).rename_axis("measure")
    out = pd.DataFrame(
        {
            "reviewers": len(per),
            "sd": per.std(ddof=0),
            "min": per.min(),
            "max": per.max(),
        }
    ).rename_axis("measure")
    return out.astype({"reviewers": "int64", "sd": "float64", "min": "float64", "max": "float64"})


SPREAD_WORDS = {
    "minutes": "active minutes per draft",
    "approved_share": "share of drafts approved (0-1)",
    "fast_unchanged_share": "share of approvals unchanged and fast (0-1)",
}


def rubber_stamps(run: Any, seconds: float = RUBBER_STAMP_SECONDS) -> pd.DataFrame:
    """Per reviewer: approvals, approvals unchanged in under ``seconds``, and their share."""
    cols = ["approvals", "fast_unchanged", "share"]
    r = reviews(run)
    if r.empty:
        return pd.DataFrame(columns=cols).rename_axis("reviewer")
    a = r[(r["mode"] == "drafts") & (r["decision"] == "approved")]
    rows = {}
    for name in sorted(set(r["reviewer"])):
        g = a[a["reviewer"] == name]
        fast = int(((~g["changed"]) & (g["active_seconds"] < seconds)).sum())
        rows[name] = [len(g), fast, fast / len(g) if len(g) else np.nan]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols).rename_axis("reviewer")
    return out.astype({"approvals": "int64", "fast_unchanged": "int64", "share": "float64"})


def _esc(v: Any) -> str:
    return esc(v)


def _table(frame: pd.DataFrame, caption: str) -> str:
    body = frame.reset_index().to_html(
        index=False,
        escape=True,
        border=0,
        classes="harness-table",
        na_rep="—",
        float_format=lambda v: f"{v:.2f}",
    )
    return f"<p class='caption'>{_esc(caption)}</p>{body}"


def _diff(draft: str, final: str) -> str:
    dw, fw = draft.split(), final.split()
    out = []
    for op in Levenshtein.opcodes(dw, fw):
        a, b = " ".join(dw[op.src_start : op.src_end]), " ".join(fw[op.dest_start : op.dest_end])
        if op.tag == "equal":
            out.append(_esc(a))
        if op.tag in ("delete", "replace"):
            out.append(f"<del>{_esc(a)}</del>")
        if op.tag in ("insert", "replace"):
            out.append(f"<ins>{_esc(b)}</ins>")
    return " ".join(out)


def edits(run: Any, limit: int = 5) -> pd.DataFrame:
    """The most-edited approved drafts: candidate, reviewer, words changed, draft, final text."""
    r = reviews(run)
    cols = ["candidate", "reviewer", "item_id", "word_similarity", "draft", "final_text"]
    if r.empty:
        return pd.DataFrame(columns=cols)
    a = r[(r["mode"] == "drafts") & (r["decision"] == "approved") & r["changed"]].copy()
    a["word_similarity"] = [
        Levenshtein.normalized_similarity(d.split(), f.split())
        for d, f in zip(a["draft"], a["final_text"], strict=True)
    ]
    return a.sort_values("word_similarity").head(limit)[cols].reset_index(drop=True)


def section_html(run: Any, rubber_stamp_seconds: float = RUBBER_STAMP_SECONDS) -> str:
    """The report section "What staff did with the drafts" (escaped HTML)."""
    head = "<h2>What staff did with the drafts</h2>"
    r = reviews(run)
    if r.empty:
        return head + (
            "<p class='caption'>No staff review yet: the review queue is ready but no draft "
            "was reviewed, so the minutes in this report are estimated from the edits needed.</p>"
        )
    parts = [head]
    n_rev = r["reviewer"].nunique()
    parts.append(
        f"<p class='caption'>{len(r)} submissions by {n_rev} reviewer(s); drafts shown blind in "
        "a seeded, balanced order, the approved answer mixed in as a hidden control. Minutes are "
        "active time (page visible and focused, idle stretches over 2 minutes left out).</p>"
    )
    parts.append(_table(measured_minutes(run), "Measured minutes per draft beside the estimate"))
    saved = minutes_saved(run)
    if len(saved):
        parts.append(_table(saved, "Minutes saved per reply, measured (from scratch minus review)"))
        parts.append(
            "<p class='caption'>Measured minutes exist for this run: the time saved above is "
            "what staff took, not the edit-distance estimate.</p>"
        )
    parts.append(_table(decisions(run), "What reviewers decided"))
    ctl = decisions(run)
    if CONTROL in ctl.index:
        share = float(ctl["approved_share"].loc[CONTROL])
        parts.append(
            f"<p class='caption'>Control: the district's approved answers were approved "
            f"{_esc(f'{share:.0%}')} of the time.</p>"
        )
    parts.append(_table(flag_counts(run), "Flags ticked"))
    prefs = preferences(run)
    if len(prefs):
        parts.append(_table(prefs, "Side by side: which draft staff would rather send"))
    agr = agreement(run)
    if len(agr):
        parts.append(_table(agr, "Agreement between two reviewers of the same draft (kappa)"))
    else:
        parts.append("<p class='caption'>No draft was reviewed twice yet: no agreement.</p>")
    # the pilot is not an evaluation of individual staff: how spread out reviewers are, never who
    stamps = rubber_stamps(run, rubber_stamp_seconds)
    fast = int(stamps["fast_unchanged"].sum()) if len(stamps) else 0
    cls = "alarm" if fast else "caption"
    parts.append(
        f"<p class='{cls}'>Rubber-stamp check: {fast} draft(s) approved unchanged in under "
        f"{_esc(f'{rubber_stamp_seconds:g}')} seconds, by {int((stamps['fast_unchanged'] > 0).sum())} "
        f"of {len(stamps)} reviewer(s).</p>"
    )
    spread = reviewer_spread(run, rubber_stamp_seconds)
    if len(spread):
        view = spread.rename(index=lambda m: SPREAD_WORDS.get(str(m), f"average rating: {m} (1-5)"))
        parts.append(
            _table(
                view.rename(
                    columns={"sd": "standard deviation", "min": "lowest", "max": "highest"}
                ),
                "Spread between reviewers: each reviewer's own average, summarised without names",
            )
        )
    ed = edits(run)
    if len(ed):
        items = "".join(
            f"<li><b>{_esc(e.candidate)}</b> ({_esc(e.item_id)}): "
            f"{_diff(str(e.draft), str(e.final_text))}</li>"
            for e in ed.itertuples()
        )
        parts.append(
            f"<p class='caption'>The edits staff made (most edited first)</p><ul>{items}</ul>"
        )
    return "\n".join(parts)


def section(run: Any) -> Any:
    """The section as a notebook display object (one call in a report notebook cell)."""
    from IPython.display import HTML

    return HTML(section_html(run))
