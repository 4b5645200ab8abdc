"""``harness import`` fills what it can: each item's language, and source links proposed from
the knowledge base, accepted or rejected in the suggestions CSV round trip."""

from __future__ import annotations

import csv
import json
import re

import pandas as pd

from harness.importers import accept_suggestions, export_suggestions, import_export
from harness.importers.review import read_records

from ..conftest import SAMPLE

FRONT = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.S)


def _plain(root, rows):
    with (root / "faq.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "answer", "category"])
        w.writerows([r["input"], r["reference"], r["category"]] for r in rows)
    pol = root / "policies"
    pol.mkdir()
    for p in (SAMPLE / "sources").glob("*.md"):
        (pol / p.name).write_text(FRONT.sub("", p.read_text(encoding="utf-8")), "utf-8")
    return root / "faq.csv", pol


def test_import_detects_languages_and_proposes_links_a_person_accepts(tmp_path):
    rows = [json.loads(x) for x in (SAMPLE / "items.jsonl").read_text().splitlines()]
    faq = [r for r in rows if r["task"] == "faq_reply" and r.get("language") in ("en", "es")]
    faq = faq[:30] + [r for r in faq if r.get("language") == "es"][:10]
    export, pol = _plain(tmp_path, faq)
    res = import_export(export, tmp_path / "ds", sources=pol)
    assert res.languages == {"en": 30, "es": 10}
    assert "language detected from the messages: 30 en, 10 es" in res.summary()
    recs = read_records(tmp_path / "ds")
    by_q = {r["input"]: r for r in recs}
    assert all(by_q[r["input"]]["language"] == r["language"] for r in faq)
    # source links: proposed for every item, and most of them the sample's hand-made links
    truth = {r["input"]: set(r["source_ids"]) for r in faq}
    proposed = {r["input"]: r.get("suggested_source_ids", []) for r in recs}
    assert all(proposed.values())
    hit = sum(bool(set(p) & truth[q]) for q, p in proposed.items() if truth[q]) / len(faq)
    assert hit >= 0.8, hit
    assert res.suggestions.loc["source_links", "pending"] == sum(map(len, proposed.values()))
    # the round trip: accept the first item's links, reject the second's
    export_suggestions(tmp_path / "ds", tmp_path / "review.csv")
    sheet = pd.read_csv(tmp_path / "review.csv", dtype=str, keep_default_na=False)
    links = sheet[sheet["kind"] == "source_link"]
    first, second = links["item_id"].unique()[:2]
    sheet.loc[sheet["item_id"].eq(first) & sheet["kind"].eq("source_link"), "accept"] = "yes"
    sheet.loc[sheet["item_id"].eq(second) & sheet["kind"].eq("source_link"), "accept"] = "no"
    sheet.to_csv(tmp_path / "review.csv", index=False)
    counts = accept_suggestions(tmp_path / "ds", tmp_path / "review.csv")
    after = {r["id"]: r for r in read_records(tmp_path / "ds")}
    assert after[first]["source_ids"] == after[first]["suggested_source_ids"]
    assert after[second]["source_ids"] == [] and after[second]["rejected_source_ids"]
    assert counts.loc["source_links", "accepted"] == len(after[first]["suggested_source_ids"])
    # a re-import of the same export keeps the reviewed links
    res2 = import_export(export, tmp_path / "ds", sources=pol)
    again = {r["id"]: r for r in read_records(tmp_path / "ds")}
    assert again[first]["source_ids"] == after[first]["source_ids"]
    assert res2.change_counts["changed"] == 0
