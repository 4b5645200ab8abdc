"""Evidence that holds on a plain export (issue 22, items 4-6): support is what the district
approved for this question, facts come from the approved answer, official contacts from
approved material."""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict

import pandas as pd
import pytest
from conftest import MINI, SAMPLE

import harness.scorers.support as support
from harness.data.dataset import load_dataset
from harness.scorers import get_scorer
from harness.scorers.accuracy import (
    check_claims,
    default_fact_coverage,
    default_facts,
    extract_claims,
    fact_coverage,
)
from harness.scorers.contacts import official_contacts
from harness.scorers.governance import personal_data
from harness.scorers.support import Passage, unsupported_claims
from tests.scorers import frame_of

BUS = "faq-001"  # mini: bus-pass-2025 current ($10, 2 school days), bus-pass-2024 superseded ($5)


def _stripped(ds, directory=False):
    """The sample district as a plain export has it: no links, no fact lists, no directory."""
    items = ds.items.copy()
    items["source_ids"] = [[] for _ in range(len(items))]
    items["required_facts"] = [[] for _ in range(len(items))]
    return dataclasses.replace(
        ds,
        items=items,
        directory=ds.directory if directory else None,
        fingerprint=ds.fingerprint + "-stripped",
    )


@pytest.fixture(scope="module")
def sample():
    return load_dataset(SAMPLE)


@pytest.fixture(scope="module")
def mini():
    return load_dataset(MINI)


def _references_as_drafts(ds):
    gens = pd.DataFrame(
        {
            "key": ds.items.index,
            "item_id": ds.items.index,
            "candidate": "approved_answer",
            "sample": 0,
            "task": ds.items["task"].to_numpy(),
            "output": ds.items["reference"].to_numpy(),
            "status": "ok",
        }
    )
    from harness.scorers.scoring import scoring_frame

    return scoring_frame(gens, ds)


# 5. support: the approved answer never invents -------------------------------------------------


@pytest.mark.parametrize("plain", [False, True], ids=["linked", "plain-export"])
def test_the_approved_answer_never_invents(sample, plain):
    """Every approved answer of the sample district, scored as a draft, states 0 unsupported and
    0 superseded claims, with its links and directory and without them (the issue measured 4.8
    unsupported claims per approved answer on the plain export before)."""
    ds = _stripped(sample) if plain else sample
    frame = _references_as_drafts(ds)
    out = get_scorer("claims")(frame, ds)
    assert len(out) == len(ds.items) >= 178
    assert out["unsupported_claims_count"].sum() == 0, unsupported_claims_table_head(frame, ds)
    assert out["superseded_claims_count"].sum() == 0
    assert (out["claim_support"].dropna() == 1.0).all()


def unsupported_claims_table_head(frame, ds):
    return support.unsupported_claims_table(frame, ds).head(10).to_string()


# 5. support: the measure still discriminates ---------------------------------------------------


def mutate(text: str, kind: str) -> str | None:
    """The approved answer with its first date, phone number or fee changed (a day +1, the last
    digit of a phone + 3, a fee's whole amount + 2), or None when it states none."""
    for c in extract_claims(text):
        if c.kind != kind or (kind == "phone" and c.key == "911"):
            continue
        span = c.text
        if kind == "date":
            day = c.key[1]
            new_day = str(day + 1 if day < 28 else day - 1)
            new, n = re.subn(rf"(?<!\d){day}(?!\d)", new_day, span, count=1)
        elif kind == "phone":
            m = list(re.finditer(r"\d", span))[-1]
            new, n = span[: m.start()] + str((int(m.group()) + 3) % 10) + span[m.end() :], 1
        else:
            m = re.search(r"\d+", span)
            if m is None:
                continue
            new, n = span[: m.start()] + str(int(m.group()) + 2) + span[m.end() :], 1
        at = text.find(span, c.start)
        if n and at >= 0:
            return text[:at] + new + text[at + len(span) :]
    return None


@pytest.mark.parametrize("plain", [False, True], ids=["linked", "plain-export"])
def test_one_changed_date_phone_or_fee_is_flagged(sample, plain):
    """Approved answers with one date, phone number or fee changed: at least 95% are flagged
    (an unsupported claim). Misses are changes that land on a value the approved material for
    that question states anyway (a date +1 that the same answer also gives)."""
    ds = _stripped(sample) if plain else sample
    flagged: dict[str, list[bool]] = defaultdict(list)
    for _, item in ds.items.iterrows():
        for kind in ("date", "phone", "money"):
            draft = mutate(item["reference"], kind)
            if draft is None:
                continue
            rec = {**item.to_dict(), "output": draft}
            flagged[kind].append(bool(unsupported_claims(draft, rec, ds)))
    n = sum(map(len, flagged.values()))
    share = sum(map(sum, flagged.values())) / n
    per_kind = {k: round(sum(v) / len(v), 3) for k, v in flagged.items()}
    assert n >= 250 and all(len(v) >= 40 for v in flagged.values()), per_kind
    assert share >= 0.95, per_kind  # measured: linked 0.964 (267 of 277), plain export 0.989
    assert per_kind["phone"] >= 0.95 and per_kind["money"] >= 0.95, per_kind
    assert per_kind["date"] >= 0.85, per_kind  # dates +1 day: linked 58 of 66, plain 63 of 66


