"""The pilot protocol in the reports: its hash on page 1, its measures and sample, every change
made after it was frozen (highlighted, with its time), and "not enough evidence yet" when the
pilot has fewer reviewed drafts than the protocol said it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from harness.report.format import STYLE, esc, fmt, note, table_html
from harness.store.pilotlog import NO_ENTRIES, none_for_workflow
from harness.store.runs import RunData

SHORT = "Not decided: not enough evidence yet"


def _protocol(run: RunData, protocol: str | Path = "") -> tuple[Path, dict[str, Any]] | None:
    import harness.pilot.protocol as proto_mod

    path = proto_mod.find(run, protocol)
    return None if path is None else (path, proto_mod.load(path))


def protocol_line(run: RunData, protocol: str | Path = "") -> str:
    """Page 1's line naming the frozen protocol and its hash ('' when there is none)."""
    found = _protocol(run, protocol)
    if found is None:
        return ""
    path, proto = found
    seal = proto.get("frozen") or {}
    if not seal:
        return (
            f"<p class='meta'><b>Pilot protocol:</b> {esc(path.name)} is a draft, not frozen "
            "(harness pilot start freezes it)</p>"
        )
    return (
        f"<p class='meta'><b>Pilot protocol:</b> {esc(path.name)}, frozen {esc(seal.get('at'))}, "
        f"sha256 <code>{esc(seal.get('sha256'))}</code></p>"
    )


def reviewed_drafts(log: pd.DataFrame | None) -> int:
    """Drafts reviewed during the pilot (the log's ``pilot`` entries)."""
    if log is None or log.empty or "phase" not in log:
        return 0
    return int((log["phase"] == "pilot").sum())


def evidence_short(run: RunData, log: pd.DataFrame | None, protocol: str | Path = "") -> str | None:
    """'not enough evidence yet: 41 of 120 reviewed drafts' when the pilot is short, else None."""
    found = _protocol(run, protocol)
    if found is None:
        return None
    need = int((found[1].get("sample") or {}).get("drafts") or 0)
    have = reviewed_drafts(log)
    if not need or have >= need:
        return None
    return f"not enough evidence yet: {have} of {need} reviewed drafts"


def short_box(question: str, short: str) -> str:
    """The decision box of a pilot still short of its sample: no verdict, the numbers."""
    return f"""<div class="decision conditions" id="decision">
<h2 class="verdict">Decision: {esc(SHORT)}</h2>
<p class="reason">{esc(question)} &mdash; the pilot protocol fixed before the pilot says how
many reviewed drafts it takes for the gates' intervals to clear their bars; until then no
verdict is given, whichever way the numbers point.</p>
<ul><li>{esc(short)}</li></ul></div>"""


