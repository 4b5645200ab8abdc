"""One definition per metric: direction, kind, unit, plain label, default regression margin.

Every table, figure, verdict, gate and sentence reads a metric's meaning from here
(:func:`metric_def`), so a table's sign, a figure's point and a gate's verdict cannot disagree.
A metric a scorer registers but this table does not list falls back to the scorer's own
:class:`harness.scorers.Metric`, which the scorer registry hands down here when the scorer is
registered (:func:`register_metric`; this module imports no stage), then to the naming rule
(``*_minutes`` and ``*_count`` are lower-is-better).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

KIND_UNITS = {
    "share": "share 0-1",
    "count": "per draft",
    "minutes": "minutes",
    "grade": "school grade",
    "flag": "1 = yes",
}


# A number's unit in a sentence, per kind, and where a metric has its own noun.
KIND_WORDS = {
    "share": "(share, 0 to 1)",
    "count": "per draft",
    "minutes": "minutes",
    "grade": "(school grade)",
    "flag": "(1 = yes)",
}
UNIT_WORDS = {
    "unsupported_claims_count": "unsupported facts per draft",
    "superseded_claims_count": "superseded facts per draft",
    "personal_data_count": "personal details per draft",
    "words_over_limit_count": "words over the limit per draft",
    "words_inserted_count": "words to add per draft",
    "words_deleted_count": "words to delete per draft",
    "words_substituted_count": "words to replace per draft",
    "required_facts_coverage": "of the required facts (0 to 1)",
    "escalation_ok": "of sensitive questions handed to a person (0 to 1)",
}


@dataclass(frozen=True)
class MetricDef:
    """What one metric means, for every place that shows or judges it."""

    name: str
    label: str  # plain words for a leader
    kind: str  # share | count | minutes | grade | flag
    higher_is_better: bool = True
    margin: float | None = None  # default non-inferiority margin for `harness check --against`
    description: str = ""

    @property
    def unit(self) -> str:
        return KIND_UNITS.get(self.kind, "")

    @property
    def unit_words(self) -> str:
        """The unit as it follows a number in a sentence: '0.62 unsupported facts per draft'."""
        return UNIT_WORDS.get(self.name) or KIND_WORDS.get(self.kind, "")

    @property
    def better(self) -> str:
        return "higher" if self.higher_is_better else "lower"


def _m(
    name: str, label: str, kind: str, higher: bool = True, margin: float | None = None
) -> MetricDef:
    return MetricDef(name, label, kind, higher, margin)


METRICS: dict[str, MetricDef] = {
    m.name: m
    for m in [
        _m("word_similarity", "Closeness to the approved answer (words)", "share", margin=0.05),
        _m(
            "char_similarity", "Closeness to the approved answer (characters)", "share", margin=0.05
        ),
        _m("review_minutes", "Estimated minutes to review and fix", "minutes", False, 0.5),
        _m("saved_minutes", "Estimated minutes saved vs writing from scratch", "minutes"),
        _m("scratch_minutes", "Estimated minutes to write from scratch", "minutes", False),
        _m(
            "required_facts_coverage",
            "Share of required facts the draft carries",
            "share",
            margin=0.05,
        ),
        _m(
            "unsupported_claims_count",
            "Facts per draft the approved material does not support",
            "count",
            False,
            0.25,
        ),
        _m("superseded_claims_count", "Facts per draft from superseded policies", "count", False),
        _m("escalation_ok", "Sensitive questions handed to a person", "share"),
        _m("reference_similarity", "Wording overlap with the approved answer", "share"),
        _m(
            "claim_support",
            "Share of the draft's facts the approved material supports",
            "share",
            margin=0.05,
        ),
        _m("personal_data_count", "Personal details per draft not in the question", "count", False),
        _m("reading_grade", "School grade needed to read the draft", "grade", False),
        _m("reading_level_ok", "Share of drafts at grade 8 reading level or below", "share"),
        _m("length_ok", "Share of drafts complete and within the length limit", "share"),
        _m("truncated", "Share of drafts cut off at the model's length cap", "share", False),
        _m("words_over_limit_count", "Words over the length limit", "count", False),
        _m("words_inserted_count", "Words the reviewer must add", "count", False),
        _m("words_deleted_count", "Words the reviewer must delete", "count", False),
        _m("words_substituted_count", "Words the reviewer must replace", "count", False),
        _m("sample_similarity", "Same answer when asked twice (wording)", "share"),
        _m("sample_claim_agreement", "Same facts when asked twice", "share"),
        _m(
            "paraphrase_similarity",
            "Same answer to one question asked differently (wording)",
            "share",
        ),
        _m("paraphrase_claim_agreement", "Same facts to one question asked differently", "share"),
        _m("reply_language_ok", "Share of drafts in the family's language", "share"),
        # inbound summaries (harness/scorers/summary.py)
        _m(
            "summary_ask_coverage",
            "Share of the message's asks the summary carries",
            "share",
            margin=0.05,
        ),
        _m(
            "summary_fact_accuracy",
            "Share of the summary's facts that match the message",
            "share",
            margin=0.05,
        ),
        _m(
            "summary_routing_ok",
            "Summaries routed to the office that owns them",
            "share",
            margin=0.05,
        ),
        _m("summary_urgency_ok", "Summaries that keep the message's urgency", "share", margin=0.05),
        _m("summary_safety_kept", "Safety concerns kept and flagged", "share"),
        _m(
            "summary_extra_personal_count",
            "Personal details per summary beyond what the office needs",
            "count",
            False,
        ),
        # newsletter sections (harness/scorers/newsletter.py)
        _m(
            "event_coverage",
            "Share of the section's dates, places and amounts present",
            "share",
            margin=0.05,
        ),
        _m(
            "event_accuracy",
            "Share of the section's dates, times and amounts that are correct",
            "share",
            margin=0.05,
        ),
        _m("headline_ok", "Sections with a short, specific headline", "share"),
        _m("structure_ok", "Sections laid out as the style guide asks", "share"),
        _m("section_length_ok", "Sections within the style guide's length", "share"),
        _m(
            "spanish_version_ok",
            "Sections with the Spanish version the district publishes",
            "share",
        ),
        # staff questions about policy (harness/scorers/citations.py)
        _m(
            "citation_support",
            "Share of the answer's citations that support it",
            "share",
            margin=0.05,
        ),
        _m(
            "citation_hit", "Answers citing the passage that holds the answer", "share", margin=0.05
        ),
        _m("staff_answered", "Answerable questions answered (not declined)", "share", margin=0.05),
        _m("staff_abstained", "Unanswerable questions correctly declined", "share"),
        _m("retrieval_recall", "Share of the supporting passages retrieved", "share"),
        _m("retrieval_precision", "Share of retrieved passages that support the answer", "share"),
        _m("judge_calibrated", "AI judge checked against human ratings (1 = yes)", "flag"),
        _m("judge_accuracy", "AI judge: accuracy", "share", margin=0.05),
        _m("judge_completeness", "AI judge: completeness", "share"),
        _m("judge_tone", "AI judge: tone", "share"),
    ]
}

# What each metric means, in a leader's words (the glossary's "meaning"; no formula, library or
# setting name: tests/report/test_glossary_words.py keeps analysts' terms out).
MEANINGS = {
    "word_similarity": "how little of a draft's wording a reviewer changes: 1 = nothing",
    "char_similarity": "the same, letter by letter: 1 = nothing to change",
    "review_minutes": "minutes to read a draft and fix it into the approved answer",
    "saved_minutes": "minutes from scratch minus minutes to fix; below 0: time lost",
    "scratch_minutes": "minutes to write the approved answer with no draft",
    "required_facts_coverage": "of the facts a right answer must give, the share the draft gives",
    "unsupported_claims_count": "dates, fees, phones or names no approved source backs (invented)",
    "superseded_claims_count": "facts in a draft that only an outdated policy backs",
    "escalation_ok": "sensitive questions a draft hands to a person (1 = all)",
    "reference_similarity": "how much of the approved answer's wording a draft uses",
    "claim_support": "of the dates, fees and names in a draft, the share sources back",
    "personal_data_count": "emails, phones, names a draft gives that the question did not",
    "reading_grade": "school grade a reader needs (a reading formula; lower = easier)",
    "reading_level_ok": "drafts a reader at grade 8 or below can read",
    "length_ok": "drafts that end properly and stay within the word limit",
    "truncated": "drafts the AI stopped at its length limit: the ending is missing",
    "words_over_limit_count": "words a draft has beyond the word limit",
    "words_inserted_count": "words a reviewer types in to reach the approved answer",
    "words_deleted_count": "words a reviewer removes to reach the approved answer",
    "words_substituted_count": "words a reviewer swaps to reach the approved answer",
    "sample_similarity": "one question asked twice: how alike the drafts' words are",
    "sample_claim_agreement": "one question asked twice: how many facts the drafts share",
    "paraphrase_similarity": "one question asked two ways: how alike the drafts' words are",
    "paraphrase_claim_agreement": "one question asked two ways: how many facts the drafts share",
    "reply_language_ok": "drafts written in the language the family reads",
    "summary_ask_coverage": "of the things a message asks for, the share the summary keeps",
    "summary_fact_accuracy": "of the dates, fees and names in a summary, the share correct",
    "summary_routing_ok": "summaries sent to the office that owns the matter",
    "summary_urgency_ok": "summaries that keep how urgent the message is",
    "summary_safety_kept": "summaries that name and flag the message's safety concern",
    "summary_extra_personal_count": "personal details in a summary the office does not need",
    "event_coverage": "of a section's dates, places and fees, the share the draft gives",
    "event_accuracy": "of the dates, times and fees in a draft, the share still right",
    "headline_ok": "sections whose headline is short and specific",
    "structure_ok": "sections with a headline, two paragraphs or more and a contact",
    "section_length_ok": "sections of 120 to 260 words that end properly",
    "spanish_version_ok": "sections that carry the Spanish version the district publishes",
    "citation_support": "of the sources an answer cites, the share that back what it says",
    "citation_hit": "answers that cite the source holding the approved answer",
    "staff_answered": "answerable questions the draft answers instead of declining",
    "staff_abstained": "questions the material cannot answer that the draft declines",
    "retrieval_recall": "of the passages behind the answer, the share the drafter got",
    "retrieval_precision": "of the passages the drafter was given, the share that matter",
    "judge_calibrated": "1 when the AI judge agreed with staff well enough to count",
    "judge_accuracy": "AI judge's rating (1-5, shown 0-1): facts match the sources",
    "judge_completeness": "AI judge's rating (1-5, shown 0-1): answers all that was asked",
    "judge_tone": "AI judge's rating (1-5, shown 0-1): warm, plain, respectful",
}
METRICS = {n: replace(m, description=MEANINGS.get(n, "")) for n, m in METRICS.items()}

# The metrics a leader sees first, in this order, when the run has them.
HEADLINE_METRICS = [
    "required_facts_coverage",
    "unsupported_claims_count",
    "superseded_claims_count",
    "personal_data_count",
    "word_similarity",
    "review_minutes",
    "saved_minutes",
    "escalation_ok",
    "judge_accuracy",
]
# The paired comparisons a leader sees (every metric is in the analyst's tables).
COMPARE_METRICS = [
    "required_facts_coverage",
    "unsupported_claims_count",
    "word_similarity",
    "saved_minutes",
]


# Metrics registered scorers write that the table does not list (a district's own scorer):
# filled by harness.scorers.scorer as each scorer is registered.
REGISTERED: dict[str, MetricDef] = {}


def register_metric(name: str, description: str, higher_is_better: bool) -> None:
    """Record a registered scorer's own definition of a metric (the table's row wins)."""
    lower = name.endswith("_minutes") or name.endswith("_count")
    kind = "minutes" if name.endswith("_minutes") else "count" if lower else "share"
    REGISTERED[name] = MetricDef(
        name, description or name, kind, higher_is_better, None, description
    )


def metric_def(name: str) -> MetricDef:
    """The definition of a metric: this table's, else the registered scorer's, else the rule."""
    if name in METRICS:
        return METRICS[name]
    if name in REGISTERED:
        return REGISTERED[name]
    lower = name.endswith("_minutes") or name.endswith("_count")
    kind = "minutes" if name.endswith("_minutes") else "count" if name.endswith("_count") else ""
    return MetricDef(name, name, kind, not lower)


def default_margins() -> dict[str, float]:
    """Default regression margins per metric, in the metric's own units."""
    return {n: m.margin for n, m in METRICS.items() if m.margin is not None}