# 5. the passages the candidate was given: one plug-in point -------------------------------------

BUS_PASSAGE = "A lost pass is replaced for $10 at the school office, ready within 2 school days."
LUNCH_PASSAGE = "High school lunch costs $3.75; breakfast is free."


@pytest.mark.parametrize(
    "given,draft,statuses",
    [
        # the passage given supports its fee; the draft's other fee is another program's
        ([Passage(BUS_PASSAGE, "current", "p1", "bus-pass-2025")], "It is $10, not $3.75.",
         ["supported", "unsupported"]),
        # given the lunch passage instead, the lunch fee is supported and the bus fee is not
        # (the bus fee of faq-001's approved answer is support only when the answer is given)
        ([Passage(LUNCH_PASSAGE, "current", "p2", "lunch-2025")], "It is $10, not $3.75.",
         ["unsupported", "supported"]),
        # an earlier version of a document given: last year's fee is superseded
        ([Passage(BUS_PASSAGE, "current", "p1", "bus-pass-2025")], "It costs $5.",
         ["superseded"]),
        # a superseded passage given is never support
        ([Passage("Replaced for $7.", "superseded", "p9", "old-doc")], "It costs $7.",
         ["superseded"]),
        # dicts work as well as Passage objects (the knowledge base's own records)
        ([{"text": LUNCH_PASSAGE, "status": "current", "passage_id": "x#3"}], "Lunch is $3.75.",
         ["supported"]),
        # nothing given: only the message and the directory-free dataset remain
        ([], "It costs $10.", ["unsupported"]),
    ],
)  # fmt: skip
def test_claims_are_checked_against_the_passages_given(mini, given, draft, statuses):
    item = mini.item(BUS)
    got = check_claims(draft, item["input"], [], mini, passages=given)
    assert [r["status"] for r in got] == statuses


def test_the_plug_in_point_reaches_the_claims_scorer_and_the_report_table(mini, monkeypatch):
    """``support.given_passages`` is the one input: replace it (as the knowledge base will) and
    the claims scorer and the unsupported-claims table read the stand-in passages."""
    frame = frame_of(mini, [(BUS, "m", 0, "Lunch is $3.75 and the pass is $5.")])
    frame["reference"] = "Thanks for asking."  # the approved answer supports neither fee
    before = get_scorer("claims")(frame, mini).iloc[0]
    assert before["unsupported_claims_count"] == 2.0  # linked: bus-pass-2025 only
    assert before["superseded_claims_count"] == 1.0  # $5: the 2024 policy it replaced

    seen = []

    def stand_in(dataset, record):
        seen.append((record["item_id"], record["candidate"]))
        return [Passage(LUNCH_PASSAGE, "current", "lunch#1", "lunch-2025")]

    monkeypatch.setattr(support, "given_passages", stand_in)
    after = get_scorer("claims")(frame, mini).iloc[0]
    assert seen and seen[0] == (BUS, "m")
    assert after["unsupported_claims_count"] == 1.0  # $5: no bus document was given
    assert after["superseded_claims_count"] == 0.0
    table = support.unsupported_claims_table(frame, mini)
    assert table["claim"].tolist() == ["$5"] and table["status"].tolist() == ["unsupported"]


def test_the_default_input_is_the_items_linked_sources(mini):
    rec = {"source_ids": ["bus-pass-2025", "no-such-source"]}
    got = support.linked_passages(mini, rec)
    assert [(p.id, p.status, p.document) for p in got] == [
        ("bus-pass-2025", "current", "bus-pass-2025")
    ]
    assert support.given_passages(mini, rec) == got


# 4. facts without a hand-written list ------------------------------------------------------------


