from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.cli.commands import main
from harness.data.dataset import load_dataset
from harness.gates.feeds import dataset_warnings
from harness.importers import DatasetImportError, import_export, infer_mapping
from harness.importers.ids import item_id, normalise_question

from .makedocs import FAQ_ROWS, make_export


def _write_csv(path: Path, header: list[str], rows: list[tuple[str, ...]], **kw: object) -> Path:
    enc = str(kw.pop("encoding", "utf-8"))
    with path.open("w", encoding=enc, newline="") as fh:
        w = csv.writer(fh, **kw)  # type: ignore[arg-type]
        w.writerow(header)
        w.writerows(rows)
    return path


def _items(folder: Path) -> list[dict]:
    return [json.loads(x) for x in (folder / "items.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["question", "answer", "category"],
         {"input": "question", "reference": "answer", "category": "category"}),
        (["Message", "Reply", "Topic", "Date", "Language", "Channel", "School"],
         {"input": "Message", "reference": "Reply", "category": "Topic", "date": "Date",
          "language": "Language", "channel": "Channel", "school": "School"}),
        (["body", "response"], {"input": "body", "reference": "response"}),
        (["Parent's Question (text)", "Approved Answer", "Ticket ID"],
         {"input": "Parent's Question (text)", "reference": "Approved Answer",
          "export_id": "Ticket ID"}),
        (["input", "reference", "source_ids"],
         {"input": "input", "reference": "reference", "source_ids": "source_ids"}),
    ],
)  # fmt: skip
def test_mapping_is_inferred_from_common_names(headers, expected):
    assert infer_mapping(headers) == expected


def test_plain_export_imports_and_validates_without_hand_edits(tmp_path, capsys):
    src, policies = make_export(tmp_path / "district")
    out = tmp_path / "dataset"
    assert main(["import", str(src), str(out), "--sources", str(policies)]) == 0
    printed = capsys.readouterr().out
    assert "input" in printed and "question" in printed  # the mapping is printed
    assert main(["validate", str(out)]) == 0
    ds = load_dataset(out)
    assert len(ds.items) == len(FAQ_ROWS)
    assert set(ds.items["task"]) == {"faq_reply"}
    assert set(ds.items["category"]) == {r[2] for r in FAQ_ROWS}
    assert len(ds.sources) == 3
    assert all(ds.sources["title"] != ds.sources.index)  # titles came from the documents
    readme = (out / "README.md").read_text()
    assert "faq_export.csv" in readme and "SHA-256" in readme


def test_semicolon_cp1252_export_is_sniffed(tmp_path):
    src = _write_csv(
        tmp_path / "export.csv",
        ["Question", "Réponse", "Catégorie"],
        [("Où est l’école?", "L’école est au 12 rue Main; appelez 555-0100.", "général")],
        delimiter=";",
        encoding="cp1252",
    )
    res = import_export(src, tmp_path / "ds", mapping={"reference": "Réponse"})
    assert res.delimiter == ";" and res.encoding.lower() not in ("utf-8", "utf-8-sig")
    (rec,) = _items(tmp_path / "ds")
    assert rec["input"] == "Où est l’école?"
    assert rec["reference"].startswith("L’école est au 12 rue Main; appelez")
    assert rec["category"] == "general" and rec["categorie"] == "général"  # kept as metadata


@pytest.mark.parametrize("kind", ["json", "jsonl", "xlsx"])
def test_json_jsonl_and_xlsx_exports(tmp_path, kind):
    rows = [{"message": q, "reply": a, "topic": c, "school": "Lincoln"} for q, a, c in FAQ_ROWS]
    src = tmp_path / f"export.{kind}"
    if kind == "json":
        src.write_text(json.dumps({"records": rows}), encoding="utf-8")
    elif kind == "jsonl":
        src.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    else:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(list(rows[0]))
        for r in rows:
            ws.append(list(r.values()))
        wb.save(src)
    import_export(src, tmp_path / "ds")
    recs = _items(tmp_path / "ds")
    assert [r["input"] for r in recs] == [q for q, _, _ in FAQ_ROWS]
    assert {r["school"] for r in recs} == {"Lincoln"}
    load_dataset(tmp_path / "ds")


