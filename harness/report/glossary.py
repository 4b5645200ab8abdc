"""Plain names for every id a leader could meet: metrics, candidates, categories and phases.

One entry per id (display name, unit, one-line meaning). The report's first pages and tables
read names from here (:func:`display`), and the glossary appendix lists the entries of the
run (:func:`glossary`), so a rendered name always equals its entry; an id with no entry
raises :class:`KeyError` in :func:`entry` (a test renders every id of the demo run).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.metrics import metric_def
from harness.phases import PHASE_QUESTIONS
from harness.plan.spec import REFERENCE
from harness.store.runs import RunData

COLUMNS = ["kind", "id", "name", "unit", "meaning"]

BASELINE_NAMES = {
    "template": ("Canned reply", "the holding reply the district sends today"),
    "retrieval": (
        "Best-matching approved text",
        "the approved source passage that best matches the question, sent as it is",
    ),
    "staff_first_draft": (
        "Staff's first draft",
        "the staff member's own first draft, before approval edits",
    ),
}
# Model strings a district may meet, in plain words (anything else: "<model> (AI model)").
MODEL_NAMES = {"local/smollm2": "SmolLM2"}
MODEL_MEANINGS = {"local/smollm2": "a very small AI model run on this computer"}
PHASE_NAMES = {
    "pre_pilot": "Before the pilot",
    "post_pilot": "After the pilot",
    "pre_expansion": "Before expansion",
}


def model_name(model: str | None) -> str:
    """A model string in plain words: 'SmolLM2, a very small AI model ...', 'gpt-4o (AI model
    from openai)'."""
    if not model:
        return "an AI model"
    if model in MODEL_NAMES:
        return MODEL_NAMES[model]
    provider, _, name = str(model).partition("/")
    return f"{name} (AI model from {provider})" if name else f"{model} (AI model)"


def category_name(category: str) -> str:
    """'special_education' -> 'Special education'."""
    words = str(category).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def _candidate(run: RunData, name: str) -> tuple[str, str, str]:
    spec = next((c for c in run.manifest.get("candidates", []) if c["name"] == name), None)
    if name == REFERENCE or (spec and spec.get("kind") == "reference"):
        from harness.report.vocab import run_vocab

        ref = run_vocab(run)["reference"]  # "approved answer", "approved summary", ...
        return ref.capitalize(), "", f"the district's own {ref}: the ceiling"
    if spec is None:
        raise KeyError(f"no glossary entry for candidate '{name}': it is not in the run")
    if spec.get("kind") == "baseline":
        shown, meaning = BASELINE_NAMES.get(
            str(spec.get("baseline")), (category_name(name), str(spec.get("description") or ""))
        )
        if str(spec.get("baseline")) in BASELINE_NAMES:  # the harness's words: the run's
            from harness.report.vocab import reword, run_vocab

            shown, meaning = reword(shown, run_vocab(run)), reword(meaning, run_vocab(run))
        return shown, "", f"today's alternative: {meaning}"
    model = str(spec.get("model") or "")
    what = MODEL_MEANINGS.get(model) or f"drafts by {model_name(model)}"
    short = MODEL_NAMES.get(model) or model.partition("/")[2] or model or name  # "AI: gpt-4o"
    return f"AI: {short}", "", f"{what} (plan name {name})"


def entry(kind: str, ident: str, run: RunData | None = None) -> dict[str, str]:
    """The glossary entry of one id; KeyError when it has none."""
    if kind == "metric":
        d = metric_def(ident)
        if d.label == ident:
            raise KeyError(f"no glossary entry for metric '{ident}' (add it to harness.metrics)")
        from harness.scorers import metrics as registered

        info = registered().get(ident)
        meaning = d.description or (info.description if info is not None else "")
        meaning = meaning.replace("NaN", "no score")  # a reader meets words, never NaN
        if run is not None:  # the meaning in the run's words (the name is the tables' label)
            from harness.report.vocab import reword, run_vocab

            meaning = reword(meaning, run_vocab(run))
        return _row(kind, ident, d.label, d.unit, meaning)
    if kind == "candidate":
        if run is None:
            raise KeyError("a candidate's entry needs its run")
        shown, unit, meaning = _candidate(run, ident)
        return _row(kind, ident, shown, unit, meaning)
    if kind == "category":
        return _row(kind, ident, category_name(ident), "", "a topic families write about")
    if kind == "phase":
        if ident not in PHASE_QUESTIONS:
            raise KeyError(f"no glossary entry for phase '{ident}'")
        return _row(kind, ident, PHASE_NAMES[ident], "", PHASE_QUESTIONS[ident])
    raise KeyError(f"no glossary kind '{kind}'")


def _row(kind: str, ident: str, name: str, unit: str, meaning: str) -> dict[str, str]:
    return {"kind": kind, "id": ident, "name": name, "unit": unit, "meaning": meaning}


def display(kind: str, ident: str, run: RunData | None = None) -> str:
    """The name a leader reads for an id (the glossary entry's name)."""
    return entry(kind, ident, run)["name"]


