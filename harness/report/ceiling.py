"""The appendix section on context and the ceiling: which material the drafts were written
from, and how much of what the approved answers state that material holds."""

from __future__ import annotations

import re
from typing import Any

from harness.report.format import STYLE, esc, frame_table
from harness.report.glossary import candidate_names, category_name
from harness.report.vocab import reword, run_vocab
from harness.store.runs import RunData

CONTEXT_WORDS = {
    "retrieved": "the passages the district's knowledge base finds for each question "
    "(retrieved; never the question's own approved answer)",
    "linked": "the approved sources hand-linked to each question (linked)",
}


def context_line(candidate: dict[str, Any], words: dict[str, str] | None = None) -> str:
    """What a candidate's drafts were written from, in plain words ('' when nothing), in the
    run's ``words`` (:mod:`harness.report.vocab`; default: FAQ replies')."""
    ctx = candidate.get("context")
    return (
        reword(f"Written from {CONTEXT_WORDS[ctx]}.", words or {}) if ctx in CONTEXT_WORDS else ""
    )


def ceiling_section(run: RunData) -> Any:
    """Per category: the share of the approved answers' facts found in the retrieved passages
    and anywhere in the current documents, recall@5 of linked sources, and the plain note."""
    from IPython.display import HTML

    from harness.scorers.ceiling import ceiling, ceiling_by_category, ceiling_note

    w = run_vocab(run)  # the run's words: a summary run's ceiling speaks of approved summaries
    ds = run.dataset
    items = ds.items.loc[[i for i in run.manifest["selection"]["item_ids"] if i in ds.items.index]]
    cache = run.store.path.parent / ".cache" / "knowledge"
    by = ceiling_by_category(ceiling(ds, items, cache_dir=cache))
    view = by.rename(
        columns={
            "items": w["items"],
            "facts": "facts stated",
            "fact_ceiling": "share in the retrieved passages",
            "material_share": "share anywhere in the documents",
            "recall_at_k": "linked sources among the top 5 documents",
        }
    ).reset_index()
    first = view.columns[0]  # the categories, in the glossary's plain words
    view[first] = [c if c == "all" else category_name(c) for c in view[first]]
    shown = candidate_names(run)
    lines = [
        f"<li><b>{esc(shown[c['name']])}</b>: {esc(context_line(c, w))}</li>"
        for c in run.manifest["candidates"]
        if context_line(c)
    ]
    head = f"<ul class='compared'>{''.join(lines)}</ul>" if lines else ""
    for col in view.columns[3:]:
        view[col] = view[col].map(lambda v: "" if v != v else f"{v:.0%}")
    view[w["items"]] = view[w["items"]].astype(int)
    view["facts stated"] = view["facts stated"].astype(int)
    table = frame_table(
        view,
        reword(
            "Facts stated: dates, times, amounts, contacts, named programs and places in the "
            "approved answers. Shares of those facts; the last column is the mean share of each "
            "question's linked sources (empty without links).",
            w,
        ),
    )
    said = reword(ceiling_note(by), w)
    for cat in sorted(map(str, by.index), key=len, reverse=True):
        said = re.sub(rf"(?<![\w-]){re.escape(cat)}(?![\w-])", category_name(cat), said)
    return HTML(STYLE + head + f"<p>{esc(said)}</p>" + table)
