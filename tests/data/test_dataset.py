from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness.cli.commands import main
from harness.data.dataset import load_dataset
from harness.errors import DatasetError
from tests.conftest import SAMPLE


def test_sample_dataset_meets_its_contract():
    ds = load_dataset(SAMPLE)
    items = ds.items
    faq = items[items["task"] == "faq_reply"]
    assert len(items) >= 120 and len(faq) >= 80
    assert faq["category"].nunique() >= 8
    assert (items["task"] == "inbound_summary").sum() >= 15
    assert (items["task"] == "newsletter").sum() >= 10
    assert (ds.sources["status"] == "current").sum() >= 20
    groups = items["paraphrase_group"].dropna().value_counts()
    assert (groups >= 3).sum() >= 15
    assert all(len(f) > 0 for f in faq["required_facts"])
    assert items["staff_first_draft"].notna().sum() >= 30
    assert ds.ratings is not None and len(ds.ratings) >= 60
    assert ds.pilot_log is not None and len(ds.pilot_log) >= 40
    assert (ds.sources["status"] == "superseded").sum() >= 2
    # required facts are copied from the approved answer
    for _, it in faq.iterrows():
        for fact in it["required_facts"]:
            assert fact in it["reference"], (it["id"], fact)


def test_loader_returns_dataframes(mini):
    ds = load_dataset(mini)
    assert isinstance(ds.items, pd.DataFrame) and ds.items.index.name == "item_id"
    assert ds.items.loc["faq-001", "source_ids"] == ["bus-pass-2025"]
    assert bool(ds.items.loc["faq-006", "sensitive"]) is True
    assert ds.superseded_for(["bus-pass-2025"]) == ["bus-pass-2024"]
    assert ds.ratings.attrs["criteria"] == ["accuracy", "completeness", "tone"]
    assert ds.pilot_log["approved"].tolist() == [True, True, True, True]
    assert len(ds.fingerprint) == 64


def _lines(p: Path) -> list[str]:
    return p.read_text(encoding="utf-8").splitlines()


def _set_line(p: Path, n: int, text: str) -> None:
    lines = _lines(p)
    lines[n - 1] = text
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _edit_item(p: Path, n: int, **changes) -> None:
    rec = json.loads(_lines(p)[n - 1])
    for k, v in changes.items():
        if v is None:
            rec.pop(k, None)
        else:
            rec[k] = v
    _set_line(p, n, json.dumps(rec))


BAD_CASES = [
    # (id, mutate(folder), expected fragments of one problem line)
    (
        "missing items file",
        lambda d: (d / "items.jsonl").unlink(),
        ["items.jsonl", "is missing", "needs items.jsonl"],
    ),
    ("empty items file", lambda d: (d / "items.jsonl").write_text(""), ["items.jsonl", "is empty"]),
    (
        "malformed json",
        lambda d: _set_line(d / "items.jsonl", 3, '{"id": "faq-003", "task": '),
        ["items.jsonl line 3", "not valid JSON"],
    ),
    (
        "missing field",
        lambda d: _edit_item(d / "items.jsonl", 2, category=None),
        ["items.jsonl line 2", "field 'category' is missing"],
    ),
    (
        "empty reference",
        lambda d: _edit_item(d / "items.jsonl", 4, reference="  "),
        ["items.jsonl line 4", "field 'reference' is empty", "approved answer"],
    ),
    (
        "duplicate id",
        lambda d: _edit_item(d / "items.jsonl", 5, id="faq-001"),
        ["items.jsonl line 5", "field 'id'", "duplicate", "line 1"],
    ),
    (
        "unknown source",
        lambda d: _edit_item(d / "items.jsonl", 4, source_ids=["nope"]),
        ["items.jsonl line 4", "field 'source_ids'", "'nope'", "sources/nope.md"],
    ),
    (
        "superseded source",
        lambda d: _edit_item(d / "items.jsonl", 1, source_ids=["bus-pass-2024"]),
        ["items.jsonl line 1", "source_ids", "superseded"],
    ),
    (
        "paraphrase group of one",
        lambda d: _edit_item(d / "items.jsonl", 4, paraphrase_group="pg-alone"),
        ["items.jsonl line 4", "field 'paraphrase_group'", "'pg-alone' has only this item"],
    ),
    (
        "not utf-8",
        lambda d: (d / "items.jsonl").write_bytes(
            (d / "items.jsonl").read_bytes().replace(b"What do I do", b"Qu\xe9 hago", 1)
        ),
        ["items.jsonl line 1", "not UTF-8"],
    ),
    (
        "wrong list type",
        lambda d: _edit_item(d / "items.jsonl", 1, required_facts="$10"),
        ["items.jsonl line 1", "field 'required_facts'", "list of text"],
    ),
    (
        "ratings missing column",
        lambda d: (d / "ratings.csv").write_text(
            "draft_id,item_id,draft,accuracy\nr1,faq-001,x,3\n"
        ),
        ["ratings.csv line 1", "lacks column(s) rater"],
    ),
    (
        "ratings bad score",
        lambda d: (d / "ratings.csv").write_text(
            "draft_id,item_id,draft,rater,accuracy\nr1,faq-001,x,a,7\n"
        ),
        ["ratings.csv line 2", "field 'accuracy'", "'7' is not a score"],
    ),
    (
        "ratings unknown item",
        lambda d: (d / "ratings.csv").write_text(
            "draft_id,item_id,draft,rater,accuracy\nr1,faq-999,x,a,3\n"
        ),
        ["ratings.csv line 2", "field 'item_id'", "faq-999"],
    ),
    (
        "pilot log bad number",
        lambda d: (d / "pilot_log.csv").write_text(
            (d / "pilot_log.csv").read_text().replace(",9,3,1,yes,20", ",nine,3,1,yes,20")
        ),
        ["pilot_log.csv line 2", "field 'drafting_minutes'", "'nine' is not a number"],
    ),
    (
        "pilot log bad phase",
        lambda d: (d / "pilot_log.csv").write_text(
            (d / "pilot_log.csv").read_text().replace("pl-02,baseline", "pl-02,during")
        ),
        ["pilot_log.csv line 3", "field 'phase'", "'during'"],
    ),
    (
        "source bad front matter",
        lambda d: (d / "sources" / "lunch-2025.md").write_text(
            "---\ntitle: [unclosed\n---\nbody text here\n"
        ),
        ["sources/lunch-2025.md", "front matter is not valid YAML"],
    ),
    (
        "source missing replacement",
        lambda d: (d / "sources" / "bus-pass-2024.md").write_text(
            "---\nstatus: superseded\nsuperseded_by: gone\n---\nold text\n"
        ),
        ["sources/bus-pass-2024.md line 2", "field 'superseded_by'", "'gone'"],
    ),
    (
        "received_at without a time",
        lambda d: _edit_item(d / "items.jsonl", 3, received_at="2025-10-01"),
        ["items.jsonl line 3", "field 'received_at'", "has no time of day", "ISO 8601"],
    ),
    (
        "received_at without an offset",
        lambda d: _edit_item(d / "items.jsonl", 2, received_at="2025-09-10T08:15:00"),
        ["items.jsonl line 2", "field 'received_at'", "no offset from UTC", "-08:00"],
    ),
    (
        "received_at not a time",
        lambda d: _edit_item(d / "items.jsonl", 4, received_at="last Tuesday"),
        ["items.jsonl line 4", "field 'received_at'", "'last Tuesday' is not a date and time"],
    ),
    (
        "no sources folder",
        lambda d: __import__("shutil").rmtree(d / "sources"),
        ["sources", "is missing"],
    ),
]


