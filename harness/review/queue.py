"""Review queues built from a run: blind, seeded, balanced across reviewers.

A *draft* is one candidate's first sample for one item, or the item's approved answer itself
(``candidate = approved_answer``, a hidden control: staff should approve it nearly unchanged).
Each draft goes to one reviewer, chosen greedily so that within every (category, candidate)
stratum the reviewers' counts differ by at most one, then so that a reviewer sees as few
drafts of the same question as possible, then by load. A share of the drafts (default 20%,
per candidate) also goes to a second, different reviewer, for agreement. From-scratch tasks
(the question and sources only) come first in a reviewer's queue, so nobody writes a reply to a
question after seeing a draft of it; side-by-side tasks (two drafts of one question, left and
right swapped between reviewers) come last. Every order is seeded.

The run's own reference row (the approved answer, scored by every plan by default) is never
a draft: the approved answer enters once, as the control. Every text is shown as plain text
(:mod:`harness.review.text`), so formatting gives no source away. No reviewer gets one
question's identical draft twice (two candidates that wrote the same reply), nor the same text
more than ``max_same_text`` times (a canned reply sent to every question): such a task moves
to another reviewer, or leaves the queue and is counted in the queue's config.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness.review.text import placeholders, plain_text, same_text_key

CONTROL = "approved_answer"
DEFAULT_DOUBLE_SHARE = 0.2
DEFAULT_MODES = ("scratch", "drafts")
DEFAULT_SCRATCH_SHARE = 0.2
DEFAULT_MAX_SAME_TEXT = 3
MODES = ("drafts", "scratch", "side_by_side")
DRAFT_COLUMNS = [
    "draft_id",
    "item_id",
    "candidate",
    "category",
    "text",
    "control",
    "placeholders",
]
TASK_COLUMNS = [
    "reviewer",
    "position",
    "mode",
    "item_id",
    "draft_id",
    "draft_b_id",
    "swapped",
    "double",
    "review",
]


def draft_id(item_id: str, candidate: str) -> str:
    """A stable id for one item's draft by one candidate (the same for every reviewer)."""
    return "rv-" + hashlib.sha1(f"{item_id}|{candidate}".encode()).hexdigest()[:12]


def drafts_from_run(
    generations: pd.DataFrame,
    items: pd.DataFrame,
    *,
    candidates: Sequence[str] | None = None,
    include_control: bool = True,
) -> pd.DataFrame:
    """The reviewable drafts of a run: sample 0 of each item x candidate with an output.

    Each text is shown as plain text (:func:`harness.review.text.plain_text`, the same for
    every candidate and the control); ``placeholders`` lists (JSON) the fill-in slots left in it.

    Args:
        generations: the run's generations (``RunData.generations``).
        items: the dataset's items (indexed by id; ``reference`` and ``category``).
        candidates: only these candidates (default: every candidate in the run).
        include_control: add each item's approved answer as a hidden control draft.
    """
    g = generations[(generations["sample"] == 0) & (generations["status"] == "ok")]
    # the run's reference row (on in every real plan) is the approved answer itself: it enters
    # the queue once, as the hidden control below, never as a candidate's draft
    g = g[g["candidate"] != CONTROL]
    if "kind" in g.columns:
        g = g[g["kind"].fillna("") != "reference"]
    g = g[g["output"].notna() & (g["output"].astype(str).str.strip() != "")]
    if candidates is not None:
        g = g[g["candidate"].isin(list(candidates))]
    g = g[g["item_id"].isin(items.index)]
    rows = [
        {
            "draft_id": draft_id(r.item_id, r.candidate),
            "item_id": r.item_id,
            "candidate": r.candidate,
            "category": str(items.at[r.item_id, "category"]),
            "text": plain_text(str(r.output)),
            "control": False,
        }
        for r in g.itertuples(index=False)
    ]
    if include_control:
        for item_id in sorted(set(g["item_id"])):
            rows.append(
                {
                    "draft_id": draft_id(item_id, CONTROL),
                    "item_id": item_id,
                    "candidate": CONTROL,
                    "category": str(items.at[item_id, "category"]),
                    "text": plain_text(str(items.at[item_id, "reference"])),
                    "control": True,
                }
            )
    for row in rows:
        row["placeholders"] = json.dumps(placeholders(row["text"]))
    frame = pd.DataFrame(rows, columns=DRAFT_COLUMNS)
    return frame.sort_values(["item_id", "candidate"]).reset_index(drop=True)


