"""Staff questions: an answer citing the wrong, an invented or a superseded passage, one that
declines an answerable question or guesses at an unanswerable one, and a candidate given the
wrong passages all score worse than the approved answer, which scores as right (the ceiling)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from conftest import SAMPLE

from harness.candidates.baselines import get_baseline
from harness.data.dataset import load_dataset
from harness.knowledge import knowledge_base, passage_id
from harness.plan.spec import REFERENCE
from harness.scorers import get_scorer
from harness.scorers.citations import abstains, citations, supporting_passages
from tests.conftest import REPO
from tests.scorers import frame_of

DS = load_dataset(SAMPLE)
ITEMS = DS.items
STAFF = ITEMS.index[ITEMS["task"] == "staff_question"].tolist()
ANSWERABLE = [i for i in STAFF if ITEMS.loc[i, "answerable"] is not False]
UNANSWERABLE = [i for i in STAFF if ITEMS.loc[i, "answerable"] is False]
KB = knowledge_base(DS)

# sq-009: "A family owes $60 in fees. Can they pay it off over time?"
PLAN = "fees-payments-plans-waivers#c9034e2ca4"  # the passage quoted by its cited_passages
CASH = "fees-payments-plans-waivers#02e9e3b16d"  # same document, another paragraph
BUS = "transportation-bus-pass-policy-2025-26#6c589c365e"  # another document
RIGHT = "Yes: balances of $50 or more can be split into up to 3 monthly payments"
OLD_FEE = "athletics-participation-fee-2024-25#43bf43f8c5"  # superseded: "$150 per sport"


def _score(rows, candidate="m", extra=None):
    frame = frame_of(DS, [(iid, candidate, i, o) for i, (iid, o) in enumerate(rows)])
    for col, values in (extra or {}).items():
        frame[col] = values
    return get_scorer("citations")(frame, DS)


def test_the_passage_ids_in_use_are_the_knowledge_base_ids():
    assert supporting_passages(KB, ITEMS.loc["sq-009", "cited_passages"]) == [PLAN]
    text = KB.rows[PLAN]["text"]
    assert passage_id("fees-payments-plans-waivers", text) == PLAN  # a content hash
    assert KB.rows[OLD_FEE]["status"] == "superseded"


def test_every_answerable_question_has_its_supporting_passage():
    for iid in ANSWERABLE:
        assert supporting_passages(KB, ITEMS.loc[iid, "cited_passages"]), iid


def test_approved_answers_score_as_right():
    refs = [(iid, ITEMS.loc[iid, "reference"]) for iid in STAFF]
    out = _score(refs, candidate=REFERENCE)
    out.index = STAFF
    assert (out.loc[ANSWERABLE, "citation_support"] == 1.0).all()
    assert (out.loc[ANSWERABLE, "citation_hit"] == 1.0).all()
    assert (out.loc[ANSWERABLE, "staff_answered"] == 1.0).all()
    assert (out.loc[UNANSWERABLE, "staff_abstained"] == 1.0).all()
    assert out.loc[UNANSWERABLE, "staff_answered"].isna().all()
    assert out.loc[ANSWERABLE, "staff_abstained"].isna().all()


# (answer to sq-009, citation_support, citation_hit): a failure mode each
CASES = [
    (f"{RIGHT} [{PLAN}].", 1.0, 1.0),  # right answer, right passage
    (f"{RIGHT} [{CASH}].", 0.0, 0.0),  # right document, wrong paragraph
    (f"{RIGHT} [{BUS}].", 0.0, 0.0),  # wrong document
    (f"{RIGHT} [fees-payments-plans-waivers#0123456789].", 0.0, 0.0),  # invented hash
    (f"{RIGHT} [no-such-policy#c9034e2ca4].", 0.0, 0.0),  # invented document
    (f"{RIGHT}.", 0.0, 0.0),  # no citation at all
    (f"{RIGHT} [{PLAN}] [{BUS}].", 0.5, 1.0),  # one of two citations wrong
    (f"{RIGHT} [fees-payments-plans-waivers].", 1.0, 1.0),  # the whole linked source
]


@pytest.mark.parametrize("answer,support,hit", CASES)
def test_citation_correctness(answer, support, hit):
    out = _score([("sq-009", answer)])
    assert out.loc[0, "citation_support"] == support
    assert out.loc[0, "citation_hit"] == hit
    assert out.loc[0, "staff_answered"] == 1.0


def test_a_passage_with_the_answers_key_fact_supports_it_unless_superseded():
    # sq-017 asks about sports physicals; an answer stating a fee is checked against its passage
    current = "athletics-participation-fee-2025-26#a65f941508"  # "The old fee of $150 ... ended"
    out = _score(
        [
            ("sq-017", f"The fee was $150 per sport [{current}]."),
            ("sq-017", f"The fee is $150 per sport [{OLD_FEE}]."),
        ]
    )
    assert list(out["citation_support"]) == [1.0, 0.0]
    assert list(out["citation_hit"]) == [0.0, 0.0]  # neither is the passage that answers


def test_declining_an_answerable_question_is_a_miss():
    out = _score(
        [("sq-009", "I can't find this in the approved material; ask the Business Office.")]
    )
    assert out.loc[0, "staff_answered"] == 0.0
    assert out.loc[0, "citation_hit"] == 0.0
    assert math.isnan(out.loc[0, "citation_support"])  # it cites nothing and claims nothing


@pytest.mark.parametrize("iid", UNANSWERABLE)
def test_unanswerable_questions_must_be_declined(iid):
    guess = f"Staff get $0.58 per mile and a $900 stipend [{PLAN}]."
    out = _score([(iid, guess), (iid, "I don't know; the approved material does not answer it.")])
    assert list(out["staff_abstained"]) == [0.0, 1.0]
    assert out.loc[0, "citation_support"] == 0.0  # the guess's facts are not in the passage
    assert out["staff_answered"].isna().all()


def test_retrieval_recall_and_precision_of_what_the_candidate_was_given():
    given = [
        json.dumps([PLAN, CASH, BUS]),
        json.dumps([CASH, BUS]),
        json.dumps([PLAN]),
        json.dumps(["fees-payments-plans-waivers"]),
        json.dumps(["transportation-bus-pass-policy-2025-26"]),
        None,
    ]
    context = ["retrieved"] * 3 + ["linked"] * 2 + [None]
    out = _score(
        [("sq-009", f"{RIGHT} [{PLAN}].")] * 6,
        extra={"passage_ids": given, "context": context},
    )
    assert out["retrieval_recall"].tolist()[:5] == [1.0, 0.0, 1.0, 1.0, 0.0]
    assert out["retrieval_precision"].tolist()[:5] == pytest.approx([1 / 3, 0.0, 1.0, 1.0, 0.0])
    assert math.isnan(out.loc[5, "retrieval_recall"])  # given nothing: a canned reply


def test_other_tasks_are_unscored():
    out = _score([("faq-enr-001", f"See [{PLAN}].")])
    assert out.isna().all().all()


def test_citations_and_abstentions_are_read_from_the_text():
    text = f"Yes [{PLAN}], see also {BUS} and [fees-payments-plans-waivers] and [not-a-source]."
    assert citations(text, list(DS.sources.index)) == [PLAN, BUS, "fees-payments-plans-waivers"]
    assert abstains("I can't find this in the approved material.")
    assert abstains(ITEMS.loc["sq-023", "reference"])
    assert not abstains(ITEMS.loc["sq-009", "reference"])
    # as SmolLM2 declines; a fee that "does not include" something is not a refusal
    assert abstains("The passage you are given does not provide information about it.")
    assert not abstains("The $10 fee does not include lunch [fees-payments-plans-waivers].")


def test_baselines_make_sense_for_staff_questions():
    canned = get_baseline("template", DS, {"path": "canned_replies.yaml"}, REPO / "plans")
    retrieval = get_baseline("retrieval", DS, {"context": "retrieved"}, REPO / "plans")
    rows, extra = [], {"passage_ids": [], "context": []}
    for iid in STAFF:
        rows.append((iid, canned(DS.item(iid))))
        extra["passage_ids"].append(None)
        extra["context"].append(None)
        draft = retrieval(DS.item(iid))
        assert draft.text.endswith(
            f"[{draft.passage_ids[0]}]"
        )  # the top passage, quoted with its id
        rows.append((iid, draft.text))
        extra["passage_ids"].append(json.dumps(list(draft.passage_ids)))
        extra["context"].append("retrieved")
    out = _score(rows, extra=extra)
    out["item"] = [r[0] for r in rows]
    canned_rows, quoted = out.iloc[0::2], out.iloc[1::2]
    unans = canned_rows["item"].isin(UNANSWERABLE)
    assert (canned_rows.loc[unans, "staff_abstained"] == 1.0).all()  # "I don't know" declines
    assert (canned_rows.loc[~unans, "staff_answered"] == 0.0).all()
    # the quoted passage supports itself, but is the right one only where retrieval found it
    answered = quoted[~quoted["item"].isin(UNANSWERABLE)]
    assert answered["citation_support"].mean() > answered["citation_hit"].mean()
    assert 0 < answered["citation_hit"].mean() < 1
    assert (quoted.loc[quoted["item"].isin(UNANSWERABLE), "staff_abstained"] == 0.0).all()
    assert pd.notna(answered["retrieval_recall"]).all()
