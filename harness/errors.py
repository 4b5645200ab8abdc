"""The harness's exception tree: every error a user can cause says what, where and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


class HarnessError(Exception):
    """Base class for errors caused by input the user can fix (the CLI exits 2 on these)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where it is, what is wrong, and how to fix it."""

    file: str
    line: int | None
    field: str | None
    message: str
    hint: str = ""
    kind: str = "line"  # "line" for text files, "row" for parquet rows

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" {self.kind} {self.line}"
        what = f"field '{self.field}' {self.message}" if self.field else self.message
        return f"{where}: {what}" + (f"; {self.hint}" if self.hint else "")


class InputError(HarnessError):
    """A file the user gave has one or more problems; all of them are listed at once."""

    def __init__(self, what: str, problems: list[Problem]):
        self.what = what
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{what}: {n} problem{'s' if n != 1 else ''}"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in self.problems))


class DatasetError(InputError):
    """A dataset folder failed validation."""


class PlanError(InputError):
    """An eval plan, rubric, gates or governance file failed validation."""


class RunError(HarnessError):
    """A run cannot start or resume (unknown run id, plan changed since the run, ...)."""


class ReportError(HarnessError):
    """A report notebook could not be rendered (bad parameters, failing cell)."""

    def __init__(self, message: str, cell_index: int | None = None, ename: str | None = None):
        self.cell_index = cell_index
        self.ename = ename
        super().__init__(message)


class InfrastructureError(Exception):
    """The machine, not the input, stopped the work: disk full, read-only folder, a run folder
    locked by another writer. The CLI prints one line and exits 3; ``--resume`` continues."""


EXIT_INFRASTRUCTURE = 3
# `harness check`: no gate failed, but a required gate cannot be checked with this data
# (the verdict "Not decided: evidence missing"); a CI job fails on it like on a failure.
EXIT_EVIDENCE_MISSING = 4


class ReviewError(HarnessError):
    """The review station cannot open as asked (the message says how to fix it)."""
