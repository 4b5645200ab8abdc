"""A judging pass: rate drafts with the LLM judge, as a client of the one model-call engine.

Every judge call goes through :class:`harness.engine.calls.Engine`, like a candidate's: the judge's
destination is approved before any request, the family's message and the draft are redacted
when the plan redacts, keys are scrubbed, replies are cached (keyed on the judge model, the
messages and the parameters, the response format included, so re-scoring makes no calls),
retried and recorded. A reply that cannot be read is answered with a repair turn, up to
``max_attempts`` replies; then the row stays unscored (NaN): a score is never guessed.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import aio
from harness.data.dataset import Dataset
from harness.engine.cache import ResponseCache
from harness.engine.calls import Engine, Request, Retries, Target
from harness.plan.spec import JudgeSpec
from harness.scorers.rubric import REPAIR, Rubric, load_rubric, parse_reply, response_format
from harness.store.runs import default_results_dir

_REDACTED_FIELDS = ("input", "reference", "staff_first_draft")


def judge_request(spec: JudgeSpec, rubric: Rubric) -> Request:
    """The judge's engine request: its model, endpoint, key variable, parameters, format."""
    return Request(
        model=spec.model,
        api_base=spec.api_base,
        api_key_env=spec.api_key_env,
        params=dict(spec.params),
        response_format=response_format(spec, rubric),
        timeout=spec.timeout,
        concurrency=spec.concurrency,
    )


class JudgePrompt:
    """Renders (item, draft) into chat messages with the rubric's Jinja2 templates."""

    def __init__(self, rubric: Rubric, dataset: Dataset, rationale: bool = True):
        from harness.scorers.rubric import template_env

        env = template_env()
        self.rubric = rubric
        self.rationale = rationale  # False: the example the prompt shows has no rationale
        self.user = env.from_string(rubric.prompt)
        self.system = env.from_string(rubric.system) if rubric.system else None
        self.dataset = dataset

    def messages(self, item: dict[str, Any], draft: str) -> list[dict[str, str]]:
        ctx = {
            "item": item,
            "sources": self.dataset.source_texts(list(item.get("source_ids") or [])),
            "task": item.get("task"),
            "draft": draft,
            "criteria": [c.model_dump() for c in self.rubric.criteria],
            "json_example": self.rubric.json_example(self.rationale),
        }
        msgs = []
        if self.system is not None:
            msgs.append({"role": "system", "content": self.system.render(ctx).strip()})
        msgs.append({"role": "user", "content": self.user.render(ctx).strip()})
        return msgs


