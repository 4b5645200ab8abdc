"""The LLM judge: rubric validation, reply parsing, retry-then-unscored, caching, the scorer."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.dataset import load_dataset
from harness.errors import PlanError
from harness.plan.spec import JudgeSpec
from harness.scorers import get_scorer, metrics, scorer_names
from harness.scorers.judge import (
    RUBRIC_FILE,
    JudgeCounts,
    judge_drafts,
    load_rubric,
    parse_reply,
)

CRITERIA = ["accuracy", "completeness", "tone"]
GOOD = '{"accuracy": 4, "completeness": 3, "tone": 5, "rationale": "fine"}'
SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "sample-district"

# -- parsing -----------------------------------------------------------------------------------

PARSES = [
    (GOOD, (4, 3, 5), "fine"),
    ("```json\n" + GOOD + "\n```", (4, 3, 5), "fine"),
    ("Here is my rating:\n" + GOOD + "\nI hope this helps {really}.", (4, 3, 5), "fine"),
    ("{'accuracy': 2, 'completeness': 2, 'tone': 1, 'rationale': 'rude'}", (2, 2, 1), "rude"),
    ('{"accuracy": "4", "completeness": "3", "tone": "5"}', (4, 3, 5), ""),
    ('{"accuracy": "4/5", "completeness": "3 out of 5", "tone": 5.0}', (4, 3, 5), ""),
    ('{"Accuracy": 1, "COMPLETENESS": 1, " tone ": 1,}', (1, 1, 1), ""),
    ('{"accuracy": {"score": 5}, "completeness": 5, "tone": 4}', (5, 5, 4), ""),
    (
        '{"accuracy": 3, "completeness": 3, "tone": 3, "rationale": "it\'s {fine}"}',
        (3, 3, 3),
        "it's {fine}",
    ),
    ('{"note": "draft"} then {"accuracy": 5, "completeness": 4, "tone": 4}', (5, 4, 4), ""),
    # a raw newline and a brace inside the rationale (SmolLM2 under a grammar wrote this)
    (
        '{ "accuracy": 1, "completeness": 2, "tone": 5, "rationale": "#34 }\nDRAFT:\n$10" }',
        (1, 2, 5),
        "#34 }\nDRAFT:\n$10",
    ),
    (
        '```\n{"accuracy": 2, "completeness": 3, "tone": 4, "ok": true, "x": null}\n```',
        (2, 3, 4),
        "",
    ),
]


@pytest.mark.parametrize("text,scores,rationale", PARSES)
def test_parser_reads_what_judges_write(text, scores, rationale):
    j = parse_reply(text, CRITERIA)
    assert tuple(j.scores[c] for c in CRITERIA) == scores
    assert j.rationale == rationale


MALFORMED = [
    ("", "empty"),
    ("Accuracy: 4, completeness: 3, tone: 5", "no JSON object"),
    ('{"accuracy": 4, "completeness": 3}', "'tone' is missing"),
    ('{"accuracy": 6, "completeness": 3, "tone": 5}', "'accuracy' is 6"),
    ('{"accuracy": 0, "completeness": 3, "tone": 5}', "'accuracy' is 0"),
    ('{"accuracy": 3.5, "completeness": 3, "tone": 5}', "'accuracy' is 3.5"),
    ('{"accuracy": "four", "completeness": 3, "tone": 5}', "'accuracy' is 'four'"),
    ('{"accuracy": true, "completeness": 3, "tone": 5}', "'accuracy' is True"),
    ('{"accuracy": null, "completeness": 3, "tone": 5}', "'accuracy' is None"),
    ('{"accuracy": 4, "completeness": 3, "tone": 5', "no JSON object"),
    ("{accuracy: 4, completeness: 3, tone: 5}", "no object could be read as JSON"),
]


@pytest.mark.parametrize("text,why", MALFORMED)
def test_parser_never_guesses(text, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        parse_reply(text, CRITERIA)


@settings(max_examples=60, deadline=None)
@given(
    scores=st.tuples(*[st.integers(1, 5)] * 3),
    rationale=st.text(max_size=40),
    before=st.sampled_from(["", "Sure! ", "Rating:\n", "```json\n"]),
    after=st.sampled_from(["", " Thanks.", "\n```", "\nScores are 1-5."]),
    as_text=st.booleans(),
)
def test_parser_round_trips_any_valid_reply(scores, rationale, before, after, as_text):
    obj = {c: (str(s) if as_text else s) for c, s in zip(CRITERIA, scores, strict=True)}
    obj["rationale"] = rationale
    j = parse_reply(before + json.dumps(obj) + after, CRITERIA)
    assert tuple(j.scores[c] for c in CRITERIA) == scores
    assert j.rationale == rationale.strip()


# -- rubric ------------------------------------------------------------------------------------


def test_shipped_rubric_matches_the_sample_ratings():
    rubric = load_rubric()
    ratings = load_dataset(SAMPLE).ratings
    assert rubric.names == ratings.attrs["criteria"] == CRITERIA
    assert all(sorted(c.anchors) == [1, 2, 3, 4, 5] for c in rubric.criteria)
    assert "invented" in rubric.criteria[0].anchors[5]
    assert rubric.json_example().startswith('{"accuracy": n')


def _rubric_file(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(RUBRIC_FILE.read_text(encoding="utf-8"))
    edit(data)
    p = tmp_path / "rubric.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


def _drop_level(d):
    del d["criteria"][1]["anchors"][3]


def _bad_jinja(d):
    d["prompt"] = "Rate this.\n{{ draft }}\n{% for c in criteria %}\n{{ c.name }"


RUBRIC_ERRORS = [
    (_drop_level, "criteria.1.anchors", "give one anchor for each score"),
    (lambda d: d.update(scale=7), "scale", "is not a known setting"),
    (lambda d: d.pop("prompt"), "prompt", "is missing"),
    (lambda d: d.update(prompt="Rate it: {{ item.input }}"), "prompt", "never shows the draft"),
    (_bad_jinja, "prompt", "is not a valid Jinja2 template"),
    (lambda d: d["criteria"].append(dict(d["criteria"][0])), "criteria", "repeated: accuracy"),
    (lambda d: d["criteria"][2].update(name="Tone!"), "criteria.2.name", "should match pattern"),
]


@pytest.mark.parametrize("edit,field,message", RUBRIC_ERRORS)
def test_rubric_errors_name_file_line_and_field(tmp_path, edit, field, message):
    path = _rubric_file(tmp_path, edit)
    with pytest.raises(PlanError) as err:
        load_rubric(path)
    text = str(err.value)
    assert str(path) in text and message in text
    assert f"field '{field}'" in text or field == "criteria"
    problem = err.value.problems[0]
    assert problem.line is not None and problem.line >= 1


# -- calling (loopback server) -----------------------------------------------------------------

DRAFTS = pd.DataFrame(
    {
        "item_id": ["faq-001", "faq-004"],
        "draft": [
            "A new pass costs $10 at the office. Call 555-0157.",
            "Lunch is $3.75 at the high school.",
        ],
    },
    index=["a", "b"],
)


def _spec(srv, **kw) -> JudgeSpec:
    return JudgeSpec(model="openai/loopback", api_base=srv.base_url, **kw)


def test_malformed_then_valid_is_retried_with_a_repair_turn(loopback, mini, tmp_path):
    def reply(msgs):
        repaired = any("could not be read" in m["content"] for m in msgs if m["role"] == "user")
        return GOOD if repaired else "I would rate this draft highly overall."

    srv = loopback(reply=reply)
    got = judge_drafts(DRAFTS, load_dataset(mini), _spec(srv), cache_path=tmp_path / "c.sqlite")
    assert got[CRITERIA].to_numpy().tolist() == [[4, 3, 5], [4, 3, 5]]
    assert got["replies"].tolist() == [2, 2] and got["calls"].tolist() == [2, 2]
    assert got["error"].isna().all()
    assert srv.request_count == 4
    sent = srv.recorded.requests[-1]["messages"]
    assert [m["role"] for m in sent][-2:] == ["assistant", "user"]


def test_always_malformed_is_unscored_after_bounded_attempts(loopback, mini, tmp_path):
    srv = loopback(reply='{"accuracy": 4, "completeness": "good", "tone": 5}')
    got = judge_drafts(
        DRAFTS, load_dataset(mini), _spec(srv, max_attempts=3), cache_path=tmp_path / "c.sqlite"
    )
    assert got[CRITERIA].isna().all().all()  # unscored, never guessed
    assert got["replies"].tolist() == [3, 3]
    assert srv.request_count == 6
    assert all("'completeness' is 'good'" in e for e in got["error"])
    assert got.index.tolist() == ["a", "b"]


def test_provider_error_leaves_the_row_unscored_and_uncached(loopback, mini, tmp_path):
    bad = loopback(always_fail=400)
    cache = tmp_path / "c.sqlite"
    got = judge_drafts(DRAFTS.iloc[:1], load_dataset(mini), _spec(bad), cache_path=cache)
    assert math.isnan(got.loc["a", "accuracy"]) and "no answer" in got.loc["a", "error"]
    assert bad.request_count == 1  # a 400 is not retried
    good = loopback(reply=GOOD)
    again = judge_drafts(DRAFTS.iloc[:1], load_dataset(mini), _spec(good), cache_path=cache)
    assert again.loc["a", "accuracy"] == 4  # the failure was not cached


def test_transient_faults_are_retried(loopback, mini, tmp_path):
    srv = loopback(reply=GOOD, fault_rate=0.5, faults=(503,), retry_after="0", seed=3)
    got = judge_drafts(
        DRAFTS, load_dataset(mini), _spec(srv), cache_path=tmp_path / "c.sqlite", retries=8
    )
    assert got[CRITERIA].notna().all().all()
    assert srv.request_count > 2


def test_cached_rescore_makes_zero_calls(loopback, mini, tmp_path):
    replies = iter(["no json here"] + [GOOD] * 10)
    srv = loopback(reply=lambda msgs: next(replies))
    frame = DRAFTS.rename(columns={"draft": "output"})
    fn = get_scorer(
        "judge",
        model="openai/loopback",
        api_base=srv.base_url,
        concurrency=1,
        cache_path=str(tmp_path / "c.sqlite"),
    )
    first = fn(frame, load_dataset(mini))
    calls = srv.request_count
    assert calls > 2  # the run's drafts, a repaired reply and the rated drafts
    counts = JudgeCounts()
    second = fn(frame, load_dataset(mini))
    assert srv.request_count == calls
    pd.testing.assert_frame_equal(first, second)
    rescored = judge_drafts(
        DRAFTS,
        load_dataset(mini),
        _spec(srv, concurrency=1),
        cache_path=tmp_path / "c.sqlite",
        counts=counts,
    )
    assert counts.calls == 0 and rescored["cached"].all()


def test_scorer_rescales_and_reports_calibration(loopback, mini, tmp_path):
    ratings = load_dataset(mini).ratings
    by_draft = ratings.groupby("draft")[CRITERIA].mean().round().astype(int)

    def reply(msgs):
        draft = msgs[-1]["content"].split("DRAFT to rate:\n", 1)[1].split("\n\nRubric:", 1)[0]
        if draft in by_draft.index:  # a rated draft: answer as the humans did
            s = by_draft.loc[draft]
            return json.dumps({c: int(s[c]) for c in CRITERIA})
        return '{"accuracy": 5, "completeness": 1, "tone": 3}'

    srv = loopback(reply=reply)
    frame = DRAFTS.rename(columns={"draft": "output"})
    opts = dict(model="openai/loopback", api_base=srv.base_url, cache_path=str(tmp_path / "c"))
    got = get_scorer("judge", min_rated=3, min_kappa=0.5, **opts)(frame, load_dataset(mini))
    assert got.loc["a"].to_dict() == {
        "judge_accuracy": 1.0,
        "judge_completeness": 0.0,
        "judge_tone": 0.5,
        "judge_calibrated": 1.0,
    }
    strict = get_scorer("judge", min_rated=50, **opts)(frame, load_dataset(mini))
    assert strict["judge_calibrated"].tolist() == [0.0, 0.0]  # 5 rated drafts < 50


def test_registry_knows_the_judge():
    assert "judge" in scorer_names()
    m = metrics()
    assert {"judge_accuracy", "judge_completeness", "judge_tone", "judge_calibrated"} <= set(m)
    assert all(m[k].higher_is_better for k in ("judge_accuracy", "judge_calibrated"))


@pytest.mark.parametrize(
    "options,message",
    [
        ({"model": "local/gpt5"}, "unknown local model"),
        ({"params": {"api_key": "sk-x"}}, "never put an API key"),
        ({"min_kappa": 2}, "min_kappa"),
        ({"modle": "x"}, "modle"),
    ],
)
def test_bad_judge_options_are_refused(options, message):
    with pytest.raises(Exception, match=message):
        get_scorer("judge", **options)


# -- the embedded model ------------------------------------------------------------------------


@pytest.mark.local_model
def test_embedded_model_as_judge(mini, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path))
    # response_format auto: the rubric's JSON schema becomes a llama.cpp grammar, so the 135M
    # model, which otherwise mostly answers in prose, answers JSON the parser reads first time
    spec = JudgeSpec(
        max_attempts=1, rationale_chars=60, params={"temperature": 0.0, "max_tokens": 64}
    )
    ds = load_dataset(mini)
    counts = JudgeCounts()
    got = judge_drafts(DRAFTS, ds, spec, cache_path=tmp_path / "c.sqlite", counts=counts)
    assert counts.calls == 2 and got["replies"].tolist() == [1, 1]
    assert got["error"].isna().all(), got["error"].tolist()
    assert set(got[CRITERIA].to_numpy().ravel()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert all(len(r) <= 60 for r in got["rationale"])
    again = JudgeCounts()
    cached = judge_drafts(DRAFTS, ds, spec, cache_path=tmp_path / "c.sqlite", counts=again)
    assert again.calls == 0 and cached["cached"].all()  # no server start, no call
    pd.testing.assert_frame_equal(
        cached[CRITERIA], got[CRITERIA]
    )  # same reading of the same replies


# -- constrained output and candidate filtering ------------------------------------------------


def _sent_format(srv) -> list:
    return [r.get("response_format") for r in srv.recorded.requests]


@pytest.mark.parametrize(
    "model,mode,params,expected",
    [
        ("openai/loopback", "auto", {}, None),  # other providers: nothing unless asked
        ("openai/loopback", "off", {}, None),
        ("openai/loopback", "json_object", {}, {"type": "json_object"}),
        ("openai/loopback", "json_schema", {}, "json_schema"),
        ("local/smollm2", "auto", {}, "llama.cpp"),  # the embedded model: a grammar
        ("local/smollm2", "json_schema", {}, "llama.cpp"),
        ("local/smollm2", "json_object", {}, {"type": "json_object"}),
        ("local/smollm2", "off", {}, None),
        ("openai/loopback", "auto", {"response_format": {"type": "text"}}, {"type": "text"}),
    ],
)
def test_response_format_reaches_the_server(
    loopback, mini, tmp_path, monkeypatch, model, mode, params, expected
):
    srv = loopback(reply=GOOD)
    if model.startswith("local/"):
        # the embedded model's server is replaced by the loopback server: same HTTP path
        import contextlib

        import harness.engine.local as local

        @contextlib.contextmanager
        def serve(**_):
            yield local.LocalModel(model, srv.base_url, "openai/smollm2", "loopback", 0)

        monkeypatch.setattr(local, "serve_smollm2", serve)
        spec = JudgeSpec(model=model, response_format=mode, rationale_chars=90, params=params)
    else:
        spec = _spec(srv, response_format=mode, params=params)
    got = judge_drafts(DRAFTS, load_dataset(mini), spec, cache_path=tmp_path / "c.sqlite")
    assert got[CRITERIA].notna().all().all(), got["error"].tolist()
    sent = _sent_format(srv)
    assert len(sent) == 2
    if expected == "json_schema":  # the OpenAI form, passed on by litellm
        assert all(s["type"] == "json_schema" and s["json_schema"]["strict"] for s in sent)
        schema = sent[0]["json_schema"]["schema"]
        assert "maxLength" not in schema["properties"]["rationale"]
    elif expected == "llama.cpp":  # llama-cpp-python's form: json_object with a schema
        assert all(s["type"] == "json_object" for s in sent)
        schema = sent[0]["schema"]
        assert schema["properties"]["rationale"]["maxLength"] == 90
    else:
        assert all(s == expected for s in sent)
        return
    assert schema["required"] == [*CRITERIA, "rationale"]
    assert all(schema["properties"][c]["enum"] == [1, 2, 3, 4, 5] for c in CRITERIA)
    assert schema["additionalProperties"] is False


def test_the_response_format_is_part_of_the_cache_key(loopback, mini, tmp_path):
    srv = loopback(reply=GOOD)
    ds, cache = load_dataset(mini), tmp_path / "c.sqlite"
    judge_drafts(DRAFTS, ds, _spec(srv), cache_path=cache)
    judge_drafts(DRAFTS, ds, _spec(srv), cache_path=cache)
    assert srv.request_count == 2  # the same calls again: cached
    judge_drafts(DRAFTS, ds, _spec(srv, response_format="json_object"), cache_path=cache)
    assert srv.request_count == 4  # a reply to an unconstrained call is not reused


def test_judge_schema_accepts_what_the_parser_reads():
    import jsonschema

    from harness.scorers.judge import judge_schema

    schema = judge_schema(load_rubric(), 20)
    jsonschema.validate(json.loads(GOOD), schema)
    for bad in (
        '{"accuracy": 6, "completeness": 3, "tone": 5, "rationale": ""}',
        '{"accuracy": 4, "completeness": 3, "rationale": ""}',
        '{"accuracy": 4, "completeness": 3, "tone": 5, "rationale": "x", "extra": 1}',
        '{"accuracy": 4, "completeness": 3, "tone": 5, "rationale": "' + "x" * 21 + '"}',
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(bad), schema)


def test_only_the_named_candidates_are_judged(loopback, mini, tmp_path):
    srv = loopback(reply=GOOD)
    frame = pd.DataFrame(
        {
            "item_id": ["faq-001", "faq-004", "faq-001", "faq-004"],
            "candidate": ["ai", "ai", "canned", "canned"],
            "output": ["A pass is $10.", "Lunch is $3.75.", "Thanks!", "Thanks!"],
        },
        index=[10, 11, 12, 13],
    )
    ds = load_dataset(mini)
    n_rated = ds.ratings["draft_id"].nunique()
    fn = get_scorer(
        "judge",
        model="openai/loopback",
        api_base=srv.base_url,
        candidates=["ai"],
        min_rated=1,
        cache_path=str(tmp_path / "c.sqlite"),
    )
    got = fn(frame, ds)
    assert got.index.tolist() == [10, 11, 12, 13]
    assert (got.loc[[10, 11], "judge_accuracy"] == 0.75).all()
    assert got.loc[[12, 13]].isna().all().all()  # unscored, never 0
    judged = [m["content"] for r in srv.recorded.requests for m in r["messages"][-1:]]
    assert not any("DRAFT to rate:\nThanks!" in t for t in judged)
    # the ai drafts, the rated drafts, and the length-bias probe (both ai drafts, padded)
    assert srv.request_count == 2 + n_rated + 2


@pytest.mark.parametrize(("rewards_length", "calibrated"), [(False, 1.0), (True, 0.0)])
def test_a_judge_that_rewards_padding_is_treated_as_uncalibrated(
    loopback, mini, tmp_path, rewards_length, calibrated
):
    """Each probed draft is rated again with filler that adds no fact; a judge whose scores
    rise for the filler alone is biased, and its scores pass no gate (like an uncalibrated one)."""
    from harness.scorers.judge import FILLER

    ratings = load_dataset(mini).ratings
    by_draft = ratings.groupby("draft")[CRITERIA].mean().round().astype(int)

    def reply(msgs):
        draft = msgs[-1]["content"].split("DRAFT to rate:\n", 1)[1].split("\n\nRubric:", 1)[0]
        if draft in by_draft.index:
            s = by_draft.loc[draft]
            return json.dumps({c: int(s[c]) for c in CRITERIA})
        bonus = 2 if rewards_length and FILLER.strip()[:30] in draft else 0
        return json.dumps({"accuracy": 3 + bonus, "completeness": 2 + bonus, "tone": 3})

    srv = loopback(reply=reply)
    frame = pd.DataFrame(
        {
            "item_id": ["faq-001", "faq-002", "faq-003", "faq-004"] * 2,
            "output": [f"d{i}" for i in range(8)],
        }
    )
    probe = {"share": 0.5, "min_probes": 3, "max_shift": 0.5}
    got = get_scorer(
        "judge",
        model="openai/loopback",
        api_base=srv.base_url,
        cache_path=str(tmp_path / "c"),
        min_rated=3,
        min_kappa=0.5,
        bias_probe=probe,
    )(frame, load_dataset(mini))
    assert (got["judge_calibrated"] == calibrated).all()
    padded = [r for r in srv.recorded.requests if FILLER.strip()[:30] in json.dumps(r)]
    assert len(padded) == 4  # half of the 8 drafts, each rated once more with the filler


def test_the_judging_pass_shows_a_bar_and_times_each_part(loopback, mini, tmp_path, capsys):
    srv = loopback(reply=GOOD)
    counts = JudgeCounts()
    judge_drafts(
        DRAFTS,
        load_dataset(mini),
        _spec(srv),
        cache_path=tmp_path / "c.sqlite",
        counts=counts,
        progress=[("drafts", 1), ("calibration", 1), ("bias probe", 0)],
    )
    err = capsys.readouterr().err
    assert "judge (1 drafts, 1 calibration)" in err and "2/2" in err
    assert list(counts.seconds) in (["drafts", "calibration"], ["calibration", "drafts"])
    assert all(v >= 0 for v in counts.seconds.values())
    judge_drafts(
        DRAFTS, load_dataset(mini), _spec(srv), cache_path=tmp_path / "c.sqlite", progress=False
    )
    assert "judge" not in capsys.readouterr().err


def test_the_scorer_records_the_split_of_its_judging_pass(loopback, mini, tmp_path):
    from harness.scorers import ScoreContext

    srv = loopback(reply=GOOD)
    frame = DRAFTS.rename(columns={"draft": "output"})
    context = ScoreContext(plan=None, store=None, cache_path=tmp_path / "c.sqlite")
    opts = dict(model="openai/loopback", api_base=srv.base_url, min_rated=3)
    get_scorer("judge", context=context, calibrate=False, **opts)(frame, load_dataset(mini))
    assert set(context.records["judge"]["seconds"]) == {"drafts"}


def test_the_judge_engine_it_opens_is_closed_once(loopback, mini, tmp_path, monkeypatch):
    """judge_drafts' own engine stops in the loop's thread, and only there; its cache closes once."""
    from harness.engine.cache import ResponseCache
    from harness.engine.calls import Engine

    exits: list[int] = []
    closes: list[int] = []
    real_exit, real_close = Engine.__exit__, ResponseCache.close
    monkeypatch.setattr(Engine, "__exit__", lambda self, *a: exits.append(1) or real_exit(self, *a))
    monkeypatch.setattr(ResponseCache, "close", lambda self: closes.append(1) or real_close(self))
    srv = loopback(reply=lambda msgs: GOOD)
    got = judge_drafts(DRAFTS, load_dataset(mini), _spec(srv), cache_path=tmp_path / "c.sqlite")
    assert got["error"].isna().all()
    assert (len(exits), len(closes)) == (1, 1)


def test_a_judge_without_rationale_is_not_asked_for_one():
    # rationale_chars 0 (the demo): the schema has no rationale, so the grammar does not make
    # the judge spend tokens writing '"rationale": ""', and the prompt's example shows none
    import jsonschema

    from harness.scorers.judge import judge_schema
    from harness.scorers.judging import JudgePrompt

    rubric = load_rubric()
    schema = judge_schema(rubric, 0)
    assert "rationale" not in schema["properties"] and "rationale" not in schema["required"]
    jsonschema.validate({"accuracy": 4, "completeness": 3, "tone": 5}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"accuracy": 4, "completeness": 3, "tone": 5, "rationale": ""}, schema)
    assert "rationale" not in rubric.json_example(rationale=False)
    assert parse_reply('{"accuracy": 4, "completeness": 3, "tone": 5}', CRITERIA).rationale == ""
    ds = load_dataset(SAMPLE)
    item = {**ds.item(ds.items.index[0]), "id": ds.items.index[0]}
    with_r = JudgePrompt(rubric, ds).messages(item, "draft")[-1]["content"]
    without = JudgePrompt(rubric, ds, rationale=False).messages(item, "draft")[-1]["content"]
    assert rubric.json_example() in with_r
    assert rubric.json_example(rationale=False) in without and '"rationale"' not in without


def test_the_demo_judge_grades_against_the_approved_answer_not_the_sources():
    """rubrics/judge_short.yaml (the demo's judge) shows the rubric, the family's message, the
    approved answer and the draft: the approved answer is the reference it grades against; the
    sources it was written from are not read again on every call (a fifth of the judge's
    prompt tokens on the demo, benchmarks/bench_prompt_reuse.py)."""
    from harness.scorers.judging import JudgePrompt, _item
    from harness.scorers.rubric import load_rubric

    ds = load_dataset(SAMPLE)
    rubric = load_rubric(RUBRIC_FILE.with_name("judge_short.yaml"))
    item = _item(ds, "faq-trn-005")
    assert item["source_ids"], "the item cites sources"
    system, user = JudgePrompt(rubric, ds, rationale=False).messages(item, "DRAFT TEXT")
    text = user["content"]
    assert item["input"] in text and item["reference"] in text and text.endswith("DRAFT TEXT")
    for s in ds.source_texts(list(item["source_ids"])):
        assert str(s["text"])[:80] not in text and str(s["title"]) not in text
    assert "approved answer" in system["content"]
    # the rubric comes first and never changes: the prefix llama.cpp reuses between calls
    assert text.index("accuracy") < text.index(item["input"])
