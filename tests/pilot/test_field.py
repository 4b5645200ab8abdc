"""Field evidence: the repository's copy of the published results, validated, beside the
district's own measured minutes."""

from __future__ import annotations

import pytest

import harness.pilot.field as field
from harness.data.dataset import load_dataset
from harness.errors import PlanError
from harness.report.pilot import field_evidence_table

from ..conftest import REPO, SAMPLE


def test_the_report_reads_the_repository_copy_with_its_links():
    assert field.FIELD_FILE == REPO / "rubrics" / "field_evidence.yaml"
    frame = field.studies()
    assert len(frame) >= 8 and frame["id"].is_unique
    assert set(frame["kind"]) == {"measured", "self-report"}
    assert frame["url"].str.startswith("https://").all()
    assert "eef-nfer-lesson-planning" in set(frame["id"])


@pytest.mark.parametrize(
    ("entry", "field_name"),
    [
        ("kind: guess", "studies[0].kind"),
        ("url: http://example.org/x", "studies[0].url"),
        ("author: someone", "studies[0].author"),
    ],
)
def test_a_broken_study_names_the_file_and_the_field(tmp_path, entry, field_name):
    good = {
        "id: a",
        "setting: a trial",
        "kind: measured",
        "finding: faster",
        "url: https://example.org/a",
    }
    key = entry.split(":")[0]
    lines = [e for e in good if not e.startswith(key + ":")] + [entry]
    path = tmp_path / "field.yaml"
    path.write_text("studies:\n  - " + "\n    ".join(lines) + "\n")
    with pytest.raises(PlanError) as err:
        field.studies(path)
    assert str(path) in str(err.value) and field_name in str(err.value)


def test_the_districts_minutes_sit_beside_the_studies():
    log = load_dataset(SAMPLE).pilot_log
    html = field_evidence_table(log).data
    assert "This district (its own pilot)" in html
    assert "minutes saved per reply [95% interval" in html
    assert "schoolsweek.co.uk" in html and "measured" in html and "self-report" in html