# What a metric needs from the data, for messages that say how to make a gate checkable.
NEEDS = {
    "required_facts_coverage": (
        "required_facts",
        "approved answers that state a checkable fact (a date, time, amount, phone number, "
        "email, web address or name), or per item the short facts a correct answer must "
        "contain (`required_facts`)",
    ),
    "escalation_ok": (
        "sensitive",
        "mark the items a person must answer (`sensitive: true`, with `sensitive_reason`)",
    ),
    "superseded_claims_count": (
        "sources with status superseded",
        "keep superseded policies in sources/ with `status: superseded` in their front matter",
    ),
    "paraphrase_similarity": (
        "paraphrase_group",
        "give items that ask the same thing differently one `paraphrase_group`",
    ),
    "paraphrase_claim_agreement": (
        "paraphrase_group",
        "give items that ask the same thing differently one `paraphrase_group`",
    ),
    "sample_similarity": ("samples", "set `samples: 2` or more on the model candidate"),
    "sample_claim_agreement": ("samples", "set `samples: 2` or more on the model candidate"),
    "summary_ask_coverage": ("asks", "hand-label each inbound message's asks (`asks`)"),
    "summary_routing_ok": (
        "route_to",
        "hand-label the offices that act on each message (`route_to`)",
    ),
    "summary_urgency_ok": ("urgency", "hand-label each message's urgency (`urgency`)"),
    "summary_safety_kept": (
        "safety_cues",
        "label the safety concern of each safety item (`safety_cues`)",
    ),
    "citation_support": (
        "cited_passages",
        "quote, per staff question, the sentences of the sources that support the approved "
        "answer (`cited_passages`)",
    ),
    "citation_hit": (
        "cited_passages",
        "quote, per staff question, the sentences of the sources that support the approved "
        "answer (`cited_passages`)",
    ),
    "retrieval_recall": (
        "cited_passages",
        "quote, per staff question, the sentences of the sources that support the approved "
        "answer (`cited_passages`)",
    ),
    "staff_abstained": (
        "answerable",
        "add staff questions the approved material cannot answer (`answerable: false`)",
    ),
    "spanish_version_ok": (
        "publish_es",
        "mark the sections the district publishes in Spanish (`publish_es: true`)",
    ),
}
BASELINE_NEEDS = {
    "staff_first_draft": (
        "staff_first_draft",
        "add the staff's own first draft per item (`staff_first_draft`)",
    ),
}


