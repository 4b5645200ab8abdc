"""The pilot log's workflow (``harness.data.tables.pilot_log_frame``): every entry gets a
``task`` at load, from its own cell (checked), else its item's, else faq_reply."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from harness.cli.commands import main
from harness.data.dataset import load_dataset, read_pilot_log
from harness.errors import DatasetError
from tests.conftest import SAMPLE


def _with_tasks(folder: Path, tasks: list[str], item_ids: list[str] | None = None) -> None:
    """Rewrite the folder's pilot_log.csv with a task column (and item ids) per row."""
    path = folder / "pilot_log.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for i, r in enumerate(rows):
        r["task"] = tasks[i]
        if item_ids is not None:
            r["item_id"] = item_ids[i]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_a_log_without_the_column_is_replies_or_its_items_task(mini_copy):
    log = load_dataset(mini_copy).pilot_log
    assert log is not None and log["task"].tolist() == ["faq_reply"] * 4  # no item: replies
    _with_tasks(mini_copy, ["", "", "", ""], ["sum-001", "faq-004", "", "nl-001"])
    log = load_dataset(mini_copy).pilot_log
    assert log["task"].tolist() == ["inbound_summary", "faq_reply", "faq_reply", "newsletter"]


def test_the_task_cell_names_the_entrys_workflow(mini_copy):
    _with_tasks(mini_copy, ["inbound_summary", "faq_reply", "newsletter", ""])
    log = load_dataset(mini_copy).pilot_log
    assert log["task"].tolist() == ["inbound_summary", "faq_reply", "newsletter", "faq_reply"]
    assert log["review_minutes"].dtype.kind == "f"  # numbers stay numbers


@pytest.mark.parametrize(
    "tasks,items,fragments",
    [
        (
            ["faq_reply", "Summary", "faq_reply", "faq_reply"],
            None,
            ["pilot_log.csv line 3", "field 'task'", "'Summary' is not a task of this dataset"],
        ),
        (  # a task no item of the dataset has
            ["faq_reply", "faq_reply", "staff_question", "faq_reply"],
            None,
            ["pilot_log.csv line 4", "field 'task'", "use one of faq_reply, inbound_summary"],
        ),
        (  # the cell contradicts the item it names
            ["faq_reply", "newsletter", "faq_reply", "faq_reply"],
            ["", "faq-004", "", ""],
            ["pilot_log.csv line 3", "field 'task'", "item 'faq-004' is a faq_reply item"],
        ),
    ],
    ids=["not-a-task", "no-such-workflow", "not-its-items"],
)
def test_a_bad_task_names_file_line_and_field(mini_copy, tasks, items, fragments, capsys):
    _with_tasks(mini_copy, tasks, items)
    with pytest.raises(DatasetError) as err:
        load_dataset(mini_copy)
    lines = [str(p) for p in err.value.problems]
    assert any(all(f in line for f in fragments) for line in lines), lines
    assert main(["validate", str(mini_copy)]) == 2
    assert fragments[0] in capsys.readouterr().err


def test_a_log_read_on_its_own_takes_its_items_tasks(mini_copy):
    _with_tasks(mini_copy, ["", "", "", ""], ["sum-001", "", "", ""])
    tasks = load_dataset(mini_copy).item_tasks()
    log = read_pilot_log(mini_copy / "pilot_log.csv", tasks)
    assert log is not None and log["task"].tolist()[:2] == ["inbound_summary", "faq_reply"]
    _with_tasks(mini_copy, ["nope", "", "", ""], ["", "", "", ""])
    with pytest.raises(DatasetError, match=r"line 2.*field 'task'"):
        read_pilot_log(mini_copy / "pilot_log.csv", tasks)


def test_the_sample_districts_log_is_the_faq_pilots():
    ds = load_dataset(SAMPLE)
    assert ds.pilot_log is not None and set(ds.pilot_log["task"]) == {"faq_reply"}
