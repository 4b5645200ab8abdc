"""Importing again after the district edits its export: a merge with a printed difference."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from harness.cli.commands import main
from harness.data.dataset import load_dataset
from harness.importers import DatasetImportError, import_export, suggestion_counts
from harness.importers.ids import item_id

from .makedocs import FAQ_ROWS, make_export, make_pdf


def _csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "answer", "category"])
        w.writerows(rows)
    return path


def _items(folder: Path) -> dict[str, dict]:
    recs = [json.loads(x) for x in (folder / "items.jsonl").read_text().splitlines()]
    return {r["id"]: r for r in recs}


def _review_everything(tmp_path: Path, out: Path) -> None:
    """A person accepts every suggestion, and edits the first fact of the first item."""
    assert main(["suggestions", "export", str(out), str(tmp_path / "s.csv")]) == 0
    sheet = pd.read_csv(tmp_path / "s.csv", keep_default_na=False).assign(accept="yes")
    sheet.loc[0, "accepted_text"] = sheet.loc[0, "suggestion"] + " (edited)"
    sheet.to_csv(tmp_path / "s.csv", index=False)
    assert main(["suggestions", "accept", str(out), str(tmp_path / "s.csv")]) == 0


# what the district does to its export between the two imports
CHANGED_ANSWER = "Lunch costs $3.50 at elementary schools and $4.00 at middle and high schools."
EDITS = {
    "unchanged": lambda rows: rows,
    "reordered and re-spaced": lambda rows: [(q, "  " + a.replace(" ", "  "), c)
                                             for q, a, c in rows[::-1]],
    "one answer changed, one removed, one added": lambda rows: (
        [rows[0], rows[1], (rows[2][0], CHANGED_ANSWER, rows[2][2]), *rows[4:],
         ("Is there a school on Monday?", "No: Monday, October 13, 2025 is a holiday.",
          "Calendar")]
    ),
}  # fmt: skip


@pytest.mark.parametrize("edit", list(EDITS))
def test_reimport_keeps_the_reviews_of_unchanged_items_and_prints_the_difference(
    tmp_path, capsys, edit
):
    rows = list(FAQ_ROWS)
    out = tmp_path / "ds"
    assert main(["import", str(_csv(tmp_path / "a.csv", rows)), str(out)]) == 0
    _review_everything(tmp_path, out)
    before = _items(out)
    accepted = suggestion_counts(list(before.values()))["accepted"]
    assert accepted["required_facts"] > 10 and accepted["sensitive"] == 2
    capsys.readouterr()

    new_rows = EDITS[edit](rows)
    assert main(["import", str(_csv(tmp_path / "b.csv", new_rows)), str(out)]) == 0
    printed = capsys.readouterr().out
    after = _items(out)
    changed_id, removed_id = item_id(rows[2][0]), item_id(rows[3][0])
    for iid, rec in after.items():
        old = before.get(iid)
        if old is None or " ".join(old["reference"].split()) != " ".join(rec["reference"].split()):
            assert "accepted_required_facts" not in rec and "required_facts" not in rec
            continue
        for key in ("required_facts", "accepted_required_facts", "sensitive",
                    "sensitive_reason", "suggested_sensitive_review"):  # fmt: skip
            assert rec.get(key) == old.get(key), (iid, key)
    first = before[item_id(rows[0][0])]
    assert any(f.endswith("(edited)") for f in after[first["id"]]["required_facts"])
    load_dataset(out)
    if edit == "one answer changed, one removed, one added":
        assert "re-import: 1 added, 1 changed, 1 removed, 6 unchanged" in printed
        assert f"changed {changed_id} (reference)" in printed
        assert "answer changed: its fact suggestions are pending again" in printed
        assert f"removed {removed_id}" in printed and "added q-" in printed
        assert removed_id not in after
        pending = suggestion_counts(list(after.values()))["pending"]["required_facts"]
        assert pending == len(after[changed_id]["suggested_required_facts"]) + len(
            after[item_id("Is there a school on Monday?")]["suggested_required_facts"]
        )
    else:
        assert f"0 added, 0 changed, 0 removed, {len(rows)} unchanged" in printed
        assert suggestion_counts(list(after.values()))["accepted"].equals(accepted)
    readme = (out / "README.md").read_text()
    assert "re-import:" in readme


def test_a_column_of_the_export_wins_over_an_earlier_review(tmp_path, capsys):
    out = tmp_path / "ds"
    src = _csv(tmp_path / "a.csv", list(FAQ_ROWS))
    assert main(["import", str(src), str(out)]) == 0
    _review_everything(tmp_path, out)
    with (tmp_path / "b.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "answer", "category", "required facts", "sensitive"])
        w.writerows([(q, a, c, "from the export", "no") for q, a, c in FAQ_ROWS])
    assert main(["import", str(tmp_path / "b.csv"), str(out)]) == 0
    assert "the export's required facts replace the reviewed ones" in capsys.readouterr().out
    for rec in _items(out).values():
        assert rec["required_facts"] == ["from the export"] and rec["sensitive"] is False


def test_a_broken_earlier_items_file_stops_the_reimport_naming_the_line(tmp_path, capsys):
    out = tmp_path / "ds"
    src = _csv(tmp_path / "a.csv", list(FAQ_ROWS))
    import_export(src, out)
    lines = (out / "items.jsonl").read_text().splitlines()
    lines[2] = lines[2][:-1] + ', "id": "again"}'
    (out / "items.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["import", str(src), str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'items.jsonl'} line 3: field 'id' appears twice" in err
    assert "Traceback" not in err
    assert main(["suggestions", "export", str(out), str(tmp_path / "s.csv")]) == 2
    assert "items.jsonl line 3: field 'id' appears twice" in capsys.readouterr().err
    with pytest.raises(DatasetImportError, match="line 3"):
        import_export(src, out)


def test_reimported_sources_mirror_the_folder_and_say_what_went(tmp_path, capsys):
    src, policies = make_export(tmp_path / "d")
    out = tmp_path / "ds"
    assert main(["import", str(src), str(out), "--sources", str(policies)]) == 0
    (out / "sources" / "board-notes.md").write_text("# Board notes\n\nWritten by hand.\n")
    capsys.readouterr()
    # the district removes the HTML page, rewrites the PDF and breaks the DOCX
    (policies / "attendance.html").unlink()
    make_pdf(policies / "Bus Pass Policy 2025-26.pdf", ["Bus Pass Policy", "Now $160."])
    (policies / "Nutrition Handbook.docx").write_bytes(b"not a zip")
    assert main(["import-sources", str(policies), str(out)]) == 0
    printed = capsys.readouterr().out
    left = sorted(p.stem for p in (out / "sources").glob("*.md"))
    assert left == ["board-notes", "bus-pass-policy-2025-26", "nutrition-handbook"]
    assert "1 sources written" in printed and "(1 changed)" in printed
    assert "removed sources/attendance.md (attendance.html): its file is no longer" in printed
    assert "skipped Nutrition Handbook.docx: cannot be read as DOCX" in printed
    assert "sources/nutrition-handbook.md from an earlier import is kept" in printed
    assert main(["import-sources", str(policies), str(out)]) == 0
    assert "(1 unchanged)" in capsys.readouterr().out