def _doubled(
    drafts: pd.DataFrame, first: dict[str, str], share: float, rng: np.random.Generator
) -> set[str]:
    """Draft ids picked for a second review: round(share x n) per candidate, seeded, taken in
    turn from each first reviewer's drafts so that nobody's work is doubled more than others'."""
    picked: set[str] = set()
    for _, grp in drafts.groupby("candidate", sort=True):
        n = round(share * len(grp))
        if not n:
            continue
        queues: dict[str, list[str]] = defaultdict(list)
        for i in rng.permutation(len(grp)):
            did = str(grp["draft_id"].iloc[int(i)])
            queues[first[did]].append(did)
        turn = [queues[r] for r in sorted(queues)]
        turn = [turn[int(i)] for i in rng.permutation(len(turn))]
        got = 0
        while got < n:
            for q in turn:
                if q and got < n:
                    picked.add(q.pop())
                    got += 1
    return picked


def _key(reviewer: str, stratum: tuple[str, ...]) -> tuple[str, ...]:
    return (reviewer, *stratum)


class _Balancer:
    """Greedy assignment keeping per-stratum counts level, then per-item repeats, then load."""

    def __init__(self, reviewers: Sequence[str], rng: np.random.Generator):
        self.reviewers = list(reviewers)
        self.rng = rng
        self.stratum: dict[tuple[str, ...], int] = defaultdict(int)
        self.item: dict[tuple[str, str], int] = defaultdict(int)
        self.load: dict[str, int] = defaultdict(int)

    def pick(self, stratum: tuple[str, ...], item_id: str, exclude: str | None = None) -> str:
        ties = self.rng.permutation(len(self.reviewers))
        best = min(
            (
                (
                    self.stratum[_key(r, stratum)],
                    self.item[(r, item_id)],
                    self.load[r],
                    int(ties[i]),
                    r,
                )
                for i, r in enumerate(self.reviewers)
                if r != exclude
            ),
        )
        reviewer = best[-1]
        self.note(reviewer, stratum, item_id)
        return reviewer

    def note(self, reviewer: str, stratum: tuple[str, ...], item_id: str) -> None:
        self.stratum[_key(reviewer, stratum)] += 1
        self.item[(reviewer, item_id)] += 1
        self.load[reviewer] += 1


def _latin(
    drafts: pd.DataFrame, names: list[str], rng: np.random.Generator
) -> list[tuple[pd.Series, str]]:
    """First reviewers as a rotated Latin square per category.

    Within a category (questions and candidates in seeded order), candidate ``k`` of question
    ``j`` goes to reviewer ``(j + k + offset) mod R``: every (category, candidate) stratum is
    dealt round-robin (counts differ by at most one) and one question's drafts go to as many
    different reviewers as there are. The offset moves on between categories so the
    remainders do not all land on the same reviewer.
    """
    order = [names[int(i)] for i in rng.permutation(len(names))]
    out: list[tuple[pd.Series, str]] = []
    offset = 0
    for _, cat in drafts.groupby("category", sort=True):
        items = sorted(set(cat["item_id"]))
        items = [items[int(i)] for i in rng.permutation(len(items))]
        cands = sorted(set(cat["candidate"]))
        rank = {c: int(r) for c, r in zip(cands, rng.permutation(len(cands)), strict=True)}
        by_item = {i: g for i, g in cat.groupby("item_id", sort=False)}
        for j, item in enumerate(items):
            for _, d in by_item[item].iterrows():
                out.append((d, order[(j + rank[str(d["candidate"])] + offset) % len(order)]))
        offset += len(items)
    return out


def _task(reviewer: str, mode: str, item_id: str, a: str = "", b: str = "", **kw: object) -> dict:
    return {
        "reviewer": reviewer,
        "mode": mode,
        "item_id": item_id,
        "draft_id": a,
        "draft_b_id": b,
        "swapped": bool(kw.get("swapped", False)),
        "double": bool(kw.get("double", False)),
        "review": 2 if kw.get("second") else 1,
    }


def scratch_items(items: pd.DataFrame, share: float, seed: int) -> list[str]:
    """Items to write from scratch: round(share x n) per category (at least one), seeded."""
    rng = np.random.default_rng(seed + 1)
    out: list[str] = []
    for _, grp in items.groupby("category", sort=True):
        n = max(1, round(share * len(grp))) if share > 0 else 0
        ids = sorted(str(x) for x in grp.index)
        out.extend(str(x) for x in rng.choice(ids, size=min(n, len(ids)), replace=False))
    return sorted(out)


