"""The decision a leader reads first: cover, decision box, gates, candidates, governance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import ReportError
from harness.gates.decision import Decision, decide
from harness.metrics import metric_def
from harness.phases import PHASE_QUESTIONS
from harness.report.ceiling import context_line
from harness.report.format import STATUS_WORDS, STYLE, VERDICT_CLASS, esc, note
from harness.report.glossary import category_name, plain_names, plainly, without_gate_list
from harness.report.tables import family_metrics
from harness.report.vocab import candidate_label, own_words, reword, run_vocab, speak_workflow
from harness.store.runs import RunData

PHASES = PHASE_QUESTIONS  # the one registry: harness.phases


def decision(
    run: RunData, phase: str, gates: str | Path | None = None, governance: str | Path | None = None
) -> Decision:
    """The readiness decision of a run for one phase (gates and governance files optional)."""
    if phase not in PHASES:
        raise ReportError(f"unknown phase '{phase}'; phases: {', '.join(PHASES)}")
    dec = decide(run, phase, gates=gates or None, governance=governance or None)
    dec.names = plain_names(run)
    speak_workflow(dec, run)  # the run's words: "Approved summary", messages, ...
    return dec


def has_judge(run: RunData) -> bool:
    """The run's plan has a judge, or its scores hold judge metrics."""
    return bool(run.manifest.get("plan", {}).get("judge") or family_metrics(run, "judge"))


def _judge_line(run: RunData) -> str:
    judge = run.manifest.get("plan", {}).get("judge")
    cal = run.calibration
    if not has_judge(run):
        return "no AI judge in this run"
    from harness.report.glossary import model_name

    model = judge.get("model") if isinstance(judge, dict) else judge
    rates = judge.get("candidates") if isinstance(judge, dict) else None
    names = plain_names(run)
    who = f" (rates {', '.join(names.get(r, r) for r in rates)})" if rates else ""
    if cal is None:
        state = "not yet checked against human ratings (its scores cannot pass a gate)"
    else:
        checked = f"checked against {rated_text(cal, detail=False)}"
        if cal.get("calibrated") is True:
            state = f"{checked}: agrees well enough to count"
        else:
            state = f"{checked}: does not agree well enough, so its scores do not count"
    return f"{model_name(model) if model else 'an AI judge'}{who}, {state}"


def rated_text(cal: dict[str, Any], detail: bool = True) -> str:
    """'16 of the 61 human-rated drafts (...)': :func:`harness.scorers.calibration_facts.checked_on`."""
    from harness.scorers.calibration_facts import checked_on

    return checked_on(cal, detail)


def _compared(run: RunData) -> str:
    """What each candidate is, in plain words: AI candidates first, then today's alternatives,
    then the approved answer (the ceiling)."""
    from harness.report.glossary import entry

    order = {"model": 0, "baseline": 1, "reference": 2}
    rows = []
    for c in sorted(run.manifest["candidates"], key=lambda c: order.get(c["kind"], 3)):
        e = entry("candidate", c["name"], run)
        what = own_words(c.get("description") or e["meaning"].split(" (plan")[0], run)
        ctx = context_line(c, run_vocab(run))
        rows.append(
            f"<li><b>{esc(e['name'])}</b>: {esc(what or e['meaning'])}"
            + (f" {esc(ctx)}" if ctx else "")
            + "</li>"
        )
    return "<ul class='compared'>" + "".join(rows) + "</ul>"


def cover(
    run: RunData, phase: str, title: str = "", dec: Decision | None = None, protocol: str = ""
) -> Any:
    """The first screen: district, workflow, phase, the decision and why, what was compared.
    After the pilot starts, page 1 names the frozen pilot protocol and its hash; a pilot still
    short of the sample the protocol needs gets "not enough evidence yet" instead of a verdict.
    """
    from IPython.display import HTML

    from harness.report.pilot import evidence_short, protocol_line, short_box
    from harness.store.pilotlog import run_pilot_log

    m = run.manifest
    phase_text = PHASES.get(phase, phase)
    counts = m.get("counts", {})
    district = district_name(run)
    head = f"""<div class="cover">
<h1>{esc(title or "AI drafting readiness report")}</h1>
<p><b>District:</b> {esc(district)}</p>
<p><b>Workflow:</b> {esc(m.get("workflow") or m["plan_name"])}</p>
<p><b>Phase:</b> {esc(phase_text)}</p></div>"""
    box = decision_box(dec, wrap=False) if dec is not None else ""
    line = protocol_line(run, protocol) if phase != "pre_pilot" else ""
    short = evidence_short(run, run_pilot_log(run), protocol) if line else None
    if short is not None:
        box = short_box(phase_text, short)
    meta = f"""<div class="cover"><p class="meta"><b>What was compared:</b></p>{_compared(run)}
<p class="meta"><b>{esc((w := run_vocab(run))["items"].capitalize())}:</b> {esc(m["selection"]["items"])}
{esc(w["items"])} the district has already {esc(w["done"])} ({esc(category_name(m["dataset"]["name"]))}); {esc(counts.get("ok"))} drafts,
{esc(counts.get("failed"))} failed.</p>{_problems(run)}
<p class="meta"><b>AI judge:</b> {esc(_judge_line(run))}</p>{line}
<p class="meta">Report made {esc(pd.Timestamp.now().strftime("%Y-%m-%d"))}; run details are in
the methodology appendix.</p></div>"""
    return HTML(STYLE + head + box + meta)


