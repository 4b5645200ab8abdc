"""Another family's details never reach a model through a retrieved approved answer, while the
district's official contacts still do (a real loopback server captures every request body)."""

from __future__ import annotations

import json

import pytest

from harness.data.dataset import load_dataset
from harness.knowledge import build
from harness.knowledge.private import public_material, withhold
from harness.run.runner import RunOptions, run_plan

from ..conftest import model_candidate, write_plan

PHONE, EMAIL, STUDENT, CHILD = "541-555-0142", "tobias.family@example.com", "4817263", "Tobias"
OFFICIAL = "555-0163"  # Nutrition Services: lunch-2025.md publishes it
PLANTED = (
    f"High school lunch costs $3.75 and breakfast is free. {CHILD}'s peanut allergy is noted on "
    f"his account (student {STUDENT}); we will text you at {PHONE} and copy {EMAIL}. "
    f"You can add money in HollowLink, or call Nutrition Services at {OFFICIAL}."
)


@pytest.fixture
def planted(mini_copy):
    """The mini district with one family's details planted in one approved answer (faq-004,
    lunch), which the retrieval gives another family's lunch question (faq-005)."""
    path = mini_copy / "items.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    for r in rows:
        if r["id"] == "faq-004":
            r["input"] = (
                f"How much is lunch at the high school? My son {CHILD} has a peanut allergy."
            )
            r["reference"] = PLANTED
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return mini_copy


def test_a_family_s_details_never_reach_another_family_s_prompt(
    planted, tmp_path, results, loopback
):
    srv = loopback()
    plan = write_plan(tmp_path, planted, [model_candidate(srv.base_url)])
    (tmp_path / "prompt.j2").write_text(
        "{% for s in retrieved %}[{{ s.id }}] {{ s.text }}\n{% endfor %}Question: {{ item.input }}",
        encoding="utf-8",
    )
    store = run_plan(plan, results_dir=results, options=RunOptions(progress=False), score=False)
    gens = store.generations().set_index("item_id")
    # the planted answer was retrieved for another family's question: the test is not vacuous
    given_to = [
        i
        for i, g in gens.iterrows()
        if any(p.startswith("faq-004#") for p in json.loads(g["passage_ids"]))
    ]
    assert given_to and "faq-004" not in given_to
    bodies = [json.dumps(r) for r in srv.recorded.requests]
    own = [b for b in bodies if f"My son {CHILD}" in b]  # the family's own message, as sent
    assert len(own) == 1 and len(bodies) == len(gens)
    for body in bodies:
        assert PHONE not in body and "555-0142" not in body
        assert EMAIL not in body and STUDENT not in body
        if body not in own:
            assert CHILD not in body
    others = [b for b in bodies if b not in own and "peanut allergy is noted" in b]
    assert others, "the planted answer reached no other prompt"
    assert all(OFFICIAL in b and "HollowLink" in b and "$3.75" in b for b in others)
    manifest = store.read_manifest()
    kept_out = manifest["data_protection"]["retrieved_answers"]
    assert {k: kept_out["withheld"][k] for k in ("phone", "email", "student_id")} == {
        "phone": 1,
        "email": 1,
        "student_id": 1,
    }
    assert kept_out["withheld"]["name"] >= 1 and "people.csv" in kept_out["rule"]
    assert manifest["data_protection"]["redact"] == "off"  # whatever the plan's setting says


@pytest.mark.parametrize(
    ("answer", "message", "kept", "gone"),
    [
        # the district's number (a source publishes it) stays; the family's goes
        ("Call Nutrition at 555-0163 or we call you at 555-0142.", "", ["555-0163"], ["555-0142"]),
        # a number the family wrote is theirs when the answer repeats it
        ("We will call you at 555-0177.", "call me at 555-0177", ["call you at"], ["555-0177"]),
        ("Write to ana.r@example.com or lunch@mini.k12.example.", "", [], ["ana.r@example.com"]),
        ("Student 4817263 is enrolled.", "", ["enrolled"], ["4817263"]),
        # a name the family gave goes; words the district uses stay
        ("Owen can bring lunch from home.", "my son Owen", ["can bring lunch"], ["Owen"]),
        ("HollowLink shows the balance.", "HollowLink says 0", ["HollowLink"], []),
        ("She can ride the bus.", "She lost her pass", ["She can ride"], []),
        ("JV starts Mon.", "JV tryouts", ["JV"], []),  # an acronym is not a name
    ],
)
def test_withhold(mini, answer, message, kept, gone):
    ds = load_dataset(mini)
    public = public_material(ds.sources["text"].tolist(), [], [])
    out = withhold(answer, message, public)
    assert all(k in out for k in kept), out
    assert not any(g in out for g in gone), out


def test_a_contact_two_answers_publish_is_official(mini):
    ds = load_dataset(mini)
    answers = [
        ("Call 555-0111.", "q1"),
        ("The office is at 555-0111.", "q2"),
        ("We call you at 555-0122.", "my number is 555-0122"),  # the family's, twice
        ("We call you at 555-0122.", "reach me at 555-0122"),
    ]
    public = public_material(ds.sources["text"].tolist(), [], answers)
    assert "555-0111" in withhold("Call 555-0111 or 555-0122.", "", public)
    assert "555-0122" not in withhold("Call 555-0111 or 555-0122.", "", public)


def test_the_index_holds_answers_without_the_family_s_details(planted, tmp_path):
    kb = build(load_dataset(planted), tmp_path / "kb")
    text = kb.answers["faq-004"]
    assert OFFICIAL in text and CHILD not in text and PHONE not in text and EMAIL not in text
    assert kb.withheld["phone"] == kb.withheld["email"] == kb.withheld["student_id"] == 1
    again = build(load_dataset(planted), tmp_path / "kb")  # opened from the cache: still known
    assert not again.rebuilt and again.withheld == kb.withheld


def test_the_patterns_are_the_engine_s_redaction_patterns():
    from harness.engine import protect
    from harness.knowledge import private

    for name in ("EMAIL", "PHONE", "STUDENT_ID"):
        assert getattr(private, name).pattern == getattr(protect, name).pattern
