"""The ceiling: facts of the approved answer found in what retrieval gives, and where the
approved material itself lacks them."""

from __future__ import annotations

import math
import shutil

import pandas as pd

from harness.data.dataset import load_dataset
from harness.scorers.ceiling import answer_facts, ceiling, ceiling_by_category, ceiling_note


def test_answer_facts_are_the_checkable_claims_without_the_familys_own_name():
    facts = answer_facts(
        "Hi Maya, the pass costs $10 at the office; call 555-0157.", "Maya here", ("Ana Ruiz",)
    )
    assert "$10" in facts and "555-0157" in facts and "Maya" not in facts


def test_the_ceiling_per_item_and_category(mini, tmp_path):
    ds = load_dataset(mini)
    per = ceiling(ds, cache_dir=tmp_path)
    assert set(per.index) == set(ds.items.index)
    row = per.loc["faq-001"]  # $10, 2 days and 555-0157 are all in bus-pass-2025
    assert row["facts"] >= 2 and row["material_share"] == 1.0
    assert 0 <= row["fact_ceiling"] <= 1 and row["linked"] == 1
    assert row["recall_at_k"] == 1.0  # the linked source is among the top documents
    by = ceiling_by_category(per)
    assert "all" in by.index and by.loc["all", "items"] == len(per)
    assert all(by[c].dtype.kind == "f" for c in by.columns)


def test_a_category_whose_documents_lack_the_facts_is_named_as_a_gap(mini_copy, tmp_path):
    (mini_copy / "sources" / "bus-pass-2025.md").write_text(
        "---\ntitle: Bus passes\nstatus: current\n---\nAsk the school office about passes and "
        "anything else to do with riding the bus to school each morning.\n",
        encoding="utf-8",
    )
    ds = load_dataset(mini_copy)
    by = ceiling_by_category(ceiling(ds, cache_dir=tmp_path))
    assert by.loc["transportation", "material_share"] < 0.5
    note = ceiling_note(by)
    assert "transportation" in note and "gap for the district to fill" in note
    assert not math.isnan(by.loc["all", "fact_ceiling"])


def test_the_ceiling_is_computed_once_per_dataset_and_selection(mini_copy, tmp_path, monkeypatch):
    """Each report render shows the ceiling: the table is stored beside the knowledge index,
    keyed by the dataset's fingerprint, the items and k, so the next render of any run of the
    same data reads it (the same frame) and a changed file or selection computes it anew."""
    import harness.scorers.ceiling as mod

    ds = load_dataset(mini_copy)
    first = ceiling(ds, cache_dir=tmp_path)
    calls: list[str] = []
    real = mod.retrieve_rows
    monkeypatch.setattr(mod, "retrieve_rows", lambda *a, **kw: calls.append("r") or real(*a, **kw))
    again = ceiling(load_dataset(mini_copy), cache_dir=tmp_path)
    assert calls == []  # read, not computed
    pd.testing.assert_frame_equal(again, first)
    (mine,) = tmp_path.glob("ceiling-*.parquet")
    ceiling(ds, k=1, cache_dir=tmp_path)  # the same items and columns, another key
    (theirs,) = set(tmp_path.glob("ceiling-*.parquet")) - {mine}
    shutil.copy(theirs, mine)  # a table copied under another key's name is not read for it
    calls.clear()
    assert ceiling(ds, cache_dir=tmp_path).equals(first) and len(calls) == len(ds.items)
    calls.clear()
    some = ds.items.iloc[:3]
    assert list(ceiling(ds, some, cache_dir=tmp_path).index) == list(some.index)
    assert len(calls) == 3  # another selection: computed
    (mini_copy / "sources" / "bus-pass-2025.md").write_text(
        "---\ntitle: Bus passes\nstatus: current\n---\nAsk the school office.\n", encoding="utf-8"
    )
    changed = ceiling(load_dataset(mini_copy), cache_dir=tmp_path)
    assert len(calls) == 3 + len(ds.items)  # a changed file: computed again
    assert changed.loc["faq-001", "material_share"] < first.loc["faq-001", "material_share"]


def test_the_stored_ceiling_is_keyed_by_every_module_it_depends_on(
    mini_copy, tmp_path, monkeypatch
):
    """A change to what counts as a fact (harness/scorers/patterns.py, which the claims code
    imports), to the knowledge base or to the data loader gives the table another key: a stored
    table is never served for code that would compute it differently."""
    from pathlib import Path

    import harness.scorers.ceiling as mod

    ds = load_dataset(mini_copy)
    key = mod._stored(ds, list(ds.items.index), 3, 5, tmp_path)
    real = Path.read_bytes
    for changed in ("scorers/patterns.py", "knowledge/text.py", "data/dataset.py"):

        def edited(self, changed=changed):
            data = real(self)
            return data + b"\n# edited" if self.as_posix().endswith("harness/" + changed) else data

        monkeypatch.setattr(Path, "read_bytes", edited)
        mod_key = mod._stored(ds, list(ds.items.index), 3, 5, tmp_path)
        monkeypatch.setattr(Path, "read_bytes", real)
        assert mod_key != key, changed
    assert mod._stored(ds, list(ds.items.index), 3, 5, tmp_path) == key