def test_ids_are_stable_across_reimports_and_reordering(tmp_path):
    rows = list(FAQ_ROWS)
    a = _write_csv(tmp_path / "a.csv", ["question", "answer", "category"], rows)
    b = _write_csv(tmp_path / "b.csv", ["question", "answer", "category"], rows[::-1])
    import_export(a, tmp_path / "ds")
    first = {r["input"]: r["id"] for r in _items(tmp_path / "ds")}
    import_export(b, tmp_path / "ds")  # re-import into the same folder is allowed
    second = {r["input"]: r["id"] for r in _items(tmp_path / "ds")}
    assert first == second
    assert len(set(first.values())) == len(rows)


def test_repeated_questions_get_distinct_ids(tmp_path):
    q = "When does school start?"
    src = _write_csv(
        tmp_path / "a.csv",
        ["question", "answer"],
        [(q, "At 8:15 a.m."), (q.upper(), "At 8:15 a.m. for elementary."), (q, "At 8:15 a.m.")],
    )
    res = import_export(src, tmp_path / "ds")
    ids = [r["id"] for r in _items(tmp_path / "ds")]
    assert len(set(ids)) == 3 and ids[0] == item_id(q) and res.repeats == 2
    load_dataset(tmp_path / "ds")


def test_map_override_and_blank_rows(tmp_path):
    src = _write_csv(
        tmp_path / "a.csv",
        ["Subject", "Parent message", "Staff reply", "Received"],
        [("Bus", "Where is bus 4?", "Bus 4 is late today.", "9/3/2025"),
         ("Bus", "", "orphan answer", "9/4/2025"),
         ("Lunch", "Lunch price?", "It is $3.25.", "not a date")],
    )  # fmt: skip
    res = import_export(
        src, tmp_path / "ds", mapping={"input": "Parent message", "category": "Subject"}
    )
    recs = _items(tmp_path / "ds")
    assert [r["category"] for r in recs] == ["Bus", "Lunch"]
    assert recs[0]["date"] == "2025-09-03" and recs[1]["date_raw"] == "not a date"
    assert res.skipped.to_dict("records") == [{"line": 3, "missing": "question"}]
    load_dataset(tmp_path / "ds")


@pytest.mark.parametrize(
    ("header", "mapping", "needle"),
    [
        (["foo", "bar"], None, "no column looks like 'input'"),
        (["question", "answer"], {"category": "Topic"}, "the export has no column 'Topic'"),
        (["question", "answer"], {"colour": "question"}, "'colour' is not a dataset field"),
    ],
)
def test_bad_mapping_names_the_file_and_the_columns(tmp_path, header, mapping, needle):
    src = _write_csv(tmp_path / "a.csv", header, [("x", "y")])
    with pytest.raises(DatasetImportError) as err:
        import_export(src, tmp_path / "ds", mapping=mapping)
    assert needle in str(err.value) and str(src) in str(err.value)


def test_refuses_to_overwrite_a_dataset_it_did_not_write(tmp_path, mini_copy):
    src = _write_csv(tmp_path / "a.csv", ["question", "answer"], [("q?", "a.")])
    before = (mini_copy / "items.jsonl").read_bytes()
    with pytest.raises(DatasetImportError, match="did not write"):
        import_export(src, mini_copy)
    assert (mini_copy / "items.jsonl").read_bytes() == before


def test_reimport_keeps_the_districts_own_readme_text(tmp_path):
    src = _write_csv(tmp_path / "a.csv", ["question", "answer"], [("q?", "a.")])
    out = tmp_path / "ds"
    import_export(src, out)
    readme = out / "README.md"
    readme.write_text("# Our FAQ\n\nLicence: CC-BY.\n\n" + readme.read_text().split("\n\n", 2)[2])
    import_export(src, out)
    text = readme.read_text()
    assert text.startswith("# Our FAQ\n\nLicence: CC-BY.") and text.count("Provenance") == 1