def build_queue(
    drafts: pd.DataFrame,
    reviewers: Sequence[str],
    *,
    seed: int = 0,
    double_share: float = DEFAULT_DOUBLE_SHARE,
    modes: Sequence[str] = ("drafts",),
    items: pd.DataFrame | None = None,
    scratch_share: float = 0.2,
    pair: tuple[str, str] | None = None,
    max_same_text: int = DEFAULT_MAX_SAME_TEXT,
) -> pd.DataFrame:
    """Every reviewer's tasks in order: one row per task (see ``TASK_COLUMNS``).

    Args:
        drafts: from :func:`drafts_from_run`.
        reviewers: reviewer names (unique, at least one).
        seed: seeds the assignment and every order.
        double_share: share of drafts (per candidate) reviewed by a second reviewer (0-1).
        modes: any of ``drafts``, ``scratch`` and ``side_by_side``.
        items: the dataset's items (needed for ``scratch``).
        scratch_share: share of items per category written from scratch.
        pair: the two candidates compared in ``side_by_side`` mode.
        max_same_text: at most this many drafts with one text (case and spacing aside) per
            reviewer, and never two of one question (``attrs["removed"]`` counts the drafts
            left out for either reason).

    Raises:
        ValueError: an unknown mode, duplicate reviewers, a share outside 0-1, a missing pair.
    """
    names = [str(r).strip() for r in reviewers]
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        raise ValueError("reviewers: give one or more distinct, non-empty names")
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ValueError(f"unknown mode(s) {', '.join(bad)}; valid modes: {', '.join(MODES)}")
    if not 0.0 <= double_share <= 1.0:
        raise ValueError(f"double_share {double_share} is not a share; give a number 0-1")
    rng = np.random.default_rng(seed)
    bal = _Balancer(names, rng)
    tasks: list[dict] = []
    if "scratch" in modes:
        if items is None:
            raise ValueError("scratch mode needs the dataset's items")
        in_queue = items[items.index.isin(set(drafts["item_id"]))] if len(drafts) else items
        for item_id in scratch_items(in_queue, scratch_share, seed):
            cat = str(items.at[item_id, "category"])
            tasks.append(_task(bal.pick(("scratch", cat), item_id), "scratch", item_id))
    if "drafts" in modes:
        firsts = _latin(drafts, names, rng)
        share = double_share if len(names) > 1 else 0.0
        doubled = _doubled(drafts, {str(d["draft_id"]): r for d, r in firsts}, share, rng)
        for d, first in firsts:
            stratum = ("draft", str(d["category"]), str(d["candidate"]))
            bal.note(first, stratum, str(d["item_id"]))
            tasks.append(_task(first, "drafts", str(d["item_id"]), str(d["draft_id"])))
            if d["draft_id"] in doubled:
                second = bal.pick(stratum, str(d["item_id"]), exclude=first)
                tasks.append(
                    _task(
                        second,
                        "drafts",
                        str(d["item_id"]),
                        str(d["draft_id"]),
                        double=True,
                        second=True,
                    )
                )
                tasks[-2]["double"] = True
        tasks, removed = _limit_repeats(tasks, drafts, names, max_same_text)
    else:
        removed = {"same_draft": 0, "same_text": 0}
    if "side_by_side" in modes:
        tasks.extend(_pair_tasks(drafts, names, pair, double_share, bal, rng))
    out = _ordered(tasks, names, seed)
    out.attrs["removed"] = removed
    return out


def _limit_repeats(
    tasks: list[dict], drafts: pd.DataFrame, names: list[str], max_same_text: int
) -> tuple[list[dict], dict[str, int]]:
    """No reviewer sees one question's draft text twice, nor one text (a canned reply sent to
    every question) more than ``max_same_text`` times: a task over either limit moves to the
    least-loaded reviewer it fits (never the draft's other reviewer), else leaves the queue.

    Returns the tasks and how many left the queue (``same_draft``: a copy of a draft of the
    same question the reviewer already has; ``same_text``: over the repeat cap).
    """
    key = {str(d.draft_id): same_text_key(str(d.text)) for d in drafts.itertuples(index=False)}
    per_item: dict[tuple[str, str, str], int] = defaultdict(int)
    per_text: dict[tuple[str, str], int] = defaultdict(int)
    load: dict[str, int] = defaultdict(int)
    holders: dict[str, list[str]] = defaultdict(list)  # draft id -> its reviewers
    for t in tasks:
        load[t["reviewer"]] += 1

    def fits(r: str, t: dict) -> bool:
        k = key[t["draft_id"]]
        return per_item[(r, t["item_id"], k)] == 0 and per_text[(r, k)] < max(1, max_same_text)

    kept: list[dict] = []
    removed = {"same_draft": 0, "same_text": 0}
    for t in tasks:
        if t["mode"] != "drafts":
            kept.append(t)
            continue
        k = key[t["draft_id"]]
        if not fits(t["reviewer"], t):
            others = [
                r
                for r in sorted(names, key=lambda r: (load[r], names.index(r)))
                if r not in holders[t["draft_id"]] and fits(r, t)
            ]
            load[t["reviewer"]] -= 1
            if not others:
                why = "same_draft" if per_item[(t["reviewer"], t["item_id"], k)] else "same_text"
                removed[why] += 1
                continue
            t = t | {"reviewer": others[0]}
            load[others[0]] += 1
        per_item[(t["reviewer"], t["item_id"], k)] += 1
        per_text[(t["reviewer"], k)] += 1
        holders[t["draft_id"]].append(t["reviewer"])
        kept.append(t)
    reviews: dict[str, int] = defaultdict(int)
    for t in kept:
        reviews[t["draft_id"]] += 1
    for t in kept:  # a draft whose second review left the queue is reviewed once
        if t["mode"] == "drafts" and reviews[t["draft_id"]] < 2:
            t["double"] = False
            t["review"] = 1
    return kept, removed


