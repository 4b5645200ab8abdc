"""Child process: the PEERS.md workload as a bare litellm loop, no harness (the peers' floor).

argv[1] is a JSON file: ``base_url``, ``messages`` (one chat per call, the harness's own
rendered prompts) and ``references``. Imports litellm, sends every call with at most 8 in
flight (litellm's own defaults otherwise), scores each answer by normalized Levenshtein
similarity and prints one JSON line: calls answered and the mean similarity.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    import litellm
    from rapidfuzz.distance import Levenshtein

    litellm.telemetry = False
    sem = asyncio.Semaphore(8)

    async def one(msgs: list[dict[str, str]]) -> str | None:
        async with sem:
            try:
                r: Any = await litellm.acompletion(
                    model="openai/loopback",
                    messages=msgs,
                    api_base=spec["base_url"],
                    api_key="no-key-configured",
                    max_tokens=50,
                )
            except Exception:
                return None
            return str(r.choices[0].message.content)

    async def run() -> list[str | None]:
        return list(await asyncio.gather(*(one(m) for m in spec["messages"])))

    outs = asyncio.run(run())
    sims = [
        Levenshtein.normalized_similarity(o, ref)
        for o, ref in zip(outs, spec["references"], strict=True)
        if o is not None
    ]
    print(json.dumps({"ok": len(sims), "similarity": sum(sims) / max(1, len(sims))}), flush=True)


if __name__ == "__main__":
    main()
