"""``import_export``: a district's export (and optionally its policy files) -> a dataset folder."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from harness.data.mapping import mapping_table, meta_name, resolve_mapping
from harness.errors import Problem
from harness.importers.ids import IdAllocator, slug
from harness.importers.links import detect_languages, propose_source_links
from harness.importers.reimport import merge, read_items
from harness.importers.sources import import_sources
from harness.importers.suggest import add_suggestions, suggestion_counts
from harness.importers.tables import DatasetImportError, Table, read_table

DEFAULT_TASK = "faq_reply"
DEFAULT_CATEGORY = "general"
MARK_BEGIN = "<!-- harness import: begin (rewritten by every import) -->"
MARK_END = "<!-- harness import: end -->"
_RESERVED = {
    "id", "task", "input", "reference", "source_ids", "category", "required_facts",
    "sensitive", "sensitive_reason", "staff_first_draft", "paraphrase_group", "date",
    "channel", "language",
}  # fmt: skip
_YES = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False,
        "false": False, "0": False, "": False}  # fmt: skip


@dataclass
class ImportResult:
    """What an import wrote and what it could not use."""

    out: Path
    items: int
    mapping: pd.DataFrame
    encoding: str
    delimiter: str | None
    skipped: pd.DataFrame
    repeats: int = 0
    dates_unparsed: int = 0
    sources: pd.DataFrame | None = None
    sources_skipped: pd.DataFrame | None = None
    suggestions: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    # a re-import: one row per added / changed / removed item, and the counts (reimport.merge)
    changes: pd.DataFrame | None = None
    change_counts: dict[str, int] | None = None
    sources_removed: pd.DataFrame | None = None
    # phones, emails and web addresses the approved answers and policies publish (official,
    # never personal data): harness.scorers.contacts.official_contacts
    contacts: pd.DataFrame | None = None
    languages: dict[str, int] = field(default_factory=dict)  # detected: language -> items
    links: int = 0  # items given proposed source links

    def summary(self) -> str:
        """A few lines for the terminal: the mapping, counts and what was skipped."""
        lines = ["column mapping (override with --map field=column):"]
        lines += ["  " + ln for ln in self.mapping.to_string(index=False).splitlines()]
        enc = self.encoding + (f", delimiter {self.delimiter!r}" if self.delimiter else "")
        lines.append(f"read as {enc}" + (f"; {'; '.join(self.notes)}" if self.notes else ""))
        lines.append(f"{self.items} items written to {self.out / 'items.jsonl'}")
        lines += self._difference()
        if self.repeats:
            lines.append(
                f"{self.repeats} rows repeat an earlier question (ids from question+answer)"
            )
        if self.dates_unparsed:
            lines.append(f"{self.dates_unparsed} dates not understood: kept as date_raw")
        if len(self.skipped):
            head = ", ".join(str(n) for n in self.skipped["line"].head(10))
            lines.append(f"{len(self.skipped)} rows skipped (no question or answer): {head}")
        if self.sources is not None:
            lines += source_lines(
                self.sources, self.sources_skipped, self.sources_removed, self.out
            )
        if self.languages:
            langs = ", ".join(f"{n} {k}" for k, n in sorted(self.languages.items()))
            lines.append(f"language detected from the messages: {langs} (language_detected)")
        if self.suggestions is not None:
            pending = self.suggestions["pending"].to_dict()
            lines.append(
                f"suggested for review: {pending['required_facts']} required facts, "
                f"{pending['sensitive']} sensitive items, "
                f"{pending.get('source_links', 0)} source links "
                f"(harness suggestions export {self.out} suggestions.csv)"
            )
        if self.contacts is not None:
            from harness.scorers.contacts import contact_lines

            lines += contact_lines(self.contacts)
        return "\n".join(lines)

    def _difference(self) -> list[str]:
        """The re-import's difference: counts, then each item added, changed or removed."""
        c = self.change_counts
        if c is None or self.changes is None:
            return []
        lines = [
            f"re-import: {c['added']} added, {c['changed']} changed, {c['removed']} removed, "
            f"{c['unchanged']} unchanged; {c['reviews_kept']} reviewed suggestions kept"
            + (
                f", {c['reviews_dropped']} dropped (answer or question changed, or item removed)"
                if c["reviews_dropped"]
                else ""
            )
        ]
        for r in self.changes.head(MAX_LISTED).itertuples():
            what = f" ({r.fields})" if r.fields else ""
            note = f": {r.note}" if r.note else ""
            lines.append(f"  {r.change} {r.id}{what} {_short(r.question)}{note}")
        if len(self.changes) > MAX_LISTED:
            lines.append(f"  ... and {len(self.changes) - MAX_LISTED} more (ImportResult.changes)")
        return lines


