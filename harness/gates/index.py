"""The evidence index: what a district's reviewers will ask for, and where the report answers it.

A district's AI pilot is reviewed against outside guidance (the U.S. Department of Education's
2025 guidance on AI in schools, CoSN's K-12 Generative AI Readiness Checklist, the NIST AI Risk
Management Framework's MEASURE function, Title VI language-access duties) and against the four
pilot phases (pick a workflow, define governance, pilot with staff review, measure).
:data:`EVIDENCE_ITEMS` maps each thing a reviewer asks for to the report section that answers
it and to a check of the run's own data. :func:`evidence_index` says, per item, "evidenced" or
"not evidenced by this run" with the reason taken from the run (no ratings -> the judge's
calibration is not evidenced).

The wording of each item is this harness's plain reading of the framework, not a quotation;
the framework column names the document (and, for NIST, the subcategory) to look it up in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.gates.facts import CHECKS, Facts
from harness.stats import MIN_N

EVIDENCED, NOT_EVIDENCED = "evidenced", "not evidenced by this run"
COLUMNS = ["item", "framework", "section", "status", "reason"]

ED = "U.S. Department of Education, guidance on AI use in schools (2025)"
COSN = "CoSN K-12 Generative AI Readiness Checklist"
NIST = "NIST AI RMF 1.0, MEASURE"
TITLE_VI = "Title VI of the Civil Rights Act (language access for families)"
PHASE = "Pilot phases"

# Report section ids (the lead's report package gives each section one of these ids)
SECTIONS = {
    "decision": "The decision",
    "gates": "The gates behind the decision",
    "governance": "Governance checklist",
    "comparison": "How the candidates compare",
    "categories": "Results by category",
    "equity": "Does every family get the same quality?",
    "editing": "Editing effort and minutes saved",
    "consistency": "Consistency",
    "governance-flags": "Governance flags in the drafts",
    "calibration": "Does the judge agree with human raters?",
    "sensitive": "Every sensitive question",
    "pilot": "What happened during the pilot",
    "methodology": "How these numbers are made, and their limits",
}


@dataclass(frozen=True)
class EvidenceItem:
    """One thing a reviewer asks for: where the report answers it, and the check on the run."""

    item: str
    framework: str
    section: str
    check: str  # a key of CHECKS


EVIDENCE_ITEMS: tuple[EvidenceItem, ...] = (
    EvidenceItem(
        "A person reviews every AI draft before it reaches a family",
        ED,
        "governance",
        "human_review",
    ),
    EvidenceItem(
        "Student and family privacy is protected (no personal data leaks; data flows known)",
        ED,
        "governance-flags",
        "privacy",
    ),
    EvidenceItem("Families are told when AI helped draft a reply", ED, "governance", "disclosure"),
    EvidenceItem(
        "Sensitive questions (safety, abuse, legal, discipline) go to a person",
        ED,
        "sensitive",
        "escalation",
    ),
    EvidenceItem(
        "Leadership owns the pilot: a named approver signs the report",
        COSN,
        "governance",
        "sign_off",
    ),
    EvidenceItem(
        "Data: an inventory of which data goes to which provider and how long it is kept",
        COSN,
        "governance",
        "data_flow",
    ),
    EvidenceItem(
        "Operations: staff are trained before they review AI drafts", COSN, "governance", "training"
    ),
    EvidenceItem(
        "Security and legal risk: only approved AI services receive district data",
        COSN,
        "governance",
        "providers",
    ),
    EvidenceItem(
        "MEASURE 2.1: test sets, metrics and tools are documented",
        NIST,
        "methodology",
        "documented",
    ),
    EvidenceItem(
        "MEASURE 2.2: the test set represents the questions families send",
        NIST,
        "categories",
        "representative",
    ),
    EvidenceItem(
        "MEASURE 2.5: drafts are valid (carry the approved facts, invent none)",
        NIST,
        "gates",
        "validity",
    ),
    EvidenceItem(
        "MEASURE 2.5: drafts are reliable (the same answer when asked again)",
        NIST,
        "consistency",
        "reliability",
    ),
    EvidenceItem("MEASURE 2.10: privacy risk is examined", NIST, "governance-flags", "privacy"),
    EvidenceItem(
        "MEASURE 2.11: fairness: quality is measured for each group of families",
        NIST,
        "equity",
        "fairness",
    ),
    EvidenceItem(
        "MEASURE 3.3: a way to report, correct and log a wrong reply",
        NIST,
        "governance",
        "incident",
    ),
    EvidenceItem(
        "An AI judge's scores are checked against human raters before they count",
        NIST,
        "calibration",
        "judge_calibrated",
    ),
    EvidenceItem(
        "Families who write in another language are part of the test",
        TITLE_VI,
        "equity",
        "other_language",
    ),
    EvidenceItem(
        "Quality is held to the same bar in each language", TITLE_VI, "gates", "language_gate"
    ),
    EvidenceItem("1. Pick one narrow workflow", PHASE, "decision", "workflow"),
    EvidenceItem(
        "2. Define governance before the pilot", PHASE, "governance", "governance_complete"
    ),
    EvidenceItem("3. Pilot with staff reviewing every draft", PHASE, "pilot", "pilot"),
    EvidenceItem(
        "4. Measure time saved and quality, before and during the pilot", PHASE, "pilot", "measured"
    ),
)


def evidence_index(
    run: Any,
    sections_present: Sequence[str],
    governance: Any = None,
    gates: Any = None,
    min_n: int = MIN_N,
    items: Sequence[EvidenceItem] = EVIDENCE_ITEMS,
) -> pd.DataFrame:
    """Each reviewer's question, the section that answers it, and whether this run evidences it.

    Args:
        run: a loaded run (``harness.store.runs.load_run``).
        sections_present: ids (:data:`SECTIONS`) of the sections the rendered report has.
        governance: a Governance or checklist file (default ``rubrics/governance.yaml``).
        gates: a GateSet or gates file (default ``rubrics/gates.yaml``).
        min_n: the fewest scored questions a language needs to count (as in harness.gates.slices).
        items: the index rows (default :data:`EVIDENCE_ITEMS`).

    Returns:
        Columns ``item, framework, section, status, reason``; ``status`` is ``evidenced`` or
        ``not evidenced by this run``.
    """
    facts = Facts(run, governance, gates, min_n)
    present = set(sections_present)
    rows = []
    for it in items:
        if it.section not in present:
            ok, why = False, f"the report has no '{SECTIONS.get(it.section, it.section)}' section"
        else:
            ok, why = CHECKS[it.check](facts)
        rows.append(
            {
                "item": it.item,
                "framework": it.framework,
                "section": it.section,
                "status": EVIDENCED if ok else NOT_EVIDENCED,
                "reason": why,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