def _pair_tasks(
    drafts: pd.DataFrame,
    names: list[str],
    pair: tuple[str, str] | None,
    double_share: float,
    bal: _Balancer,
    rng: np.random.Generator,
) -> list[dict]:
    if pair is None or len(pair) != 2 or pair[0] == pair[1]:
        raise ValueError("side_by_side mode needs pair=(CANDIDATE_A, CANDIDATE_B), two names")
    have = set(drafts["candidate"])
    missing = [c for c in pair if c not in have]
    if missing:
        raise ValueError(
            f"pair names {', '.join(missing)}, not a candidate with drafts in this run; "
            f"candidates: {', '.join(sorted(have))}"
        )
    by = drafts.set_index(["item_id", "candidate"])["draft_id"]
    both = sorted(set(by.xs(pair[0], level=1).index) & set(by.xs(pair[1], level=1).index))
    cats = drafts.drop_duplicates("item_id").set_index("item_id")["category"]
    n_double = round(double_share * len(both)) if len(names) > 1 else 0
    doubled = set(rng.choice(both, size=n_double, replace=False).tolist()) if n_double else set()
    left_count: dict[str, int] = defaultdict(int)
    out: list[dict] = []
    for item_id in [both[int(i)] for i in rng.permutation(len(both))]:
        a, b = by[(item_id, pair[0])], by[(item_id, pair[1])]
        first = bal.pick(("pair", str(cats[item_id])), item_id)
        swapped = left_count[first] % 2 == 1
        left_count[first] += 1
        out.append(_task(first, "side_by_side", item_id, a, b, swapped=swapped))
        if item_id in doubled:
            second = bal.pick(("pair", str(cats[item_id])), item_id, exclude=first)
            left_count[second] += 1
            out[-1]["double"] = True
            out.append(
                _task(
                    second,
                    "side_by_side",
                    item_id,
                    a,
                    b,
                    swapped=not swapped,
                    double=True,
                    second=True,
                )
            )
    return out


def _ordered(tasks: list[dict], names: list[str], seed: int) -> pd.DataFrame:
    """Each reviewer's tasks: scratch first, then drafts, then side by side; seeded within."""
    frame = pd.DataFrame(tasks, columns=[c for c in TASK_COLUMNS if c != "position"])
    mode_rank = {"scratch": 0, "drafts": 1, "side_by_side": 2}
    parts = []
    for i, name in enumerate(names):
        mine = frame[frame["reviewer"] == name]
        rng = np.random.default_rng([seed, i])
        mine = mine.assign(
            _mode=mine["mode"].map(mode_rank), _shuffle=rng.permutation(len(mine))
        ).sort_values(["_mode", "_shuffle"])
        parts.append(mine.drop(columns=["_mode", "_shuffle"]).assign(position=range(len(mine))))
    out = pd.concat(parts, ignore_index=True) if parts else frame.assign(position=[])
    return out[TASK_COLUMNS].reset_index(drop=True)


def sized(tasks: pd.DataFrame, drafts: int) -> pd.DataFrame:
    """The queue cut to the pilot's sample: ``drafts`` first reviews of drafts, spread evenly
    over the reviewers in each one's own order, with their second reviews; the from-scratch and
    side-by-side pages stay. ``attrs["sized"]`` says how many were needed and how many fit."""
    firsts = tasks[(tasks["mode"] == "drafts") & (tasks["review"] == 1)]
    order = firsts.assign(_round=firsts.groupby("reviewer").cumcount())
    kept = set(order.sort_values(["_round", "position"], kind="stable").head(drafts)["draft_id"])
    out = tasks[(tasks["mode"] != "drafts") | tasks["draft_id"].isin(kept)].copy()
    out["position"] = out.groupby("reviewer").cumcount()
    out = out.reset_index(drop=True)
    out.attrs = {**tasks.attrs, "sized": {"needed": int(drafts), "in_queue": len(kept)}}
    return out