MAX_LISTED = 20
_FRONT = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.S)


def _contacts(records: list[dict[str, Any]], sources: Path) -> pd.DataFrame:
    """The official contacts in the approved answers written and the dataset's sources."""
    from harness.scorers.contacts import official_contacts

    texts = []
    for p in sorted(sources.glob("*.md")):
        if p.is_file() and not p.is_symlink():
            texts.append(_FRONT.sub("", p.read_text(encoding="utf-8", errors="replace"), 1))
    return official_contacts(((r.get("reference", ""), r.get("input", "")) for r in records), texts)


def _short(text: str, n: int = 60) -> str:
    one = " ".join(str(text).split())
    return repr(one if len(one) <= n else one[: n - 1] + "…")


def source_lines(
    done: pd.DataFrame, skipped: pd.DataFrame | None, removed: pd.DataFrame | None, out: Path
) -> list[str]:
    """What a source import did, for the terminal: counts by change, skipped and removed files."""
    n = done["change"].value_counts() if len(done) else pd.Series(dtype=int)
    parts = [f"{int(n.get(k, 0))} {k}" for k in ("added", "changed", "unchanged") if n.get(k, 0)]
    lines = [
        f"{len(done)} sources written to {out / 'sources'}"
        + (f" ({', '.join(parts)})" if parts else "")
    ]
    for _, r in (skipped if skipped is not None else pd.DataFrame()).iterrows():
        lines.append(f"  skipped {r['file']}: {r['reason']}")
    for _, r in (removed if removed is not None else pd.DataFrame()).iterrows():
        lines.append(f"  removed sources/{r['id']}.md ({r['file']}): {r['reason']}")
    return lines


def _list(value: str) -> list[str]:
    s = value.strip()
    if s.startswith("["):
        try:
            got = json.loads(s)
            if isinstance(got, list):
                return [str(v).strip() for v in got if str(v).strip()]
        except json.JSONDecodeError:
            pass
    return [p.strip() for p in re.split(r"[;\n]", s) if p.strip()]


def _dates(raw: list[str]) -> list[str | None]:
    """Each date as YYYY-MM-DD (month first when ambiguous), None where not a date."""
    uniq = sorted({r for r in raw if r})
    if not uniq:
        return [None] * len(raw)
    parsed = pd.to_datetime(pd.Series(uniq), errors="coerce", format="mixed")
    table = {
        u: (None if pd.isna(d) else d.date().isoformat()) for u, d in zip(uniq, parsed, strict=True)
    }
    return [table.get(r) if r else None for r in raw]


def _check_out(out: Path) -> None:
    others = [n for n in ("items.csv", "items.parquet") if (out / n).exists()]
    readme = out / "README.md"
    ours = readme.is_file() and MARK_BEGIN in readme.read_text(encoding="utf-8", errors="replace")
    if others or ((out / "items.jsonl").exists() and not ours):
        raise DatasetImportError(
            f"import into {out}",
            [
                Problem(
                    str(out),
                    None,
                    None,
                    "already holds a dataset that harness import did not write",
                    "import into a new folder (re-importing into a folder it wrote is fine)",
                )
            ],
        )