def _measures(proto: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for m in proto.get("measures", []):
        rows.append(
            {
                "gate": m["gate"],
                "measure": m["title"],
                "bar": fmt(m["bar"]) if m.get("bar") is not None else "—",
                "direction": m.get("direction", ""),
                "expected effect": fmt(m["effect"]) + f" {m.get('unit', '')}"
                if m.get("effect") is not None
                else "—",
                "drafts needed": str(m["n"]) if m.get("n") else "—",
                "closed form": str(m.get("closed_form_n", "—")),
                "gate clears in (simulated)": f"{m['simulated_power']:.0%}"
                if m.get("simulated_power") is not None
                else "—",
                "source of the spread": m.get("source") or m.get("sized", ""),
            }
        )
    return pd.DataFrame(rows)


def _changes_html(path: Path, gates: str) -> str:
    import harness.pilot.protocol as proto_mod

    rows = proto_mod.changes(path, gates or None)
    if not rows:
        return "<p>No gate, bar, measure or sample has changed since the protocol was frozen.</p>"
    items = "".join(
        f"<li><mark>Changed after the freeze ({esc(r['when'])}):</mark> {esc(r['what'])}"
        + (f", phase {esc(r['phase'])}, gate <b>{esc(r['gate'])}</b>" if r["gate"] else "")
        + f", {esc(r['field'])}: frozen {esc(r['frozen'])}, now {esc(r['now'])}</li>"
        for r in rows
    )
    return (
        f"<div class='changes' id='protocol-changes'><p><b>{len(rows)} change"
        f"{'s' if len(rows) != 1 else ''} since the protocol was frozen</b> (the time is when "
        f"the file was last modified, UTC):</p><ul>{items}</ul></div>"
    )


def protocol_section(run: RunData, protocol: str | Path = "", gates: str = "") -> Any:
    """The frozen protocol: measures, bars, the sample it needs, and every later change."""
    from IPython.display import HTML

    found = _protocol(run, protocol)
    if found is None:
        return note(
            "No pilot protocol has been frozen for this workflow yet: the pilot's success "
            "measures, their bars and the sample it needs are not fixed in advance."
        )
    path, proto = found
    seal = proto.get("frozen") or {}
    sample = proto.get("sample") or {}
    head = (
        f"<p><b>Protocol:</b> {esc(path.name)}, from run {esc(proto.get('pre_pilot_run'))} "
        f"(candidate {esc(proto.get('candidate'))}); frozen {esc(seal.get('at', 'not yet'))}, "
        f"sha256 <code>{esc(seal.get('sha256', '—'))}</code>.</p>"
        f"<p><b>Sample it needs:</b> {esc(sample.get('text'))}; each required gate's interval "
        f"clears its bar in {proto.get('power', 0.8):.0%} of 1,000 simulated pilots at that "
        "size (paired bootstrap within reviewers, Holm's correction across the measures).</p>"
    )
    table = table_html(
        _measures(proto),
        "Success measures fixed before the pilot. Drafts needed: the smallest pilot at which "
        "the gate clears in the simulation; closed form: statsmodels' paired t-test size.",
    )
    body = table.data if hasattr(table, "data") else str(table)
    return HTML(STYLE + head + body + _changes_html(path, gates))


def five_questions_section(run: RunData) -> Any:
    """Staff's answers to the five questions: counts per level of each scale, what they fixed
    by hand, and a few remarks their reviewers marked shareable (quoted without names)."""
    from IPython.display import HTML

    from harness.review import db, questions

    frame = questions.answers(db.db_path(run.store.path))
    if frame.empty:
        return note(
            "No answers to the five questions yet: the review station asks them every "
            f"{questions.EVERY}th draft and when a reviewer ends a session."
        )
    people = int(frame["reviewer"].nunique())
    dist = table_html(
        questions.distribution(frame),
        f"{len(frame)} sets of answers from {people} reviewer{'s' if people != 1 else ''}; each "
        "column counts the answers at one level of the question's scale (5 = best).",
    )
    tags = table_html(questions.fix_tags(frame), "What staff still fixed by hand (ticks).")
    quoted = questions.quotes(frame)
    quotes = "".join(f"<blockquote>{esc(q)}</blockquote>" for q in quoted) or (
        "<p>No remark was marked shareable.</p>"
    )
    parts = [getattr(t, "data", str(t)) for t in (dist, tags)]
    return HTML(
        STYLE + "".join(parts) + "<p><b>In staff's words</b> (remarks marked shareable, "
        "without names):</p>" + quotes
    )


def field_evidence_table(log: pd.DataFrame | None) -> Any:
    """The district's measured minutes saved per reply beside published results (as reported).

    Numeric twins: ``harness.pilot.field.studies()`` and ``harness.gates.pilot_log.outcomes(log)``.
    """
    from harness.gates.pilot_log import outcome_value, outcomes
    from harness.pilot.field import studies

    row = outcome_value(outcomes(log), "minutes_saved_per_reply") if log is not None else None
    source = (log.attrs.get("source") if log is not None else None) or "the pilot log"
    ours = (
        f"{fmt(row['improvement'])} minutes saved per reply [95% interval "
        f"{fmt(row['ci_low'])} to {fmt(row['ci_high'])}], {row['n_baseline']} replies before "
        f"and {row['n_pilot']} during the pilot"
        if row is not None and pd.notna(row["improvement"])
        else f"not measured yet ({NO_ENTRIES if none_for_workflow(log) else 'no pilot log'})"
    )
    field = studies()
    view = pd.DataFrame(
        {
            "who": ["This district (its own pilot)", *field["setting"]],
            "how the time was known": [f"measured ({source})", *field["kind"]],
            "finding": [ours, *field["finding"]],
            "source": ["this report", *field["url"]],
        }
    )
    return table_html(
        view,
        "Published results as their sources report them (rubrics/field_evidence.yaml); "
        "settings and measures differ, so read them as context, not as a bar.",
    )


def approval_section(log: pd.DataFrame | None) -> Any:
    """The approval path from the station's own records: revisions per reply and turnaround
    (before and during, BCa intervals), and AI drafts sent with little edit beside the
    rubber-stamp alarm. Numeric twin: ``harness.pilot.approvals.approval_measures(log)``."""
    from harness.pilot.approvals import approval_measures

    out = approval_measures(log)
    if out.empty or not (out["n_before"] + out["n_during"]).any():
        return note(
            "No approval path recorded: start the review station with approvers "
            "(harness review RUN --approvers NAME) so each reply is approved or sent back."
        )
    view = pd.DataFrame(
        {
            "measure": out["title"],
            "before the pilot": [fmt(v) for v in out["before"]],
            "during the pilot": [fmt(v) for v in out["during"]],
            "change or share [95% interval]": [
                f"{fmt(c if pd.notna(c) else d)} [{fmt(lo)}–{fmt(hi)}] {u}"
                for c, d, lo, hi, u in zip(
                    out["change"],
                    out["during"],
                    out["ci_low"],
                    out["ci_high"],
                    out["unit"],
                    strict=True,
                )
            ],
            "replies (before / during)": [
                f"{b} / {d}" for b, d in zip(out["n_before"], out["n_during"], strict=True)
            ],
            "how it is measured": out["how"],
        }
    )
    return table_html(
        view,
        "The approval path as the review station recorded it (who drafted, who approved, each "
        "time a reply was sent back). Positive change = the pilot did better; intervals are "
        "BCa bootstrap intervals, which allow for counts that pile up at zero.",
    )


def repetitive_section(run: RunData, log: pd.DataFrame | None) -> Any:
    """Repetitive manual responses before and during the pilot: replies written from scratch to
    questions the knowledge base already answers (one definition: ``harness.pilot.repetitive``).
    Numeric twin: ``harness.pilot.repetitive.repetitive_counts(log, run.dataset)``."""
    from harness.pilot.repetitive import DEFINITION, repetitive_counts

    out = repetitive_counts(log, run.dataset, run.store.path.parent / ".cache" / "knowledge")
    if out.empty or not out["replies"].any():
        return note("No pilot log: no reply was counted before or during the pilot.")
    view = pd.DataFrame(
        {
            "phase": out["phase"].map({"baseline": "before the pilot", "pilot": "during it"}),
            "replies": out["replies"],
            "written from scratch": out["from_scratch"],
            "of those, the knowledge base already answered": [
                f"{a} of {j} ({fmt(s * 100 if s == s else s)}%)"
                for a, j, s in zip(
                    out["already_answered"], out["judged"], out["share"], strict=True
                )
            ],
        }
    )
    return table_html(
        view,
        f"Repetitive manual responses: {DEFINITION}. A reply stating no checkable fact is not "
        "judged (the count says of how many). Fewer during the pilot = the drafts took over "
        "answers the district had already written.",
    )