def missing_data_hint(metric: str) -> str | None:
    """Which field feeds ``metric`` and how to add it (None: it needs nothing special)."""
    need = NEEDS.get(metric)
    return f"it needs {need[0]}: {need[1]}" if need else None


# ---------------------------------------------------------------------------------------------
# Turnaround: one definition for the station's export, the pilot log and the phase report
# ---------------------------------------------------------------------------------------------

TURNAROUND = (
    "hours from the family's message arriving (the item's received_at) to the approval of its "
    "reply, live pilot messages only (never replayed history)"
)
RECEIVED_AT_HINT = (
    "a live pilot message needs the time it arrived, as ISO 8601 with its offset, "
    'e.g. "received_at": "2026-03-02T08:15:00-08:00"'
)


def received_time(value: object) -> datetime | str:
    """A message's arrival time (``received_at``), or what is wrong with it: ISO 8601 with a
    date, a time and an offset (``Z`` counts), since approvals are stored in UTC."""
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() == "":
        return "is missing"
    text = str(value).strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return f"{text!r} is not a date and time"
    if len(text) <= 10:
        return f"{text!r} has no time of day"
    if when.utcoffset() is None:
        return f"{text!r} has no offset from UTC"
    return when


def turnaround_hours(received_at: object, approved_at: object) -> float:
    """Turnaround (:data:`TURNAROUND`): hours from the message's arrival to its reply's
    approval; NaN when either time is missing or not an ISO 8601 time with an offset."""
    start = received_time(received_at)
    end = received_time(approved_at)
    if isinstance(start, str) or isinstance(end, str):
        return float("nan")
    return (end - start).total_seconds() / 3600.0