def _records(
    table: Table, mapping: dict[str, str], task: str, category: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, int]:
    mapped = set(mapping.values())
    extra = [c for c in table.columns if c not in mapped]
    meta = {c: (n if n not in _RESERVED else f"export_{n}") for c in extra for n in [meta_name(c)]}
    dates = (
        _dates([row.get(mapping["date"], "") for row in table.rows]) if "date" in mapping else None
    )
    ids = IdAllocator()
    records, skipped = [], []
    unparsed = 0
    for i, (row, line) in enumerate(zip(table.rows, table.line_numbers, strict=True)):
        q, a = row.get(mapping["input"], ""), row.get(mapping["reference"], "")
        if not q or not a:
            skipped.append({"line": line, "missing": "question" if not q else "answer"})
            continue
        rec: dict[str, Any] = {
            "id": ids(q, a),
            "task": (row.get(mapping["task"], "") if "task" in mapping else "") or task,
            "input": q,
            "reference": a,
            "source_ids": [slug(Path(s).stem) if "." in s else slug(s)
                           for s in _list(row.get(mapping["source_ids"], ""))]
            if "source_ids" in mapping else [],
            "category": (row.get(mapping["category"], "") if "category" in mapping else "")
            or category,
        }  # fmt: skip
        if dates is not None and row.get(mapping["date"]):
            if dates[i]:
                rec["date"] = dates[i]
            else:
                rec["date_raw"] = row[mapping["date"]]
                unparsed += 1
        for fld in ("language", "channel", "school", "sensitive_reason", "staff_first_draft",
                    "paraphrase_group", "export_id"):  # fmt: skip
            if fld in mapping and row.get(mapping[fld]):
                rec[fld] = row[mapping[fld]]
        if "required_facts" in mapping and row.get(mapping["required_facts"]):
            rec["required_facts"] = _list(row[mapping["required_facts"]])
        if "sensitive" in mapping:
            v = row.get(mapping["sensitive"], "").strip().lower()
            if v in _YES:
                rec["sensitive"] = _YES[v]
        for col, name in meta.items():
            if row.get(col):
                rec[name] = row[col]
        records.append(add_suggestions(rec))
    return records, skipped, ids.repeats, unparsed


def _readme(out: Path, src: Path, digest: str, res: ImportResult, sources: Path | None) -> None:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        MARK_BEGIN,
        "## Provenance (harness import)",
        "",
        f"- imported {when} from `{src.name}` (SHA-256 `{digest}`), read as {res.encoding}"
        + (f" with delimiter `{res.delimiter!r}`" if res.delimiter else ""),
        f"- {res.items} items written; {len(res.skipped)} rows skipped without a question or "
        f"answer; ids are `q-` + SHA-256 of the normalised question (stable across re-imports)",
        "- column mapping:",
        "",
        "| field | column |",
        "|---|---|",
        *[f"| {r.field} | {str(r.column).replace('|', '/')} |" for r in res.mapping.itertuples()],
    ]
    if res.change_counts is not None:
        c = res.change_counts
        lines.append(
            f"- re-import: {c['added']} added, {c['changed']} changed, {c['removed']} removed, "
            f"{c['unchanged']} unchanged items; {c['reviews_kept']} reviewed suggestions kept, "
            f"{c['reviews_dropped']} dropped (answer or question changed, or item removed)"
        )
    if sources is not None and res.sources is not None:
        lines += [
            "",
            f"- {len(res.sources)} sources from `{sources.name}/`; each source's front matter "
            "names its original file and SHA-256",
        ]
        skipped = res.sources_skipped if res.sources_skipped is not None else pd.DataFrame()
        lines += [f"  - skipped `{r['file']}`: {r['reason']}" for _, r in skipped.iterrows()]
        removed = res.sources_removed if res.sources_removed is not None else pd.DataFrame()
        lines += [
            f"  - removed `sources/{r['id']}.md` (`{r['file']}`): {r['reason']}"
            for _, r in removed.iterrows()
        ]
    lines += [
        "- `suggested_required_facts` / `suggested_sensitive` are proposals no gate uses: review "
        "them with `harness suggestions export` and `harness suggestions accept`",
        MARK_END,
    ]
    block = "\n".join(lines) + "\n"
    readme = out / "README.md"
    old = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if MARK_BEGIN in old and MARK_END in old:
        head, rest = old.split(MARK_BEGIN, 1)
        text = head + block + rest.split(MARK_END, 1)[1].lstrip("\n")
    else:
        intro = old or (
            f"# {out.name}\n\nWhat this dataset is, where it came from and its licence: "
            "write it here (the import keeps this text).\n\n"
        )
        text = intro.rstrip("\n") + "\n\n" + block
    readme.write_text(text, encoding="utf-8")


