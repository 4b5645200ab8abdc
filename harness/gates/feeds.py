"""Warnings about a valid dataset: what it lacks for the evaluation a district wants.

A dataset can pass validation and still be unable to show much: items that cite no source
(a draft's facts are then checked against the approved answer and the message alone),
sources no item cites, sources without a title, and gates in ``rubrics/gates.yaml`` that can
never be checked because no item carries the field that feeds them. ``harness validate`` prints these and exits 0 (``--strict``: 2).
"""

from __future__ import annotations

from pathlib import Path

from harness.data.dataset import Dataset
from harness.errors import Problem

# metric (or metric prefix) -> (what feeds it, the fix); checked per gate in the gates file
_FEEDS: list[tuple[str, str, str]] = [
    (
        "required_facts_coverage",
        "required_facts",
        "add required_facts to items (harness suggestions export / accept proposes them); "
        "without them the approved answers' dates, amounts, phones and names are the facts, "
        "and these answers state none",
    ),
    (
        "escalation_ok",
        "sensitive",
        "mark items that must go to a person sensitive: true with a sensitive_reason "
        "(harness suggestions export / accept proposes them)",
    ),
    (
        "paraphrase_",
        "paraphrase_group",
        "give items that ask the same thing differently one paraphrase_group",
    ),
    (
        "judge_",
        "ratings.csv",
        "add ratings.csv: staff 1-5 ratings of drafts, to calibrate the judge",
    ),
    ("pilot:", "pilot_log.csv", "add pilot_log.csv once the pilot has run"),
]
_BASELINE_FEEDS = {
    "staff_first_draft": (
        "staff_first_draft",
        "add staff_first_draft (the staff's own first draft) to items",
    )
}


def _has(ds: Dataset, what: str) -> bool:
    items = ds.items
    if what == "required_facts":  # hand-written, else the approved answers' checkable facts
        from harness.scorers.accuracy import default_facts

        return bool(items["required_facts"].map(len).gt(0).any()) or any(
            default_facts(r, i) for r, i in zip(items["reference"], items["input"], strict=True)
        )
    if what == "sensitive":
        return bool(items["sensitive"].any())
    if what in ("paraphrase_group", "staff_first_draft"):
        return bool(items[what].notna().any())
    if what == "ratings.csv":
        return ds.ratings is not None and len(ds.ratings) > 0
    if what == "pilot_log.csv":
        return ds.pilot_log is not None and len(ds.pilot_log) > 0
    return True


def _ids(values: list[str], n: int = 8) -> str:
    shown = ", ".join(values[:n])
    return shown + (f" and {len(values) - n} more" if len(values) > n else "")


def gate_warnings(ds: Dataset, gates: str | Path | None = None) -> list[Problem]:
    """Gates of every phase that this dataset can never feed, and the field that would feed them."""
    from harness.gates.decision import load_gates

    gs = load_gates(gates)
    display = str(gs.path or gates or "rubrics/gates.yaml")
    out: list[Problem] = []
    tasks = set(ds.items["task"].astype(str)) if "task" in ds.items else None
    for phase, pg in gs.phases.items():
        blocked: dict[tuple[str, str], list[str]] = {}
        for g in pg.for_tasks(tasks):  # the gates of the workflows the dataset holds
            for prefix, what, fix in _FEEDS:
                if g.metric.startswith(prefix) and not _has(ds, what):
                    blocked.setdefault((what, fix), []).append(
                        g.name + ("" if g.required else " (advisory)")
                    )
            if g.baseline in _BASELINE_FEEDS:
                what, fix = _BASELINE_FEEDS[g.baseline]
                if not _has(ds, what):
                    blocked.setdefault((what, fix), []).append(
                        g.name + ("" if g.required else " (advisory)")
                    )
        for (what, fix), names in blocked.items():
            n_req = sum(not n.endswith("(advisory)") for n in names)
            out.append(
                Problem(
                    display,
                    None,
                    None,
                    f"phase {phase}: {len(names)} gate(s) cannot be checked without {what} "
                    f"({', '.join(names)})" + (f"; {n_req} required" if n_req else ""),
                    fix,
                )
            )
    return out


def dataset_warnings(ds: Dataset, gates: str | Path | None = None) -> list[Problem]:
    """Everything worth fixing in a valid dataset, as Problems (file, field, message, hint).

    Args:
        ds: a loaded dataset.
        gates: the gates file whose phases are checked (default ``rubrics/gates.yaml``);
            an empty string skips the gate check.

    Returns:
        One Problem per kind of finding (lists of ids shortened), in a fixed order.
    """
    root = str(ds.path).rstrip("/")
    items_file = next((f for f in ds.files if f.startswith("items.")), "items.jsonl")
    out: list[Problem] = []
    no_src = ds.items.index[ds.items["source_ids"].map(len) == 0].astype(str).tolist()
    if no_src:
        out.append(
            Problem(
                f"{root}/{items_file}",
                None,
                "source_ids",
                f"{len(no_src)} of {len(ds.items)} items cite no source ({_ids(no_src)})",
                "list the approved sources each answer draws on; without them a draft's dates, "
                "fees and phone numbers are checked against the item's approved answer and "
                "message alone",
            )
        )
    if ds.sources.empty:
        out.append(
            Problem(
                f"{root}/sources",
                None,
                None,
                "holds no source documents",
                "add the approved documents the answers draw on (harness import --sources DIR)",
            )
        )
    cited = {s for ids in ds.items["source_ids"] for s in ids}
    current = ds.sources[ds.sources["status"] == "current"]
    uncited = sorted(str(s) for s in current.index if s not in cited)
    if uncited and not ds.sources.empty:
        out.append(
            Problem(
                f"{root}/sources",
                None,
                None,
                f"{len(uncited)} of {len(current)} current sources are cited by no item "
                f"({_ids(uncited)})",
                "cite them in items' source_ids, or remove the ones no answer uses",
            )
        )
    titled = (
        ds.sources["titled"] if "titled" in ds.sources else ds.sources["title"] != ds.sources.index
    )
    untitled = sorted(str(s) for s, ok in titled.items() if not ok)
    if untitled:
        out.append(
            Problem(
                f"{root}/sources",
                None,
                "title",
                f"{len(untitled)} sources have no title ({_ids(untitled)})",
                "add 'title: ...' front matter; until then prompts show its first heading or line",
            )
        )
    if gates != "":
        out.extend(gate_warnings(ds, gates or None))
    return out
