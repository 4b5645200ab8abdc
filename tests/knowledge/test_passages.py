"""Passages: split at headings and paragraphs, bounded, with ids that survive re-splitting."""

from __future__ import annotations

import pytest

from harness.knowledge import MAX_WORDS, depersonalize, normalise, passage_id, split_document

DOC = """# Bus passes

Every student who rides a district bus carries a photo bus pass issued by the school office.

A lost pass is replaced for $10 at the school office. Replacement passes are ready within two
school days, and until then the student may ride if their name is on the route list.

## Questions

Call Transportation at 555-0157 or write to transportation@example.org for anything else.
"""


def test_a_document_splits_at_headings_and_paragraphs():
    parts = split_document("bus", DOC)
    assert [p.heading for p in parts] == ["Bus passes", "Bus passes", "Questions"]
    assert parts[1].text.startswith("A lost pass is replaced for $10")
    assert all(p.id.startswith("bus#") and len(p.id) == len("bus#") + 10 for p in parts)


def test_ids_depend_on_the_text_only_and_survive_re_splitting():
    before = {p.text: p.id for p in split_document("bus", DOC)}
    edited = DOC.replace(
        "# Bus passes\n",
        "# Bus passes\n\nA new paragraph added at the top of "
        "the policy, long enough to be a passage of its own here.\n",
    )
    after = {p.text: p.id for p in split_document("bus", edited)}
    assert all(after[t] == i for t, i in before.items())  # unchanged passages keep their ids
    assert len(after) == len(before) + 1
    assert passage_id("bus", "A  **lost** pass") == passage_id("bus", "a lost pass")
    assert passage_id("bus", "a lost pass") != passage_id("bus", "a found pass")
    assert normalise("## Title\n\n*A*   b") == "title a b"


@pytest.mark.parametrize("words", [50, 119, 121, 400, 2000])
def test_no_passage_is_longer_than_the_bound(words):
    text = "# T\n\n" + " ".join(f"word{i}." if i % 17 == 16 else f"word{i}" for i in range(words))
    parts = split_document("d", text)
    assert parts and all(len(p.text.split()) <= MAX_WORDS for p in parts)
    assert sum(len(p.text.split()) for p in parts) == words  # nothing lost


def test_a_short_paragraph_joins_its_neighbour_and_an_empty_document_has_none():
    parts = split_document("d", "# H\n\nShort line.\n\n" + "Long enough sentence here " * 4)
    assert len(parts) == 1 and parts[0].text.startswith("Short line.")
    assert split_document("d", "# Only a heading\n\n## And another\n") == []


def test_depersonalize_drops_greeting_sign_off_and_listed_names():
    text = "Hi Megan, welcome to Cedar Hollow! New students register online.\nThanks,\nAna Ruiz"
    out = depersonalize(text, ["Megan Alvarez"])
    assert out.startswith("Welcome to Cedar Hollow!") and "Megan" not in out and "Ana" not in out


def _depersonalize_by_name(text: str, people: list[str]) -> str:
    """The plain reference: one substitution per listed name, then per capitalised part."""
    import re

    from harness.knowledge.passages import _GREETING, _LEAD, _SIGNOFF

    out = _SIGNOFF.sub("", _GREETING.sub("", text))
    out = _LEAD.sub("", out, count=1)
    if out[:1].islower():
        out = out[0].upper() + out[1:]
    names = {str(n).strip() for n in people if len(str(n).strip()) > 2}
    parts = {p for n in names for p in n.split() if len(p) > 2 and p[0].isupper()}
    for name in sorted(names, key=len, reverse=True):
        out = re.sub(rf"\b{re.escape(name)}\b('s)?", "", out, flags=re.I)
    for part in sorted(parts, key=len, reverse=True):
        out = re.sub(rf"\b{re.escape(part)}\b('s)?", "", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def test_depersonalize_matches_the_name_by_name_reference_on_the_sample_district():
    from harness.data.dataset import load_dataset
    from harness.knowledge.passages import depersonalize
    from tests.conftest import SAMPLE

    ds = load_dataset(SAMPLE)
    people = ds.people["name"].tolist()
    texts = [str(t) for t in ds.items["reference"]]
    first = [str(n).split()[0] for n in people[:20]]
    texts += [
        f"Hi {n}, {people[i]}'s form is due. Ask {n.upper()} or {n.lower()}."
        for i, n in enumerate(first)
    ]
    texts += ["", "dear family,\nno names here.\nThanks,\nAna"]
    for t in texts:
        assert depersonalize(t, people) == _depersonalize_by_name(t, people), t