@pytest.mark.parametrize("case,mutate,fragments", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_names_file_line_field(mini_copy, case, mutate, fragments, capsys):
    mutate(mini_copy)
    with pytest.raises(DatasetError) as err:
        load_dataset(mini_copy)
    lines = [str(p) for p in err.value.problems]
    assert any(all(f in line for f in fragments) for line in lines), lines
    assert main(["validate", str(mini_copy)]) == 2
    out = capsys.readouterr().err
    assert fragments[0] in out


def test_all_problems_reported_at_once(mini_copy):
    _edit_item(mini_copy / "items.jsonl", 2, reference="")
    _edit_item(mini_copy / "items.jsonl", 4, source_ids=["missing-doc"])
    _set_line(mini_copy / "items.jsonl", 5, "{not json")
    with pytest.raises(DatasetError) as err:
        load_dataset(mini_copy)
    text = str(err.value)
    assert "line 2" in text and "line 4" in text and "line 5" in text
    assert len(err.value.problems) >= 3


def test_csv_and_parquet_items_load_the_same(mini_copy, tmp_path):
    ds = load_dataset(mini_copy)
    frame = ds.items.reset_index(drop=True)
    (mini_copy / "items.jsonl").unlink()
    frame.to_parquet(mini_copy / "items.parquet")
    pq = load_dataset(mini_copy)
    assert pq.items["source_ids"].tolist() == ds.items["source_ids"].tolist()
    (mini_copy / "items.parquet").unlink()
    csv_frame = frame.copy()
    for col in ("source_ids", "required_facts"):
        csv_frame[col] = [json.dumps(v) for v in csv_frame[col]]
    csv_frame.to_csv(mini_copy / "items.csv", index=False)
    cs = load_dataset(mini_copy)
    assert cs.items["required_facts"].tolist() == ds.items["required_facts"].tolist()
    # a CSV problem names its line
    text = (mini_copy / "items.csv").read_text()
    (mini_copy / "items.csv").write_text(text.replace("faq-004", "faq-001", 1))
    with pytest.raises(DatasetError, match=r"items.csv line \d+: field 'id'"):
        load_dataset(mini_copy)


def test_validate_cli_prints_summary(capsys):
    assert main(["validate", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "paraphrase groups" in out and "faq_reply" in out


def test_validate_cli_exit_code_in_a_real_process(mini_copy):
    (mini_copy / "items.jsonl").write_text("{broken\n")
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "validate", str(mini_copy)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "items.jsonl line 1" in proc.stderr


def test_public_api_is_lazy_and_complete():
    import subprocess
    import sys

    code = (
        "import sys, harness; assert 'pandas' not in sys.modules; "
        "[getattr(harness, n) for n in harness.__all__]; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize(
    ("kind", "fields", "needle"),
    [
        ("jsonl", {"question": "q?", "reference": "r."}, "`question` looks like `input`; rename it or run harness import"),
        ("jsonl", {"input": "q?", "answer": "r."}, "`answer` looks like `reference`"),
        ("csv", {"question": "q?", "answer": "r."}, "`question` looks like `input`"),
    ],
)  # fmt: skip
def test_missing_field_with_a_look_alike_column_says_so(tmp_path, mini, kind, fields, needle):
    d = tmp_path / "d"
    shutil.copytree(mini / "sources", d / "sources")
    rec = {"id": "a", "task": "faq_reply", "source_ids": [], "category": "general", **fields}
    if kind == "jsonl":
        (d / "items.jsonl").write_text(json.dumps(rec) + "\n")
    else:
        (d / "items.csv").write_text(",".join(rec) + "\n" + ",".join(
            "" if isinstance(v, list) else v for v in rec.values()) + "\n")  # fmt: skip
    with pytest.raises(DatasetError) as err:
        load_dataset(d)
    assert needle in str(err.value)
