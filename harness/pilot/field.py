"""Published results on time saved by AI drafting, read from ``rubrics/field_evidence.yaml``.

Each study is as its link reports it: a setting, whether the time was ``measured`` or a
``self-report``, the finding in words, and the link. The phase comparison puts the district's
own measured minutes beside them, so a leader reads its figure in context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import PlanError, Problem

FIELD_FILE = Path(__file__).resolve().parents[2] / "rubrics" / "field_evidence.yaml"


class Study(BaseModel):
    """One published result, as reported at its link."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    setting: str = Field(min_length=3)
    kind: Literal["measured", "self-report"]
    finding: str = Field(min_length=3)
    url: str = Field(pattern=r"^https://\S+$")


def studies(path: str | Path | None = None) -> pd.DataFrame:
    """The studies of a field-evidence file (default the repository's copy), one row each."""
    from harness.data.safeyaml import load_file

    where = Path(path or FIELD_FILE)
    data, _ = load_file(where, "field evidence")
    entries = (data or {}).get("studies") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise PlanError(
            str(where),
            [Problem(str(where), None, "studies", "is missing", "give a list of studies")],
        )
    rows, problems = [], []
    for i, entry in enumerate(entries):
        try:
            rows.append(Study.model_validate(entry).model_dump())
        except ValidationError as exc:
            for err in exc.errors():
                field = f"studies[{i}]." + ".".join(str(p) for p in err["loc"])
                problems.append(
                    Problem(str(where), None, field, err["msg"], "see the file's header")
                )
    if problems:
        raise PlanError(str(where), problems)
    return pd.DataFrame(rows, columns=list(Study.model_fields))