def candidate_names(run: RunData) -> dict[str, str]:
    """Every candidate of the run -> the name a leader reads (its glossary entry): the one place
    every table, figure and sentence of a report takes a candidate's name from. Two candidates
    sharing a name (two plans of one model) are numbered in plan order."""
    names = {}
    for c in run.candidate_names():
        try:
            names[c] = display("candidate", c, run)
        except KeyError:
            names[c] = category_name(c)
    shared = {n for n in names.values() if list(names.values()).count(n) > 1}
    seen: dict[str, int] = {}
    for c, n in names.items():
        if n in shared:
            seen[n] = seen.get(n, 0) + 1
            names[c] = f"{n} ({seen[n]})"
    return names


def run_ids(run: RunData, phase: str) -> list[tuple[str, str]]:
    """Every (kind, id) the run's reports can show."""
    out = [("phase", phase)]
    out += [("candidate", str(c)) for c in run.candidate_names()]
    cats = run.dataset.items.reindex(run.scores["item_id"].unique())["category"].dropna()
    out += [("category", str(c)) for c in sorted(set(cats))]
    out += [("metric", str(m)) for m in sorted(run.metric_names())]
    return out


def glossary_entries(run: RunData, phase: str = "pre_pilot") -> pd.DataFrame:
    """The glossary of a run: one row per id it shows (kind, id, name, unit, meaning)."""
    return pd.DataFrame([entry(k, i, run) for k, i in run_ids(run, phase)], columns=COLUMNS)


def glossary_table(run: RunData, phase: str = "pre_pilot") -> Any:
    """The glossary appendix: the plain name of every measure, candidate, category and phase."""
    from harness.report.format import table_html

    g = glossary_entries(run, phase)
    import textwrap

    view = pd.DataFrame(
        {  # the kind needs no column: the phase, then the drafts, then the measures
            "name": g["name"],
            "unit": g["unit"].replace("", "—"),
            # one line each on paper: the meaning's first clause (glossary_entries() has it whole)
            "meaning": [textwrap.shorten(m, 64, placeholder=" …") for m in g["meaning"]],
        }
    )
    view = view[g["kind"] != "category"]  # categories are named in plain words where shown
    return table_html(view, "The names this report uses, with their units and meaning.")


# Dataset fields a gate may need, in the words a leader reads on the first pages.
FIELD_NAMES = {
    "required_facts": "the facts each approved answer must contain",
    "staff_first_draft": "the staff's own first drafts",
    "paraphrase_group": "questions marked as asking the same thing",
    "pilot_log.csv": "a pilot log",
    "ratings.csv": "staff ratings of drafts",
}
# The governance checklist's entries (harness.gates.specs.GOVERNANCE_ENTRIES), in short words.
ENTRY_NAMES = {
    "approval_owner": "owner of approval",
    "approved_sources": "approved sources",
    "human_review": "which drafts a person reviews",
    "when_draft_is_wrong": "what staff do when a draft is wrong",
    "internal_explanation": "how the pilot is explained to staff",
    "pilot_is_not": "what the pilot is not",
    "approved_providers": "approved AI services",
    "ai_disclosure": "telling families AI helped",
    "report_sign_off": "who signs the report",
    "data_flow": "where district data goes",
    "incident_path": "how a wrong reply is reported",
    "staff_training": "staff training",
}


def plain_names(run: RunData) -> dict[str, str]:
    """Every candidate, category and measure id of the run (and the dataset fields a gate may
    need) -> its glossary name."""
    from harness.gates.pilot_log import MEASURES

    out = {**FIELD_NAMES, **ENTRY_NAMES}
    for m in MEASURES:  # the pilot's measured outcomes, as the pilot gates name them
        out[m] = out[f"pilot:{m}"] = "pilot: " + m.replace("_", " ")
    for c in run.manifest.get("candidates", []):
        if c.get("model"):
            out[str(c["model"])] = model_name(c["model"])
    from harness.metrics import METRICS

    known = [("metric", m) for m in METRICS]
    for kind, ident in known + run_ids(run, "pre_pilot"):
        if kind != "phase":
            try:
                out[ident] = display(kind, ident, run)
            except KeyError:
                continue
    out.update(candidate_names(run))  # numbered when two candidates share a name
    return out


def plainly(text: Any, names: dict[str, str]) -> str:
    """``text`` with every id in ``names`` (3 characters or more, whole words) replaced by its
    plain name, so no plan name, category id or measure id reaches the first pages."""
    import re

    out = str(text)
    # an id that is a plain word ('fees', 'retrieval') reads fine and may be part of a title
    keys = [k for k in names if len(k) >= 3 and names[k] != k and re.search(r"[_/.0-9-]", k)]
    keys = sorted(keys, key=len, reverse=True)
    if not keys:
        return out
    pattern = re.compile(r"(?<![\w/-])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w/-])")
    return pattern.sub(lambda m: names[m.group(1)], out)


def without_gate_list(reason: str) -> str:
    """'failed 6 of 8 required gates (A, B (x), C); ...' -> 'failed 6 of 8 required gates; ...':
    the gate table just above names every gate with its verdict."""
    start = reason.find("required gates (")
    if start < 0:
        return reason
    i, depth = start + len("required gates "), 0
    for j in range(i, len(reason)):
        depth += {"(": 1, ")": -1}.get(reason[j], 0)
        if depth == 0:
            return reason[:i].rstrip() + reason[j + 1 :]
    return reason