def _item(dataset: Dataset, item_id: str) -> dict[str, Any]:
    row = dataset.items.loc[item_id]
    out = {str(k): (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
    out["id"] = str(item_id)
    return out


@dataclass
class JudgeCounts:
    """What a judging pass cost: network calls made, replies served from the cache, and the
    seconds from the pass's start until the last draft of each part was rated."""

    calls: int = 0
    cached: int = 0
    cost_usd: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)


def _result_columns(criteria: Sequence[str]) -> list[str]:
    return [*criteria, "rationale", "replies", "calls", "cached", "error"]


def judge_engine(
    *,
    governance: str | Path | None = None,
    redact: str = "off",
    people: list[str] | None = None,
    cache: bool = True,
    cache_path: str | Path | None = None,
    retries: int = 4,
    backoff_base: float = 0.5,
    backoff_max: float = 30.0,
) -> Engine:
    """An engine for a judging pass outside a run (approval: the governance file, else only
    this machine)."""
    from harness.engine.protect import approval_list

    approved, source = approval_list(governance)
    path = Path(cache_path) if cache_path else default_results_dir() / ".cache" / "responses.sqlite"
    return Engine(
        approved,
        source,
        redact=redact,
        people=people,
        cache=ResponseCache(path) if cache else None,
        retries=Retries(retries, backoff_base, backoff_max),
        log_dir=path.parent,  # the embedded server's log goes beside the response cache
    )


def judge_drafts(
    drafts: pd.DataFrame,
    dataset: Dataset,
    spec: JudgeSpec,
    rubric: Rubric | None = None,
    *,
    engine: Engine | None = None,
    cache: bool = True,
    cache_path: str | Path | None = None,
    retries: int = 4,
    backoff_base: float = 0.5,
    backoff_max: float = 30.0,
    counts: JudgeCounts | None = None,
    governance: str | Path | None = None,
    redact: str = "off",
    progress: bool | Sequence[tuple[str, int]] = True,
) -> pd.DataFrame:
    """Rate each draft (columns ``item_id`` and ``draft``) with the judge.

    Args:
        engine: the engine whose approval, redaction and cache apply (a run's scoring pass
            passes its own); default: one with ``governance``'s approval list (else only this
            machine), ``redact`` (off, non_local, all) and the response cache at ``cache_path``.
        progress: a progress bar (tqdm, notebook-aware); parts as ``(name, rows)`` in row
            order (the run's drafts, calibration, bias probe) count each part on the bar and
            time it in ``counts.seconds``.

    Returns:
        One row per input row (same index): a whole score 1-5 per criterion (NaN: unscored),
        ``rationale``, ``replies`` read, network ``calls`` made, ``cached`` (every reply came
        from the cache) and ``error`` (why a row is unscored).

    Raises:
        RunError: the judge's destination is not approved (nothing is sent).
    """
    rubric = rubric or load_rubric(spec.rubric)
    counts = counts if counts is not None else JudgeCounts()
    cols = _result_columns(rubric.names)
    own = engine is None
    eng = engine or judge_engine(
        governance=governance,
        redact=redact,
        people=dataset.people["name"].tolist() if dataset.people is not None else [],
        cache=cache,
        cache_path=cache_path,
        retries=retries,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
    )
    try:
        target = eng.target("judge", judge_request(spec, rubric))  # approval before anything
        if drafts.empty:
            return pd.DataFrame(columns=cols, index=drafts.index)
        builder = JudgePrompt(rubric, dataset, rationale=spec.rationale_chars != 0)
        jobs = []
        for idx, iid, draft in zip(
            drafts.index, drafts["item_id"], drafts["draft"].fillna(""), strict=True
        ):
            item = _item(dataset, str(iid))
            for f in _REDACTED_FIELDS:
                if isinstance(item.get(f), str):
                    item[f] = eng.redact(target, item[f])
            jobs.append((idx, builder.messages(item, eng.redact(target, str(draft)))))
        parts = list(progress) if not isinstance(progress, bool) else [("judge", len(jobs))]
        bar = _Bar(parts, counts, enabled=progress is not False)
        rows = aio.run(_judge_all(eng, target, jobs, spec, rubric, counts, own, bar))
    finally:
        # an engine of our own is stopped once, by _judge_all in the loop's thread (before it
        # runs, nothing was started); its cache is ours to close
        if own and eng.cache is not None:
            eng.cache.close()
    out = pd.DataFrame([r for _, r in sorted(rows.items(), key=lambda kv: kv[0][0])], columns=cols)
    out.index = drafts.index
    for c in rubric.names:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(np.float64)
    out["replies"] = out["replies"].astype("int64")
    out["calls"] = out["calls"].astype("int64")
    out["cached"] = out["cached"].astype(bool)
    return out


async def _judge_all(
    engine: Engine,
    target: Target,
    jobs: list[tuple[Any, list[dict[str, str]]]],
    spec: JudgeSpec,
    rubric: Rubric,
    counts: JudgeCounts,
    own: bool,
    bar: _Bar,
) -> dict[tuple[int, Any], dict[str, Any]]:
    results: dict[tuple[int, Any], dict[str, Any]] = {}

    async def one(pos: int, idx: Any, msgs: list[dict[str, str]]) -> None:
        row: dict[str, Any] = dict.fromkeys(rubric.names, math.nan)
        row.update(rationale=None, replies=0, calls=0, cached=True, error=None)
        problems: list[str] = []
        for n in range(1, spec.max_attempts + 1):
            out = await engine.complete(target, msgs, engine.cache_key(target, msgs, 0))
            row["calls"] += out.attempts
            row["cached"] = row["cached"] and out.cached
            if out.cached:
                counts.cached += 1
            else:
                counts.calls += out.attempts
                counts.cost_usd += (out.result.cost_usd if out.result else None) or 0.0
            text = out.output
            if text is None:
                why = "; ".join(out.errors[-3:]) or "no reply"
                problems.append(f"reply {n}: no answer ({why})")
                break
            row["replies"] = n
            try:
                j = parse_reply(text, rubric.names)
            except ValueError as exc:
                problems.append(f"reply {n}: {exc}")
                msgs = [
                    *msgs,
                    {"role": "assistant", "content": text},
                    {
                        "role": "user",
                        "content": REPAIR.format(
                            example=rubric.json_example(spec.rationale_chars != 0)
                        ),
                    },
                ]
                continue
            row.update(j.scores, rationale=j.rationale)
            problems = []
            break
        row["error"] = "; ".join(problems)[:2000] if problems else None
        results[(pos, idx)] = row
        bar.done(pos)

    try:
        # Sent in the order of their text, not of the rows: a server that reuses the prefix a
        # prompt shares with the previous one (the embedded llama.cpp server) then reads the
        # rubric and an item's sources once for the drafts of one item, and a length-bias probe
        # right after its own draft. Rows and the parts' counts keep their positions.
        order = sorted(range(len(jobs)), key=lambda i: _text(jobs[i][1]))
        await asyncio.gather(*(one(i, *jobs[i]) for i in order))
    finally:
        bar.close()
        engine.detach()
        if own:
            engine.__exit__(None, None, None)  # the embedded server stops in the loop's thread
    return results


def _text(msgs: list[dict[str, str]]) -> str:
    return "\x00".join(m["content"] for m in msgs)


class _Bar:
    """The judging pass's progress bar, counted per part (drafts, calibration, bias probe)."""

    def __init__(self, parts: list[tuple[str, int]], counts: JudgeCounts, enabled: bool):
        from tqdm.auto import tqdm

        self.parts = [(name, n) for name, n in parts if n]
        self.ends = list(itertools.accumulate(n for _, n in self.parts))
        self.left = {name: n for name, n in self.parts}
        self.counts = counts
        self.t0 = time.monotonic()
        total = self.ends[-1] if self.ends else 0
        label = ", ".join(f"{n} {name}" for name, n in self.parts)
        self.bar = tqdm(
            total=total,
            desc=f"judge ({label})" if len(self.parts) > 1 else "judge",
            unit="draft",
            disable=not enabled or not total,
            dynamic_ncols=True,
            mininterval=0.5,
        )

    def done(self, pos: int) -> None:
        k = bisect.bisect_right(self.ends, pos)
        name = self.parts[min(k, len(self.parts) - 1)][0]
        self.left[name] -= 1
        if not self.left[name]:
            self.counts.seconds[name] = round(time.monotonic() - self.t0, 2)
        self.bar.update(1)
        if len(self.parts) > 1:
            todo = {p: n for p, n in self.left.items() if n}
            self.bar.set_postfix(todo or {"left": 0}, refresh=False)

    def close(self) -> None:
        self.bar.close()
