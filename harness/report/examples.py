"""Worked examples: drafts beside the approved answer, sensitive questions, the method."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

from harness.gates.decision import Decision, minutes_are_fitted
from harness.report.format import STYLE, esc, fmt, note, table_html, unit_of
from harness.report.glossary import candidate_names, category_name
from harness.report.vocab import reword, run_vocab, vocab
from harness.store.runs import RunData

MAX_EXAMPLES = 1  # best / worst / most edited, each (every draft: run.generations)


MAX_SENSITIVE = 2  # shown in full, those handled worst first; every one is in the list above them


LEGEND = (
    "<p class='legend'><b>How to read the examples:</b> <del>struck through, red</del> = words "
    "the reviewer removes from the draft; <ins>underlined, green</ins> = words of the approved "
    "answer the draft lacked.</p>"
)


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
            facts.append(f"{label} {fmt(r[m], unit_of(m))}")
    head = " · ".join(
        [str(r["item_id"]), category_name(item["category"]), *facts, *([extra] if extra else [])]
    )
    lang = item.get("language")  # the item's own language: read aloud and hyphenated in it
    span = f"<span lang='{esc(lang)}'>" if isinstance(lang, str) and lang.strip() else "<span>"
    drafted = f"{span}{left}</span>" if draft else "<i>no draft</i>"
    w = vocab([item.get("task")])  # the item's own workflow's words
    return (
        f"<div class='example'><h4>{esc(head)}</h4>"
        f"<div class='q'><b>{esc(w['item'].capitalize())}:</b> {span}{esc(item['input'])}</span></div>"
        f"<div><b>Draft ({esc(candidate_names(run)[r['candidate']])})</b> &mdash; <del>struck through</del>: what the "
        "reviewer removes\n"
        f"{drafted}</div>"
        f"<div><b>{esc(w['reference'].capitalize())}</b> &mdash; <ins>underlined</ins>: what the "
        "draft lacked\n"
        f"{span}{right}</span></div></div>"
    )


def examples(
    run: RunData, candidate: str | None = None, n: int = MAX_EXAMPLES, dec: Decision | None = None
) -> Any:
    """Best, worst and most edited drafts of a candidate, beside the approved answer."""
    from IPython.display import HTML

    cand = candidate or _focus_candidate(run, dec)
    words = run_vocab(run)
    wide = run.wide_scores()
    key = next(
        (m for m in ("word_similarity", "char_similarity", "required_facts_coverage") if m in wide),
        None,
    )
    w = wide[wide["candidate"] == cand]
    if key is None or w.dropna(subset=[key]).empty:
        return HTML(STYLE + f"<p>No scored drafts for {esc(candidate_names(run)[cand])}.</p>")
    w = w.dropna(subset=[key]).sort_values(key, kind="stable")
    gens = run.generations.set_index("key")
    groups = [
        (f"Closest to the {words['reference']}", w.tail(n).iloc[::-1]),
        (f"Furthest from the {words['reference']}", w.head(n)),
    ]
    if "review_minutes" in w:
        groups.append(
            (
                "Most editing needed",
                w.sort_values("review_minutes", kind="stable").tail(n).iloc[::-1],
            )
        )
    parts = [STYLE, reword(LEGEND, words)]
    for label, rows in groups:
        parts.append(f"<h3>{esc(label)} ({esc(candidate_names(run)[cand])})</h3>")
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
    words = run_vocab(run)
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
    if "escalation_ok" in w:  # the ones answered instead of handed to a person first
        w = w.sort_values("escalation_ok", kind="stable", na_position="last")
    listing = pd.DataFrame(
        {
            "question": [  # the family's words, never an id alone
                textwrap.shorten(str(items.loc[i]["input"]), 80, placeholder=" …")
                for i in w["item_id"]
            ],
            "why it is sensitive": [
                str(items.loc[i].get("sensitive_reason") or "sensitive") for i in w["item_id"]
            ],
            "the draft": [
                "handed to a person"
                if v >= 0.5
                else "answered instead of escalated"
                if not pd.isna(v)
                else "not checked"
                for v in (w["escalation_ok"] if "escalation_ok" in w else [np.nan] * len(w))
            ],
        }
    )
    parts = [
        STYLE,
        table_html(
            listing,
            reword(f"All {len(w)} sensitive questions in this run, worst handled first.", words),
        ).data,
        reword(LEGEND, words),
        f"<p class='caption'>The {min(limit, len(w))} handled worst, in full:</p>",
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


def methodology(run: RunData | None = None) -> Any:
    """How the numbers are made, and what they cannot tell, in plain words (with ``run``: the
    minutes' rates this run used, and the run's identifiers)."""
    from IPython.display import HTML

    from harness.store.pilotlog import NO_ENTRIES, none_for_workflow, run_pilot_log

    # the effort model fits its rates to the dataset's whole log (scorers.edit.fitted_rates);
    # the gates trust them for this run's workflows only when its own entries are fitted too
    own = run_pilot_log(run) if run is not None else None
    rates = (
        "This run's rates are planning rates (rubrics/effort.yaml) that no pilot log has "
        "checked yet, so a gate on minutes is advisory until a pilot measures real minutes."
    )
    if run is not None and minutes_are_fitted(run.dataset.pilot_log):
        rates = (
            "This run's rates were fitted to the district's own pilot log (measured minutes), "
            "so the estimates follow what staff really spent."
            if not none_for_workflow(own)
            else "This run's rates were fitted to the district's pilot log of other workflows; "
            f"there are {NO_ENTRIES}, so a gate on minutes is advisory until a pilot of this "
            "workflow measures real minutes."
        )
    details = run_details(run).data if run is not None else ""
    words = run_vocab(run) if run is not None else vocab(None)
    return HTML(STYLE + reword(_METHOD.format(rates=rates), words) + details)


_METHOD = """<ul>
<li><b>What was compared</b>: every candidate drafted a reply to the same questions the district
has already answered. Each draft is compared with the answer the district actually approved.
The baselines are what staff have today: a canned reply, the best-matching approved text, and
the staff's own first draft. The approved answer itself is scored too, as the ceiling: a measure
on which even the approved answers fall short measures the data, not the AI, and its gate is
reported "not reachable with this data".</li>
<li><b>Closeness to the approved answer</b>: 1 minus the edit distance between a draft and the
approved answer, counted in words (or characters) and divided by the longer text.
1 means identical; 0 means nothing in common.</li>
<li><b>Facts covered, invented and outdated</b>: each question lists the facts a correct answer
must carry (a fee, a phone number, a date). A fact counts as invented when neither the approved
sources, the question nor the district directory contain it, and as outdated when only a
superseded policy contains it. A person's name counts as supported only when the question or
its own sources contain it.</li>
<li><b>Minutes to review and fix</b>: an estimate, not a measurement: time to read the draft,
check its facts and type the changes. <b>Minutes saved</b> = minutes to write the approved answer
from scratch minus minutes to review and fix the draft. Every word a reviewer must type costs the
same as on a blank page, so a draft that must be rewritten saves about nothing, and reading and
deleting it first makes the number slightly negative: negative means the draft cost time.
{rates}</li>
<li><b>Intervals</b>: the range in brackets is a 95% bootstrap interval over questions (2,000
resamples, fixed seed, so the report is the same every time it is made). A wide interval means
thin evidence. A gate passes only when its whole interval clears the bar.</li>
<li><b>Paired comparisons</b>: an AI candidate and a baseline are compared question by question on
the questions both answered. "How much better the AI is" is positive when the AI did better,
whichever way the measure runs. A difference counts only when both the interval and the
Wilcoxon signed-rank test, corrected (Holm) for making many comparisons at once, agree; when only
the interval does, the verdict says "could be chance".</li>
<li><b>Failed drafts</b> (the model could not be reached after retries) are listed and left out
of the averages, never counted as zero.</li>
<li><b>Analysts' detail</b> lives in the analysts' reports made from the same run, not in this
one: every measure of every candidate with its interval and each draft's scores are in the
explore report, and the judge's full calibration tables (which score it gave to drafts of each
human score) are in the judge calibration report.</li>
</ul>
<p><b>Limitations.</b> The questions are ones the district already answered; new kinds of
questions may go worse. Closeness to the approved answer rewards copying its wording, so a correct
answer worded differently scores lower. Automatic fact checks catch dates, amounts, phone numbers
and named programs, not every kind of error. An AI judge is trusted only after it agrees with human
raters. Nothing here replaces staff review during the pilot.</p>"""


def run_details(run: RunData) -> Any:
    """The run's identifiers for the methodology appendix: run id, fingerprints, seeds."""
    from IPython.display import HTML

    m, shown = run.manifest, candidate_names(run)
    rows = [
        ("run", f"{run.run_id}, started {m.get('started_at')}"),
        ("plan", f"{m['plan_name']} (fingerprint {m['plan_fingerprint'][:12]})"),
        ("dataset", f"{m['dataset']['name']} (fingerprint {m['dataset']['fingerprint'][:12]})"),
        (
            "models",
            "; ".join(  # the plan's name once, beside the name the report uses
                f"{shown[k]} ({k}): {v}" if k in shown else f"{k}: {v}"
                for k, v in (m.get("audit") or {}).get("models", {}).items()
            ),
        ),
        ("endpoints contacted", ", ".join(m.get("endpoints") or []) or "none"),
        ("harness", str((m.get("versions") or {}).get("harness"))),
        ("git commit", str((m.get("git") or {}).get("commit"))),
    ]
    body = "".join(f"<tr><th scope='row'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return HTML(
        STYLE + "<table class='harness-table'><caption>Run details</caption>"
        f"<tbody>{body}</tbody></table>"
    )
