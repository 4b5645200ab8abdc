"""``harness check``: the CI verdict on a run: phase gates, plus regression against a base run.

Exit codes (the CLI): 0 pass, 1 a required gate, the governance checklist or a regression failed
("Not ready"), 2 bad input or usage, 3 the machine (disk full, read-only folder, run locked),
4 evidence missing ("Not decided: evidence missing": nothing failed, but a required gate cannot
be checked with this data; a failure or a regression outranks it). Writes JUnit XML (each gate
and each regression is a test case, so CI systems list them; a required gate the data cannot
check is an ``error``) and a Markdown summary fit for a pull-request comment or a job summary;
the terminal, the XML and the Markdown carry the decision's one verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pandas as pd

from harness import textsafe
from harness.errors import EXIT_EVIDENCE_MISSING, RunError
from harness.metrics import default_margins

# Metrics checked for regression and how much worse (in the metric's own units) still counts as
# "no worse"; a plan may override with `regression_margins`.
DEFAULT_MARGINS = default_margins()  # one definition per metric: harness.metrics


@dataclass
class CheckResult:
    """Everything `harness check` decided, as DataFrames."""

    verdict: str
    passed: bool
    gates: pd.DataFrame
    governance: pd.DataFrame
    regressions: pd.DataFrame
    reason: str  # why, without the verdict in front (it is ``verdict``)
    evidence_missing: bool = False  # nothing failed, a required gate could not be checked

    @property
    def exit_code(self) -> int:
        """0 pass, 1 failed (a gate, governance or a regression), 4 evidence missing."""
        if self.passed:
            return 0
        return EXIT_EVIDENCE_MISSING if self.evidence_missing else 1

    @property
    def result(self) -> str:
        """PASS, FAIL or EVIDENCE MISSING: the one word each output ends on."""
        return {0: "PASS", 1: "FAIL"}.get(self.exit_code, "EVIDENCE MISSING")


def regressions(run: Any, base: Any, margins: dict[str, float] | None = None) -> pd.DataFrame:
    """Paired non-inferiority of each candidate in ``run`` against itself in ``base``.

    Only items both runs scored count; a candidate is regressed on a metric when the lower end
    of the interval of its gain over the base run is below ``-margin``.
    """
    from harness.stats import non_inferiority

    margins = {**DEFAULT_MARGINS, **(margins or {})}
    new, old = run.scores, base.scores
    shared_items = set(new["item_id"]) & set(old["item_id"])
    rows = []
    for cand in sorted(set(new["candidate"]) & set(old["candidate"])):
        for metric, margin in margins.items():
            a = new[(new["candidate"] == cand) & (new["metric"] == metric)]
            b = old[(old["candidate"] == cand) & (old["metric"] == metric)]
            if a.empty or b.empty:
                continue
            both = pd.concat([a.assign(candidate="new"), b.assign(candidate="base")])
            both = both[both["item_id"].isin(shared_items)]
            r = non_inferiority(both, metric, "new", "base", margin).iloc[0]
            status = "not evaluated" if r["n"] == 0 else "pass" if r["non_inferior"] else "fail"
            rows.append(
                {
                    "candidate": cand,
                    "metric": metric,
                    "n": int(r["n"]),
                    "base_mean": r["baseline_mean"],
                    "new_mean": r["candidate_mean"],
                    "gain": r["gain"],
                    "gain_low": r["gain_low"],
                    "gain_high": r["gain_high"],
                    "margin": margin,
                    "status": status,
                    "evidence": (
                        f"{r['candidate_mean']:.3f} now vs {r['baseline_mean']:.3f} before "
                        f"on {int(r['n'])} shared items; gain {r['gain']:+.3f} "
                        f"[{r['gain_low']:+.3f}, {r['gain_high']:+.3f}], margin {margin}"
                    )
                    if r["n"]
                    else "no shared items",
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "candidate",
            "metric",
            "n",
            "base_mean",
            "new_mean",
            "gain",
            "gain_low",
            "gain_high",
            "margin",
            "status",
            "evidence",
        ],
    )


def check(
    run_id: str,
    phase: str,
    against: str | None = None,
    results_dir: str | Path | None = None,
    gates: str | Path | None = None,
    governance: str | Path | None = None,
) -> CheckResult:
    """Gates of ``phase`` on a stored run, and (with ``against``) regression vs a base run."""
    from harness.gates.decision import CONDITIONS, NOT_DECIDED, READY, decide
    from harness.store.runs import load_run

    run = load_run(run_id, results_dir)
    run.scores  # noqa: B018 - a clear error if the run was never scored
    decision = decide(run, phase, gates=gates, governance=governance)
    table = decision.all_gates if len(decision.all_gates) else decision.gates
    reg = pd.DataFrame()
    if against:
        base = load_run(against, results_dir)
        if base.run_id == run.run_id:
            raise RunError("--against names the same run; give the last accepted run")
        margins = run.manifest.get("plan", {}).get("regression_margins")
        reg = regressions(run, base, margins)
    failed_reg = int((reg["status"] == "fail").sum()) if len(reg) else 0
    passed = decision.verdict in (READY, CONDITIONS) and failed_reg == 0
    missing = decision.verdict == NOT_DECIDED and failed_reg == 0
    reason = "; ".join(decision.reasons)
    if failed_reg:
        reason += f"; {failed_reg} regression(s) against {against}"
    return CheckResult(decision.verdict, passed, table, decision.governance, reg, reason, missing)


def junit_xml(result: CheckResult, run_id: str, phase: str) -> str:
    """JUnit XML: one testsuite for gates, one for governance, one for regressions."""
    root = ET.Element("testsuites", name=textsafe.xml(f"harness check {run_id} {phase}"))

    def suite(name: str, rows: list[tuple[str, str, str, str]]) -> None:
        fails = sum(1 for r in rows if r[2] == "fail")
        skips = sum(1 for r in rows if r[2] == "skip")
        errors = sum(1 for r in rows if r[2] == "error")
        s = ET.SubElement(
            root,
            "testsuite",
            name=name,
            tests=str(len(rows)),
            failures=str(fails),
            errors=str(errors),
            skipped=str(skips),
        )
        props = ET.SubElement(s, "properties")
        for k, v in (("verdict", result.verdict), ("exit_code", str(result.exit_code))):
            ET.SubElement(props, "property", name=k, value=textsafe.xml(v))
        for classname, case, status, message in rows:
            classname, case, message = (textsafe.xml(x) for x in (classname, case, message))
            tc = ET.SubElement(s, "testcase", classname=classname, name=case)
            if status == "fail":
                ET.SubElement(tc, "failure", message=message[:500]).text = message
            elif status == "error":  # a required gate this data cannot check: evidence missing
                ET.SubElement(
                    tc, "error", message=message[:500], type="EvidenceMissing"
                ).text = message
            elif status == "skip":
                ET.SubElement(tc, "skipped", message=message[:500])
            else:
                ET.SubElement(tc, "system-out").text = message

    gate_rows = []
    for _, g in result.gates.iterrows():
        status = str(g["status"])
        required = bool(g["required"])
        kind = (
            "fail"
            if status == "fail" and required
            else "error"
            if status == "not evaluated" and required
            else "skip"
            if status != "pass"
            else "pass"
        )
        needs = g.get("needs") if isinstance(g.get("needs"), str) else ""
        msg = f"{status}{'' if required else ' (advisory)'}: {g.get('evidence', '')}" + (
            f" (needs {needs})" if needs else ""
        )
        gate_rows.append(
            (f"gates.{phase}.{g.get('candidate') or 'all'}", str(g["title"]), kind, msg)
        )
    suite(f"gates.{phase}", gate_rows)
    gov_rows = [
        (
            "governance",
            str(r["entry"]),
            "pass" if r["status"] == "complete" else "fail",
            f"{r['status']}: {r['question']}",
        )
        for _, r in result.governance.iterrows()
    ]
    suite("governance", gov_rows)
    if len(result.regressions):
        suite(
            "regression",
            [
                (
                    f"regression.{r['candidate']}",
                    str(r["metric"]),
                    "fail"
                    if r["status"] == "fail"
                    else "skip"
                    if r["status"] != "pass"
                    else "pass",
                    str(r["evidence"]),
                )
                for _, r in result.regressions.iterrows()
            ],
        )
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def markdown(result: CheckResult, run_id: str, phase: str, against: str | None) -> str:
    """A summary for a pull-request comment or a CI job summary."""
    icon = {"pass": "✅", "fail": "❌", "not evaluated": "⚪"}

    def cell(v: Any) -> str:
        return textsafe.markdown(v)

    lines = [
        f"## Readiness check: {cell(result.verdict)} ({result.result})",
        "",
        f"Run `{cell(run_id)}`, phase `{cell(phase)}`"
        + (f", against `{cell(against)}`" if against else "")
        + ".",
        "",
        f"**Why:** {cell(result.reason)}",
        "",
        "| | gate | candidate | required | evidence |",
        "|---|---|---|---|---|",
    ]
    for _, g in result.gates.iterrows():
        lines.append(
            f"| {icon.get(str(g['status']), '')} | {cell(g['title'])} | "
            f"{cell(g.get('candidate') or '')} | {'yes' if g['required'] else 'advisory'}"
            f" | {cell(g.get('evidence', ''))}"
            + (
                f" **Needs:** {cell(g['needs'])}"
                if isinstance(g.get("needs"), str) and g["needs"]
                else ""
            )
            + " |"
        )
    missing = result.governance[result.governance["status"] != "complete"]
    if len(missing):
        lines += [
            "",
            "**Governance checklist incomplete:** " + ", ".join(cell(e) for e in missing["entry"]),
        ]
    if len(result.regressions):
        lines += ["", "| | regression check | candidate | evidence |", "|---|---|---|---|"]
        for _, r in result.regressions.iterrows():
            lines.append(
                f"| {icon.get(str(r['status']), '')} | {cell(r['metric'])} | "
                f"{cell(r['candidate'])} | {cell(r['evidence'])} |"
            )
    return "\n".join(lines) + "\n"


def terminal_table(result: CheckResult) -> str:
    """The gates and regressions as plain text for a terminal."""
    parts = [f"decision: {textsafe.terminal(result.verdict)} — {textsafe.terminal(result.reason)}"]
    g = result.gates
    has_needs = "needs" in g.columns and g["needs"].fillna("").astype(str).str.len().gt(0).any()
    cols = [
        c
        for c in ("status", "required", "candidate", "title", "evidence", "needs")
        if c in g.columns and (c != "needs" or has_needs)
    ]
    if len(result.gates):
        gates = textsafe.terminal_frame(result.gates[cols])
        parts.append(gates.to_string(index=False, max_colwidth=70))
    missing = result.governance[result.governance["status"] != "complete"]
    if len(missing):
        parts.append(
            "governance incomplete: " + ", ".join(textsafe.terminal(e) for e in missing["entry"])
        )
    if len(result.regressions):
        parts.append(
            textsafe.terminal_frame(
                result.regressions[["status", "candidate", "metric", "evidence"]]
            ).to_string(index=False, max_colwidth=90)
        )
    parts.append("RESULT: " + result.result)
    return "\n\n".join(parts)
