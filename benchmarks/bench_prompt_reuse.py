"""How many prompt tokens the embedded server must read for the demo, in the order the harness
sends its calls.

llama-cpp-python's server answers one request at a time and reuses the longest token prefix a
prompt shares with the previous request; the rest of the prompt is read token by token, and on
2 cores reading the prompt is most of the demo's model time (about 7 ms of CPU per prompt token
on one thread, against about 15 ms per generated token, and a demo draft's prompt holds
600-1,300 tokens for 150 generated). This counts, without running the model (so the figure does
not depend on the machine's load), the tokens left to read for the demo's 32 SmolLM2 drafts and
for its judging pass (the 32 drafts, the 16 rated drafts of the calibration sample, the
length-bias probe), in the row order (before) and in the order of the prompts' text (what
``harness.run.model_calls`` and ``harness.scorers.judging`` send now). The judge's prompts end with
the draft it rates; the approved answer stands in for the SmolLM2 drafts, which only a run makes.
The demo's judge grades against the approved answer alone (rubrics/judge_short.yaml version 2);
two more rows count what it read with the approved sources too (version 1: each cut to 400
characters) and with them cut to 200 characters: the options the decision was taken on, not
what the demo sends.

    .venv/bin/python benchmarks/bench_prompt_reuse.py
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from _common import REPO, save, table


def _tokenizer() -> Any:
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from harness.engine.local import gguf_path

    llm = llama_cpp.Llama(str(gguf_path()), vocab_only=True, verbose=False)
    fmt = Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=llm._model.token_get_text(llm.token_eos()),
        bos_token=llm._model.token_get_text(llm.token_bos()),
    )

    def tokens(msgs: list[dict[str, str]]) -> list[int]:
        prompt = fmt(messages=msgs).prompt
        return list(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    return tokens


def to_read(prompts: Sequence[list[int]]) -> int:
    """Prompt tokens read when each prompt reuses the prefix it shares with the previous one."""
    total, prev = 0, []
    for p in prompts:
        shared = 0
        for a, b in zip(prev, p, strict=False):
            if a != b:
                break
            shared += 1
        total += len(p) - shared
        prev = p
    return total


def _text(msgs: list[dict[str, str]]) -> str:
    return "\x00".join(m["content"] for m in msgs)


def main() -> None:
    from harness.candidates.prompts import PromptBuilder
    from harness.data.dataset import load_dataset
    from harness.plan.spec import load_plan
    from harness.run.runner import item_dict
    from harness.run.selection import select_items
    from harness.scorers.calibration import drafts_to_check
    from harness.scorers.judge import FILLER, _probe_rows
    from harness.scorers.judging import JudgePrompt, _item
    from harness.scorers.rubric import load_rubric

    tokens = _tokenizer()
    plan = load_plan(REPO / "plans" / "demo.yaml")
    ds = load_dataset(plan.dataset_path())
    items, _ = select_items(plan, ds)
    spec = next(c for c in plan.candidates if c.name == "smollm2")
    builder = PromptBuilder(spec, plan, ds, REPO / "results" / ".cache" / "knowledge")
    drafts = [builder.prompt(item_dict(row))[0] for _, row in items.iterrows()]

    assert plan.judge is not None
    js = plan.judge
    rubric = load_rubric(plan.resolve(js.rubric))
    judge = JudgePrompt(rubric, ds)
    sub = pd.DataFrame(
        {"item_id": items.index, "output": items["reference"].astype(str), "candidate": "smollm2"}
    )
    assert ds.ratings is not None
    rated = drafts_to_check(ds.ratings, rubric.names, js.calibration_sample)
    probes = _probe_rows(sub, js)
    rows = [
        *zip(sub["item_id"], sub["output"], strict=True),
        *zip(rated["item_id"], rated["draft"], strict=True),
        *((sub.loc[k, "item_id"], sub.loc[k, "output"] + FILLER) for k in probes),
    ]
    judged = [judge.messages(_item(ds, str(i)), str(d)) for i, d in rows]

    # what the judge read before it graded against the approved answer alone (rubrics/
    # judge_short.yaml version 1: each approved source too, cut to 400 characters), and with
    # the sources cut to 200 characters: the options the decision was taken on
    from harness.scorers.rubric import Rubric

    def judged_with(r: Rubric) -> list[list[dict[str, str]]]:
        jp = JudgePrompt(r, ds)
        return [jp.messages(_item(ds, str(i)), str(d)) for i, d in rows]

    def with_sources(chars: int) -> Rubric:
        block = (
            "Approved sources:\n{% for s in sources %}\n### {{ s.title }}\n"
            f'{{{{ s.text | truncate({chars}, true, " ...") }}}}\n'
            "{% else %}\n(none: the reply should not state facts; it should say a staff member "
            "will follow up)\n{% endfor %}\n\n"
        )
        prompt = rubric.prompt.replace("Parent's message:", block + "Parent's message:", 1)
        return rubric.model_copy(update={"prompt": prompt})

    options = [
        ("judge, sources cut to 400 chars (v1)", judged_with(with_sources(400))),
        ("judge, sources cut to 200 chars", judged_with(with_sources(200))),
    ]
    out = []
    n = len(judged)
    for name, calls in (("32 drafts", drafts), (f"judge ({n} calls)", judged), *options):
        before = [tokens(m) for m in calls]
        after = [tokens(m) for m in sorted(calls, key=_text)]
        total = sum(len(p) for p in before)
        b, a = to_read(before), to_read(after)
        out.append(
            {
                "calls": name,
                "prompt_tokens": total,
                "read_before": b,
                "read_after": a,
                "after/before": f"{a / b:.3f}",
            }
        )
    print(table(out, ["calls", "prompt_tokens", "read_before", "read_after", "after/before"]))
    save("bench_prompt_reuse", {"rows": out})


if __name__ == "__main__":
    main()
