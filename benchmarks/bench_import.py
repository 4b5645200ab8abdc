"""Import at scale: a 100,000-row CSV export and 1,000 policy documents, time and peak memory.

Builds a ``question,answer,category,date`` CSV of 100,000 rows from the sample district's
questions and approved answers (each row a distinct question) and a folder of 1,000 source
documents (250 each of PDF, DOCX, HTML and Markdown, written from the sample district's
sources by tests/importers/makedocs.py), then times each stage as a whole ``harness`` process
with its peak resident memory (``ru_maxrss`` of the child): the CSV alone, the documents alone,
both in one import, and ``harness validate`` of the result.

    .venv/bin/python benchmarks/bench_import.py [--rows 100000] [--docs 1000] [--repeat 1]
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    SAMPLE,
    arg_parser,
    child_env,
    harness_cmd,
    load,
    median,
    run_child,
    save,
    scratch,
    table,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.importers.makedocs import make_docx, make_html, make_pdf


def build_export(path: Path, rows: int, seed: int = 7) -> None:
    from harness.data.dataset import load_dataset

    items = load_dataset(SAMPLE).items
    faq = items[items["task"] == "faq_reply"]
    pool = list(zip(faq["input"], faq["reference"], faq["category"], strict=True))
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "answer", "category", "date"])
        for n in range(rows):
            q, a, c = pool[n % len(pool)]
            day = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            w.writerow([f"{q} (ref {n})", a, c, day])


def build_documents(folder: Path, docs: int) -> None:
    from harness.data.dataset import load_dataset

    sources = load_dataset(SAMPLE).sources
    texts = list(zip(sources["title"], sources["text"], strict=True))
    folder.mkdir(parents=True)
    for n in range(docs):
        title, text = texts[n % len(texts)]
        title = f"{title} (copy {n})"
        paras = [p.replace("#", "").strip() for p in text.split("\n\n") if p.strip()]
        kind = n % 4
        if kind == 0:
            lines = [title, *[ln[:95] for p in paras for ln in p.splitlines()][:45]]
            latin = [ln.encode("latin-1", "replace").decode("latin-1") for ln in lines]
            make_pdf(folder / f"policy-{n}.pdf", latin, title=title, moddate="D:20250701")
        elif kind == 1:
            make_docx(folder / f"handbook-{n}.docx", title, paras, title=title)
        elif kind == 2:
            make_html(folder / f"page-{n}.html", title, title, paras)
        else:
            (folder / f"note-{n}.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")


def main() -> None:
    p = arg_parser(__doc__)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--docs", type=int, default=1_000)
    p.set_defaults(repeat=1)
    args = p.parse_args()
    env = child_env()
    with scratch("import") as tmp:
        export, docs = tmp / "export.csv", tmp / "policies"
        build_export(export, args.rows)
        build_documents(docs, args.docs)
        stages = [
            ("import CSV", lambda out: harness_cmd("import", str(export), str(out))),
            ("import-sources", lambda out: harness_cmd("import-sources", str(docs), str(out))),
            (
                "import CSV + sources",
                lambda out: harness_cmd("import", str(export), str(out), "--sources", str(docs)),
            ),
        ]
        rows = []
        for name, cmd in stages:
            walls, peaks = [], []
            for r in range(args.repeat):
                out = tmp / f"out-{len(rows)}-{r}"
                wall, _, peak = run_child(cmd(out), env, timeout=1800)
                walls.append(wall)
                peaks.append(peak)
            rows.append({"stage": name, "seconds": round(median(walls), 1),
                         "peak_MiB": round(max(peaks))})  # fmt: skip
        walls, peaks = [], []
        for _ in range(args.repeat):
            wall, _, peak = run_child(
                harness_cmd("validate", str(tmp / "out-2-0")), env, timeout=1800
            )
            walls.append(wall)
            peaks.append(peak)
        rows.append({"stage": "validate", "seconds": round(median(walls), 1),
                     "peak_MiB": round(max(peaks))})  # fmt: skip
        n_sources = len(list((tmp / "out-2-0" / "sources").glob("*.md")))
    print(f"{args.rows} rows, {args.docs} documents -> {n_sources} sources; load {load()}")
    print(table(rows, ["stage", "seconds", "peak_MiB"]))
    save(
        "bench_import",
        {"rows": args.rows, "documents": args.docs, "sources_written": n_sources,
         "load_after": load(), "stages": rows},
    )  # fmt: skip


if __name__ == "__main__":
    main()