def _problems(run: RunData) -> str:
    """AI drafts cut off, empty or failed, said on page 1 when there are any."""
    from harness.report.families import draft_problem_sentences

    names = plain_names(run)
    said = [plainly(s, names) for s in draft_problem_sentences(run)]
    if not said:
        return ""
    return (
        "<p class='meta'><b>Drafts to read with care:</b> "
        + "; ".join(esc(s) for s in said)
        + ".</p>"
    )


def district_name(run: RunData) -> str:
    """The district the run is for, as the run recorded it (its plan's governance file)."""
    m = run.manifest
    return str(m.get("district") or m["dataset"]["name"])


BOX_GATES = 6  # gates named in the decision box; the gate table lists every one


def _gate_bullet(g: pd.Series, names: dict[str, str]) -> str:
    needs = g.get("needs") if isinstance(g.get("needs"), str) else ""
    detail = (
        f"<b>Needs:</b> {esc(plainly(needs, names))}"
        if needs
        else esc(plainly(g["evidence"], names))
    )
    return (
        f"<li><b>{esc(g['title'])}</b> ({'required' if g['required'] else 'advisory'}, "
        f"{esc(STATUS_WORDS.get(str(g['status']), g['status']).lower())}): {detail}</li>"
    )


def decision_box(dec: Decision, wrap: bool = True) -> Any:
    """The decision in a coloured box: verdict, one-line reason, and each reason as a bullet."""
    from IPython.display import HTML

    cls = VERDICT_CLASS.get(dec.verdict, "notready")
    # page 1 stays short: each reason without its list of gates (the bullets below name them),
    # a gate that cannot be checked says only what it needs, and at most BOX_GATES gates
    bullets = "".join(
        f"<li>{esc(plainly(r.split(': ', 1)[0] if len(r) > 160 else r, dec.names))}</li>"
        for r in dec.reasons
    )
    open_gates = dec.gates[dec.gates["status"] != "pass"] if len(dec.gates) else dec.gates
    if len(open_gates):
        order = open_gates.sort_values("required", ascending=False, kind="stable")
        bullets += "".join(_gate_bullet(g, dec.names) for _, g in order.head(BOX_GATES).iterrows())
        if len(order) > BOX_GATES:
            bullets += f"<li>and {len(order) - BOX_GATES} more: see the gates below</li>"
    meaning = {
        "Ready": "The evidence supports going ahead with this phase as planned.",
        "Ready with conditions": "Go ahead only with the conditions below watched and reported.",
        "Not decided: evidence missing": "This data cannot answer the question yet: nothing "
        "failed, but the gates below cannot be checked. Add what each one needs and evaluate "
        "again; do not go ahead on this evidence.",
        "Not ready": "Do not go ahead yet: fix what is listed below and evaluate again.",
    }.get(dec.verdict, "")
    body = f"""<div class="decision {cls}" id="decision">
<h2 class="verdict">Decision: {esc(dec.verdict)}</h2>
<p class="reason">{esc(dec.question)} &mdash; {esc(meaning)}</p>
<p>Why:</p><ul>{bullets}</ul></div>"""
    return HTML(STYLE + body) if wrap else body


