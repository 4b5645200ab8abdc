"""The knowledge base: built once per dataset fingerprint, cached, checked, rebuilt."""

from __future__ import annotations

import json
import warnings

import pytest

from harness.data.dataset import load_dataset
from harness.knowledge import KnowledgeError, build, exclude_for, retrieve

from ..conftest import SAMPLE


def test_every_answer_and_passage_is_indexed_with_its_metadata(mini, tmp_path):
    ds = load_dataset(mini)
    kb = build(ds, tmp_path)
    p = kb.passages()
    answers = p[p["kind"] == "answer"]
    assert set(answers["doc_id"]) == set(ds.items.index)
    docs = p[p["kind"] == "document"]
    assert set(docs["doc_id"]) == set(ds.sources.index)
    row = docs[docs["doc_id"] == "bus-pass-2024"].iloc[0]
    assert row["status"] == "superseded" and row["title"].startswith("Bus Pass")
    assert (
        answers.set_index("doc_id").loc["faq-001", "effective"] == ds.items.loc["faq-001", "date"]
    )
    assert set(p["language"]) <= {"en", "es"}


def test_search_ranks_by_bm25_and_leaves_superseded_documents_out(mini, tmp_path):
    kb = build(load_dataset(mini), tmp_path)
    hits = kb.search("replacement bus pass cost", 5, kinds=("document",))
    assert hits.iloc[0]["doc_id"] == "bus-pass-2025"
    assert list(hits["score"]) == sorted(hits["score"], reverse=True)
    assert "bus-pass-2024" not in set(hits["doc_id"])
    old = kb.search("replacement bus pass cost", 5, kinds=("document",), current_only=False)
    assert "bus-pass-2024" in set(old["doc_id"])
    assert kb.search("zzzz qqqq", 3).empty


def test_cached_once_per_fingerprint_and_rebuilt_when_a_file_changes(mini_copy, tmp_path):
    cache = tmp_path / "kb"
    first = build(load_dataset(mini_copy), cache)
    assert first.rebuilt and first.path is not None and first.path.parent == cache
    again = build(load_dataset(mini_copy), cache)
    assert not again.rebuilt and again.path == first.path
    src = mini_copy / "sources" / "lunch-2025.md"
    src.write_text(src.read_text() + "\nBreakfast is free for every student this year too.\n")
    changed = build(load_dataset(mini_copy), cache)
    assert changed.rebuilt and changed.path != first.path
    assert not changed.search("breakfast free", 1, kinds=("document",)).empty
    assert not any(cache.rglob("*")) or not list(mini_copy.rglob("*.sqlite"))  # never in data


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:100] + b"\0" * 64 + b[164:],  # the header
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b"not a database at all" * 50,
    ],
)
def test_a_corrupt_index_file_is_rebuilt_never_trusted(mini, tmp_path, damage):
    ds = load_dataset(mini)
    kb = build(ds, tmp_path)
    path = kb.path
    kb.db.close()
    path.write_bytes(damage(path.read_bytes()))
    with pytest.warns(UserWarning, match="was not used .*rebuilt"):
        again = build(ds, tmp_path)
    assert again.rebuilt and len(again.passages()) == len(kb.passages())


def test_an_index_whose_passages_were_edited_is_rebuilt(mini, tmp_path):
    import sqlite3

    ds = load_dataset(mini)
    kb = build(ds, tmp_path)
    kb.db.close()
    db = sqlite3.connect(kb.path)
    db.execute("UPDATE passages SET row = replace(row, '$10', '$1')")
    db.commit()
    db.close()
    with pytest.warns(UserWarning, match="checksum"):
        again = build(ds, tmp_path)
    assert again.rebuilt and "$10" in " ".join(again.passages()["text"])


def test_a_document_without_text_is_named_and_other_languages_warned(mini_copy, tmp_path):
    (mini_copy / "sources" / "headings.md").write_text("# Only\n\n## Headings\n", encoding="utf-8")
    (mini_copy / "sources" / "vi.md").write_text(
        "Học sinh được ăn sáng miễn phí tại trường. Phụ huynh không cần đăng ký trước cho con.\n",
        encoding="utf-8",
    )
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        kb = build(load_dataset(mini_copy), tmp_path)
    text = " | ".join(str(w.message) for w in got)
    assert "sources/headings.md: yields no text to index" in text
    assert "another language (vi)" in text and "without stemming" in text
    assert kb.warnings and "headings.md" in kb.warnings[0]


def test_an_empty_sources_folder_indexes_the_answers_and_says_so(mini_copy, tmp_path):
    for p in (mini_copy / "sources").iterdir():
        p.unlink()
    items = [json.loads(x) for x in (mini_copy / "items.jsonl").read_text().splitlines()]
    (mini_copy / "items.jsonl").write_text(
        "".join(json.dumps({**r, "source_ids": []}) + "\n" for r in items), encoding="utf-8"
    )
    with pytest.warns(UserWarning, match="no source documents"):
        kb = build(load_dataset(mini_copy), tmp_path)
    assert set(kb.passages()["kind"]) == {"answer"}


def test_an_empty_policy_folder_is_refused_by_the_import(tmp_path):
    from harness.importers import DatasetImportError, import_sources

    (tmp_path / "policies").mkdir()
    with pytest.raises(DatasetImportError, match="holds no policy file"):
        import_sources(tmp_path / "policies", tmp_path / "ds")


def test_nothing_to_index_is_a_clear_error(mini, monkeypatch, tmp_path):
    import harness.knowledge.index as index

    ds = load_dataset(mini)
    monkeypatch.setattr(index, "depersonalize", lambda text, people: "")
    ds.sources = ds.sources.iloc[0:0]
    with pytest.raises(KnowledgeError, match="no approved answer and no source text"):
        build(ds, tmp_path, cache=False)


def test_retrieval_on_the_sample_district_finds_linked_sources(tmp_path):
    ds = load_dataset(SAMPLE)
    kb = build(ds, tmp_path)
    item = ds.item("faq-enr-001")
    hits = retrieve(kb, item, 3)
    assert len(hits) == 3 and item["id"] not in set(hits["doc_id"])
    assert "enrollment-new-student-registration-2025-26" in set(hits["doc_id"])
    assert not exclude_for(kb, item).too_similar("something else entirely")
    assert json.dumps(list(hits["passage_id"]))  # ids are plain strings


def test_fingerprints_sharing_a_prefix_get_their_own_index_files(mini, tmp_path):
    """A variant of a dataset (the plain-export tests strip its links and mark the fingerprint
    ``<fp>-stripped``) never takes over the dataset's own index file: the file is named by a
    hash of the whole fingerprint, so each is reused, never rebuilt with a warning."""
    import dataclasses
    import warnings

    ds = load_dataset(mini)
    variant = dataclasses.replace(ds, fingerprint=ds.fingerprint + "-stripped")
    a, b = build(ds, tmp_path), build(variant, tmp_path)
    assert a.path != b.path
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = build(ds, tmp_path)
    assert not again.rebuilt and again.path == a.path