def _write_items(out: Path, records: list[dict[str, Any]]) -> None:
    tmp = out / "items.jsonl.tmp"
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(out / "items.jsonl")


def import_export(
    src: str | Path,
    out: str | Path,
    *,
    mapping: dict[str, str] | None = None,
    task: str = DEFAULT_TASK,
    category: str = DEFAULT_CATEGORY,
    sources: str | Path | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
) -> ImportResult:
    """Turn a CSV/XLSX/JSON/JSONL export into a dataset folder that ``harness validate`` accepts.

    Args:
        src: the export file.
        out: the dataset folder to write (created; re-importing into a folder this wrote
            replaces its items and keeps the rest of its README).
        mapping: overrides of the inferred column mapping, field -> column ("" turns one off).
        task: the task of rows without a task column (default faq_reply).
        category: the category of rows without one (default general).
        sources: a folder of policy files (PDF, DOCX, HTML, Markdown, text) to import too.
        sheet: for XLSX, the sheet to read (default: the first).
        encoding: force the text encoding of a CSV/JSON export (default: detected).

    Returns:
        An :class:`ImportResult` (its ``summary()`` is what the CLI prints).

    Raises:
        DatasetImportError: the export cannot be read or mapped, or ``out`` holds another
            dataset; every problem names the file, line and field.
    """
    src_p, out_p = Path(src), Path(out)
    table = read_table(src_p, sheet, encoding)
    resolved, problems = resolve_mapping(table.columns, mapping, str(src_p))
    if problems:
        raise DatasetImportError(f"export {src_p}", problems)
    if not re.match(r"^[a-z][a-z0-9_]*$", task):
        raise DatasetImportError(
            f"export {src_p}",
            [Problem(str(src_p), None, "task", f"'{task}' is not a task name", "e.g. faq_reply")],
        )
    _check_out(out_p)
    records, skipped, repeats, unparsed = _records(table, resolved, task, category)
    languages = detect_languages(records)  # before the merge: a re-import compares like with like
    previous = read_items(out_p / "items.jsonl") if (out_p / "items.jsonl").is_file() else None
    changes = counts = None
    if previous is not None:
        records, changes, counts = merge(previous, records)
    out_p.mkdir(parents=True, exist_ok=True)
    (out_p / "sources").mkdir(exist_ok=True)
    (out_p / "sources" / ".gitkeep").touch()  # git keeps the folder before any source is added
    _write_items(out_p, records)
    result = ImportResult(
        out=out_p,
        items=len(records),
        mapping=mapping_table(resolved, table.columns),
        encoding=table.encoding,
        delimiter=table.delimiter,
        skipped=pd.DataFrame(skipped, columns=["line", "missing"]),
        repeats=repeats,
        dates_unparsed=unparsed,
        suggestions=suggestion_counts(records),
        notes=list(table.notes),
        changes=changes,
        change_counts=counts,
    )
    if sources is not None:
        result.sources, result.sources_skipped, result.sources_removed = import_sources(
            sources, out_p
        )
        result.links = propose_source_links(out_p, records)
        if result.links:
            _write_items(out_p, records)
            result.suggestions = suggestion_counts(records)
    result.languages = languages
    result.contacts = _contacts(records, out_p / "sources")
    digest = hashlib.sha256(src_p.read_bytes()).hexdigest()
    _readme(out_p, src_p, digest, result, Path(sources) if sources is not None else None)
    return result