@pytest.mark.parametrize(
    "reference,message,facts",
    [
        ("A new pass is $10. Call Transportation at 555-0157.", "", ["$10", "Transportation",
                                                                    "555-0157"]),
        # each fact once; a weekday and a duration are not facts to carry
        ("Call 555-0157 on Monday, within 2 school days; 555-0157 again.", "", ["555-0157"]),
        # last year's fee is not a fact of this year's answer
        ("The fee is $10 (it was $5 last year).", "", ["$10"]),
        # the family's own name is not a fact; the district's program is
        ("Hi Megan, log in to HollowLink at 8:00 a.m. on Aug. 13.", "Megan Alvarez here",
         ["HollowLink", "8:00 a.m.", "Aug. 13"]),
        ("Email enroll@cedar.k12.example or see cedar.k12.example/enroll.", "",
         ["enroll@cedar.k12.example", "cedar.k12.example/enroll"]),
        ("Thanks for asking, we will write back soon.", "", []),
    ],
)  # fmt: skip
def test_default_facts_hand_checked(reference, message, facts):
    assert [c.text for c in default_facts(reference, message)] == facts


def test_fact_coverage_is_measured_on_every_item_whose_answer_states_a_fact(sample):
    """Without fact lists, coverage is measured exactly on the items whose approved answer
    states a checkable fact (at least 95% of the FAQ items); the approved answer covers all of
    them, and a draft with one fact changed covers fewer."""
    plain = _stripped(sample)
    frame = _references_as_drafts(plain)
    cov = get_scorer("required_facts")(frame, plain)["required_facts_coverage"]
    states = [
        bool(default_facts(r, i)) for r, i in zip(frame["reference"], frame["input"], strict=True)
    ]
    assert cov.notna().tolist() == states
    assert cov[frame["task"].eq("faq_reply").to_numpy()].notna().mean() >= 0.95
    assert (cov.dropna() == 1.0).all()
    item = plain.items.loc["faq-enr-001"]
    facts = default_facts(item["reference"], item["input"])
    changed = item["reference"].replace("555-0142", "555-0143")
    assert default_fact_coverage(changed, facts) == pytest.approx(1 - 1 / len(facts))


def test_a_hand_written_fact_list_overrides_the_defaults(sample):
    frame = _references_as_drafts(sample)
    frame["output"] = "Call 555-0142."
    got = get_scorer("required_facts")(frame, sample)["required_facts_coverage"]
    want = [
        fact_coverage("Call 555-0142.", list(f))
        if len(f)
        else default_fact_coverage("Call 555-0142.", default_facts(r, i))
        for f, r, i in zip(frame["required_facts"], frame["reference"], frame["input"], strict=True)
    ]
    assert got.tolist() == pytest.approx(want)
    assert not math.isnan(got.loc[frame["item_id"] == "faq-enr-001"].iloc[0])


# 6. official contacts come from approved material -----------------------------------------------


def test_official_contacts_come_from_answers_and_policies_not_the_familys_own():
    got = official_contacts(
        [
            ("Call the office at 555-0100 or email help@d.k12.example.", "Is anyone there?"),
            ("We will call you back at 555-0123 as you asked.", "Please call me at 555-0123."),
            ("See d.k12.example/enroll; call 911 in an emergency.", ""),
        ],
        ["Business Office: 555-0119."],
        ["555-0100"],
    )
    rows = {(r.kind, r.key): r for r in got.itertuples()}
    assert set(rows) == {
        ("phone", "5550100"),
        ("phone", "5550119"),
        ("email", "help@d.k12.example"),
        ("url", "d.k12.example/enroll"),
    }  # 555-0123 is the family's own number; 911 is everyone's
    assert (rows["phone", "5550100"].answers, rows["phone", "5550100"].directory) == (1, 1)
    assert rows["phone", "5550119"].policies == 1
    assert got[["answers", "policies", "directory"]].dtypes.eq("int64").all()


def test_numbers_published_in_approved_answers_are_never_personal_data(sample):
    """No directory and no policy: an office number or email an approved answer publishes is
    official in every draft; a number nobody published is still personal data. (Staff names
    stay public only where a policy publishes them: people.csv names are not contacts.)"""
    plain = _stripped(sample)
    plain = dataclasses.replace(
        plain, sources=plain.sources.iloc[0:0], fingerprint=plain.fingerprint + "-no-policies"
    )
    found = [
        x
        for _, item in plain.items.iterrows()
        for x in personal_data(item["reference"], item["input"], plain)
    ]
    assert not [x for x in found if x["kind"] in ("phone", "email")], found
    assert {x["kind"] for x in found} <= {"name"}
    other = "For anything else call the Registration Center at 555-0142."
    assert personal_data(other, "My son is sick.", plain) == []
    assert personal_data("Call me at 555-0177.", "My son is sick.", plain) == [
        {"kind": "phone", "text": "555-0177"}
    ]
    frame = _references_as_drafts(_stripped(sample))  # the plain export keeps its policies
    counts = get_scorer("personal_data")(frame, _stripped(sample))["personal_data_count"]
    assert frame.loc[counts.to_numpy() > 0, "item_id"].tolist() == ["sum-013"]  # known issue