def gate_table(dec: Decision) -> Any:
    """Every gate of the phase: what it asks, its verdict and the evidence behind it."""
    from IPython.display import HTML

    if dec.gates.empty:
        return note("No gates were evaluated (the run has no AI candidate).")
    ref = dec.reference.set_index("gate")["status"].to_dict() if len(dec.reference) else {}
    rows = []
    for _, g in dec.gates.iterrows():
        st = str(g["status"])
        cls = {"pass": "st-pass", "fail": "st-fail"}.get(st, "st-not")
        kind = "required" if g["required"] else "advisory"
        needs = g.get("needs") if isinstance(g.get("needs"), str) and g.get("needs") else ""
        rs = ref.get(g["gate"])
        ref_word = STATUS_WORDS.get(str(rs), str(rs)) if rs else "not judged"
        if not g["reachable"]:
            ref_word = "Failed: not reachable with this data"
        rows.append(
            f"<tr><td>{esc(g['title'])}</td><td>{esc(kind)}</td>"
            f"<td class='{cls}'>{esc(STATUS_WORDS.get(st, st))}</td>"
            f"<td>{esc(plainly(g['evidence'], dec.names))}"
            + (f" <b>Needs:</b> {esc(plainly(needs, dec.names))}" if needs else "")
            + f"</td><td>{esc(ref_word)}</td><td>{esc(plainly(metric_def(str(g['metric'])).label, dec.names))}"
            f"{' per category' if g['scope'] == 'every_category' else ''}</td></tr>"
        )
    cap = (
        f"Gates for {dec.names.get(str(dec.candidate), dec.candidate)}. A gate passes only when its whole 95% interval clears the "
        "bar. A required gate that fails makes the decision Not ready; one this data cannot "
        "check (with what it needs) makes it Not decided: evidence missing. The approved answer "
        "column is the district's own answers on the same gate: Not checked there too means the "
        "data, not the AI, is missing." + _together(dec.gates)
    )
    table = (
        f"<table class='harness-table'><caption>{esc(cap)}</caption><thead><tr>"
        '<th scope="col">gate</th><th scope="col">kind</th><th scope="col">verdict</th>'
        '<th scope="col">evidence</th><th scope="col">approved answer</th>'
        '<th scope="col">measure</th>'
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )
    return HTML(STYLE + reword(table, dec.words))


def _together(gates: pd.DataFrame) -> str:
    """The family rule in plain words, when two or more required pilot measures are judged."""
    pilot = gates[gates["required"] & gates["metric"].astype(str).str.startswith("pilot:")]
    if len(pilot) < 2:
        return ""
    return (
        f" The pilot's {len(pilot)} required measures are judged together, as the pilot protocol "
        "planned: the more measures, the likelier one clears its bar by luck, so (Holm's "
        "correction) the measure with the strongest evidence may be luck with a chance of at "
        "most 2.5% divided by the number of measures, the next 2.5% divided by one fewer, and "
        "so on; a measure that clears its bar alone can still fail here."
    )


def candidates_table(dec: Decision) -> pd.DataFrame:
    """Each AI candidate's own verdict for the phase (the decision is the best of them), then
    the approved answer's on the same gates (the ceiling, never decided on)."""
    out = dec.candidates.rename(columns={"why": "reasons"})
    out = out.assign(candidate=[dec.names.get(c, candidate_label(c)) for c in out["candidate"]])
    if "reasons" in out:
        out["reasons"] = [
            reword(without_gate_list(plainly(r, dec.names)), dec.words) for r in out["reasons"]
        ]
    return out


def governance_table(dec: Decision) -> Any:
    """The governance checklist and where district data may go."""
    from IPython.display import HTML

    g = dec.governance
    rows = "".join(
        f"<tr><td>{esc(r['question'])}</td>"
        f"<td class='{'st-pass' if r['status'] == 'complete' else 'st-fail'}'>{esc(r['status'])}</td>"
        f"<td>{esc(plainly(r['answer'], dec.names))}</td></tr>"
        for _, r in g.iterrows()
    )
    prov = dec.providers
    prows = "".join(
        f"<tr><td>{esc(dec.names.get(r['candidate'], r['candidate']))}</td>"
        f"<td>{esc(plainly(r['model'], dec.names))}</td><td>{esc(r['endpoint'])}</td>"
        f"<td class='{'st-pass' if r['status'] == 'approved' else 'st-fail'}'>{esc(r['status'])}</td></tr>"
        for _, r in prov.iterrows()
    )
    ptable = (
        "<table class='harness-table'><caption>Where each AI candidate sends district data"
        '</caption><thead><tr><th scope="col">candidate</th><th scope="col">model</th>'
        '<th scope="col">endpoint</th><th scope="col">on the approved list</th></tr></thead>'
        f"<tbody>{prows}</tbody></table>"
        if len(prov)
        else ""
    )
    source = (
        f"From {Path(dec.governance_file).name}, the governance file this run's plan names."
        if dec.governance_file
        else "This run's plan names no governance file, so every entry is missing: add "
        "'governance: PATH' to the plan (see rubrics/governance.yaml for the entries)."
    )
    return HTML(
        STYLE
        + f"<table class='harness-table'><caption>{esc(source)} A missing or empty entry alone "
        'makes the decision Not ready.</caption><thead><tr><th scope="col">question'
        '</th><th scope="col">status</th><th scope="col">answer</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>" + ptable
    )
