"""Newsletter sections: a section that misses an event, shifts a date, quotes a superseded fee
or loses its headline scores worse than the approved section."""

from __future__ import annotations

import pytest
from conftest import SAMPLE

from harness.data.dataset import load_dataset
from harness.scorers import get_scorer
from harness.scorers.newsletter import headline_ok, spanish_version_ok
from tests.scorers import frame_of

DS = load_dataset(SAMPLE)
ITEMS = DS.items
SECTIONS = ITEMS.index[ITEMS["task"] == "newsletter"].tolist()


def _ref(iid: str) -> str:
    return str(ITEMS.loc[iid, "reference"])


def _scores(rows):
    frame = frame_of(DS, [(iid, "m", i, o) for i, (iid, o) in enumerate(rows)])
    return get_scorer("newsletter")(frame, DS)


PERTURBED = [
    # misses the spring-break event
    (
        "nl-001",
        ("There is no bus service from **Monday, March 30 through Friday, April 3**. ", ""),
        "event_coverage",
    ),
    # shifts a date
    ("nl-001", ("starting **Monday, March 9**", "starting **Monday, March 16**"), "event_accuracy"),
    # quotes the superseded lost-pass fee as current
    (
        "nl-001",
        (
            "The replacement fee this school year is **$10** (it was $5 last year).",
            "The replacement fee is **$5**.",
        ),
        "event_accuracy",
    ),
    # a generic headline
    (
        "nl-001",
        ("**Route 22 Adds a Stop at Maple Ridge Apartments**", "**Transportation News**"),
        "headline_ok",
    ),
    # loses its contact line
    ("nl-002", ("Questions? Call the Communications Office at 555-0111.", ""), "structure_ok"),
]


@pytest.mark.parametrize("iid,edit,metric", PERTURBED)
def test_a_worse_section_scores_worse(iid, edit, metric):
    from harness.scorers.language import english_part

    # a section also published in Spanish states its events twice: the edit is made to an
    # English-only draft of it (the approved bilingual section is still the reference)
    ref = english_part(_ref(iid))
    old, new = edit
    assert old in ref
    s = _scores([(iid, ref), (iid, ref.replace(old, new))])
    assert s[metric].iloc[0] == 1.0
    assert s[metric].iloc[1] < s[metric].iloc[0]


def test_approved_sections_meet_every_bar():
    s = _scores([(i, _ref(i)) for i in SECTIONS])
    for m in (
        "event_coverage",
        "event_accuracy",
        "headline_ok",
        "structure_ok",
        "section_length_ok",
    ):
        assert s[m].mean() == 1.0, m
    # the sections the district also publishes in Spanish carry their Spanish version
    es = ITEMS.loc[SECTIONS, "publish_es"].eq(True).tolist()
    assert sum(es) == 3
    assert (s.loc[es, "spanish_version_ok"] == 1.0).all()
    assert s.loc[[not e for e in es], "spanish_version_ok"].isna().all()


@pytest.mark.parametrize("iid", ["nl-001", "nl-003", "nl-009"])
def test_a_section_missing_its_spanish_version_scores_worse(iid):
    from harness.scorers.language import english_part

    ref = _ref(iid)
    english = english_part(ref)
    assert len(english.split()) < len(ref.split()) / 1.5  # the Spanish version is cut off
    # an English-only section, and one whose Spanish version is its headline alone
    spanish = ref[len(english) :].strip().split("\n\n")
    assert len(spanish) >= 5
    headline_only = english + "\n\n" + spanish[0]
    s = _scores([(iid, ref), (iid, english), (iid, headline_only)])
    assert s["spanish_version_ok"].tolist() == [1.0, 0.0, 0.0]
    assert s["section_length_ok"].tolist() == [1.0, 1.0, 1.0]  # measured on the English part


def test_too_short_and_other_tasks():
    s = _scores([("nl-003", "**Free Meals**\n\nLunch is free."), ("sum-001", _ref("nl-003"))])
    assert s["section_length_ok"].iloc[0] == 0.0
    assert s.iloc[1].isna().all()


@pytest.mark.parametrize(
    "draft,ok",
    [
        ("**Route 22 Gets a New Stop**\n\nText.", 1.0),
        ("**Transportation Updates**\n\nText.", 0.0),
        ("**FREE MEALS FOR ALL STUDENTS!!**\n\nText.", 0.0),
        (
            "This is a long first sentence that runs on well past twelve words and so is no headline at all.",
            0.0,
        ),
    ],
)
def test_headline(draft, ok):
    assert headline_ok(draft) == ok


def test_spanish_version():
    en = "**Spring Break**\n\nNo buses run Monday, March 30 through Friday, April 3. A pass costs $10."
    es = "No hay autobuses del lunes 30 de marzo al viernes 3 de abril. El pase cuesta $10 para la familia y el estudiante."
    assert spanish_version_ok(en + "\n\n" + es, True, 0.6) == 1.0
    assert spanish_version_ok(en, True, 0.6) == 0.0
    assert spanish_version_ok(en, None, 0.6) != spanish_version_ok(en, None, 0.6)  # NaN


def test_a_section_cut_at_the_length_cap_is_not_within_length():
    ref = _ref("nl-001")
    frame = frame_of(DS, [("nl-001", "m", 0, ref), ("nl-001", "m", 1, ref)])
    frame["finish_reason"] = ["stop", "length"]
    s = get_scorer("newsletter")(frame, DS)
    assert s["section_length_ok"].tolist() == [1.0, 0.0]