@given(st.text(min_size=1, max_size=60), st.sampled_from(["  ", "?", "!", "\t", " ..."]))
def test_id_ignores_case_spacing_and_punctuation(text, extra):
    variant = f" {text.upper()}{extra}"
    if normalise_question(variant) == normalise_question(text):
        assert item_id(variant) == item_id(text)
    assert item_id(text) == item_id(text)


def test_export_source_column_links_items_to_imported_policies(tmp_path):
    _, policies = make_export(tmp_path / "d")
    src = _write_csv(
        tmp_path / "a.csv",
        ["question", "answer", "category", "sources"],
        [(q, a, c, "Bus Pass Policy 2025-26.pdf" if c == "Transportation" else "")
         for q, a, c in FAQ_ROWS],
    )  # fmt: skip
    out = tmp_path / "ds"
    import_export(src, out, sources=policies)
    ds = load_dataset(out)
    cited = ds.items.loc[ds.items["category"] == "Transportation", "source_ids"].tolist()
    assert cited == [["bus-pass-policy-2025-26"]] * 2


def test_imported_district_runs_and_the_decision_is_coherent(tmp_path, results):
    """Import, accept every suggestion, run baselines and a vendor's drafts, decide pre_pilot."""
    import yaml

    from harness.gates.decision import decide
    from harness.importers import accept_suggestions, export_suggestions
    from harness.report import load_run
    from harness.run.runner import RunOptions, run_plan
    from harness.scorers.scoring import score_run

    src, policies = make_export(tmp_path / "d")
    out = tmp_path / "ds"
    import_export(src, out, sources=policies)
    # every fact and sensitive flag accepted; the source links the import now proposes (issue
    # 22) are left pending, so this district still cites no source, as the checks below expect
    sheet = export_suggestions(out, tmp_path / "s.csv")
    sheet["accept"] = sheet["kind"].ne("source_link").map({True: "yes", False: ""})
    sheet.to_csv(tmp_path / "s.csv", index=False)
    accept_suggestions(out, tmp_path / "s.csv")
    ds = load_dataset(out)
    assert ds.items["required_facts"].map(len).gt(0).mean() > 0.7
    assert ds.items["sensitive"].sum() == 2  # the threat and the suspension
    # the vendor answered every question with the approved text, except one it skipped
    drafts = ds.items[["id", "reference"]].rename(columns={"id": "item_id", "reference": "draft"})
    drafts.iloc[1:].to_csv(tmp_path / "vendor.csv", index=False)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        yaml.safe_dump(
            {
                "name": "imported",
                "dataset": str(out),
                "tasks": ["faq_reply"],
                "candidates": [
                    {"name": "canned", "baseline": "template"},
                    {"name": "retrieval", "baseline": "retrieval"},
                    {"name": "vendor", "drafts": "vendor.csv"},
                ],
                "scorers": ["edit", "required_facts", "claims", "escalation"],
            }
        )
    )
    store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
    score_run(store)
    gens = store.generations()
    assert (gens[gens["candidate"] == "vendor"]["status"] == "no_output").sum() == 1
    d = decide(load_run(store.run_id, results), "pre_pilot")
    gates = d.all_gates.set_index("gate")
    assert set(d.all_gates["candidate"]) == {"vendor"}
    # fed by the accepted suggestions; the skipped question counts against the vendor, and 8
    # questions are fewer than the decision's one minimum n (10): not enough evidence either way
    facts = gates.loc["facts-covered"]
    assert facts["status"] == "not evaluated" and facts["n"] == 7
    assert "vendor has no draft for 1 of the 7 questions" in facts["evidence"]
    assert "not enough evidence" in facts["evidence"] and "at least 10" in facts["needs"]
    assert gates.loc["less-editing-than-canned", "status"] == "not evaluated"
    # no item cites a source (validate warns), yet the approved answers' own fees and phone
    # numbers are support for their question (issue 22): the gate is reachable, and the vendor's
    # 7 questions are fewer than the decision's one minimum n
    assert gates.loc["no-invented-facts", "status"] == "not evaluated"
    assert gates.loc["no-invented-facts", "reachable"]
    assert "not enough evidence" in gates.loc["no-invented-facts", "evidence"]
    assert any("items cite no source" in str(w) for w in dataset_warnings(ds))
    assert d.verdict == "Not ready"
