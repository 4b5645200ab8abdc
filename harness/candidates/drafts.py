"""Drafts made by an external system (a vendor's tool, another team's pipeline) as a candidate.

A plan names the file (``drafts: vendor/drafts.csv``, relative to the plan); the file is CSV,
XLSX, JSON or JSONL with ``item_id`` (or the question, as ``question``/``input``, matched to
the item by its normalised text), ``draft`` and optionally ``sample``. The drafts are scored
exactly like a model's; an item without a draft (or with an empty one) has no output and is
unscored (NaN), never 0.

The runner calls it through the baseline interface (``get_baseline("drafts", ...)``), which
produces one draft per item: sample 0 (or the lowest sample given).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.data.dataset import Dataset
from harness.errors import PlanError, Problem

DraftFn = Callable[[dict[str, Any]], str | None]


def load_drafts(path: str | Path, dataset: Dataset) -> dict[str, dict[int, str]]:
    """The drafts of a file as item id -> sample -> text; every problem listed with its line.

    Args:
        path: the drafts file (.csv, .tsv, .xlsx, .json or .jsonl).
        dataset: the dataset whose item ids (or questions) the drafts must name.

    Raises:
        PlanError: the file is unreadable, lacks ``draft`` or ``item_id``/``question``, names
            an unknown item, gives a bad sample number or repeats an item and sample.
    """
    from harness.importers.ids import normalise_question
    from harness.importers.tables import DatasetImportError, read_table

    p = Path(path)
    try:
        table = read_table(p)
    except DatasetImportError as exc:
        raise PlanError(f"drafts {p}", exc.problems) from None
    cols = set(table.columns)
    key = (
        "item_id"
        if "item_id" in cols
        else next((c for c in ("question", "input") if c in cols), None)
    )
    if "draft" not in cols or key is None:
        raise PlanError(
            f"drafts {p}",
            [
                Problem(
                    str(p),
                    1,
                    None,
                    f"has columns {', '.join(table.columns)}",
                    "a drafts file needs 'item_id' (or 'question') and 'draft', optionally 'sample'",
                )
            ],
        )
    by_question = (
        {normalise_question(str(q)): str(i) for i, q in dataset.items["input"].items()}
        if key != "item_id"
        else {}
    )
    out: dict[str, dict[int, str]] = {}
    seen: dict[tuple[str, int], int] = {}
    problems: list[Problem] = []
    for row, line in zip(table.rows, table.line_numbers, strict=True):

        def bad(fld: str, msg: str, hint: str, _line: int = line) -> None:
            problems.append(Problem(str(p), _line, fld, msg, hint, table.kind))

        raw = row.get(key, "")
        item = raw if key == "item_id" else by_question.get(normalise_question(raw), "")
        if not item or item not in dataset.items.index:
            bad(key, f"'{raw[:60]}' matches no item of the dataset", "use the ids of items.jsonl")
            continue
        s = row.get("sample", "") or "0"
        if not s.isdigit():
            bad("sample", f"'{s}' is not a sample number", "write 0, 1, 2, ... (or leave it out)")
            continue
        if (item, int(s)) in seen:
            bad(
                "draft",
                f"repeats item '{item}' sample {s} (first on {table.kind} {seen[item, int(s)]})",
                "give each item and sample one draft",
            )
            continue
        seen[item, int(s)] = line
        text = row.get("draft", "").strip()
        if text:
            out.setdefault(item, {})[int(s)] = text
    if problems:
        raise PlanError(f"drafts {p}", problems)
    return out


def drafts_baseline(dataset: Dataset, options: dict[str, Any], folder: Path) -> DraftFn:
    """The external system's draft of each item (sample 0, or its lowest); None when it has none."""
    if not options.get("path"):
        raise PlanError(
            "drafts candidate",
            [Problem("plan", None, "drafts", "is missing", "name the drafts file: drafts: FILE")],
        )
    p = Path(str(options["path"]))
    drafts = load_drafts(p if p.is_absolute() else folder / p, dataset)

    def generate(item: dict[str, Any]) -> str | None:
        samples = drafts.get(str(item["id"]))
        return samples[min(samples)] if samples else None

    return generate
