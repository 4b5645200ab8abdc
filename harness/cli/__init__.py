"""CLI: the ``harness`` command (``python -m harness.cli``).

This file is the stage's public API (``__all__``). Names load lazily on first use, so
importing one module of the stage does not import the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.cli.commands import (
        PHASE_HELP,
        REPO,
        RESULTS_HELP,
        RUN_ID_HELP,
        build_parser,
        cmd_calibrate,
        cmd_check,
        cmd_compare,
        cmd_demo,
        cmd_merge,
        cmd_report,
        cmd_run,
        cmd_runs,
        cmd_score,
        cmd_validate,
        cmd_verify,
        main,
        terminal,
    )
    from harness.cli.data import (
        add_data_commands,
        cmd_import,
        cmd_import_sources,
        cmd_review,
        cmd_suggestions,
    )

_API = {
    "PHASE_HELP": "harness.cli.commands",
    "REPO": "harness.cli.commands",
    "RESULTS_HELP": "harness.cli.commands",
    "RUN_ID_HELP": "harness.cli.commands",
    "add_data_commands": "harness.cli.data",
    "build_parser": "harness.cli.commands",
    "cmd_calibrate": "harness.cli.commands",
    "cmd_check": "harness.cli.commands",
    "cmd_compare": "harness.cli.commands",
    "cmd_demo": "harness.cli.commands",
    "cmd_import": "harness.cli.data",
    "cmd_import_sources": "harness.cli.data",
    "cmd_merge": "harness.cli.commands",
    "cmd_report": "harness.cli.commands",
    "cmd_review": "harness.cli.data",
    "cmd_run": "harness.cli.commands",
    "cmd_runs": "harness.cli.commands",
    "cmd_score": "harness.cli.commands",
    "cmd_suggestions": "harness.cli.data",
    "cmd_validate": "harness.cli.commands",
    "cmd_verify": "harness.cli.commands",
    "main": "harness.cli.commands",
    "terminal": "harness.cli.commands",
}

__all__ = [
    "PHASE_HELP",
    "REPO",
    "RESULTS_HELP",
    "RUN_ID_HELP",
    "add_data_commands",
    "build_parser",
    "cmd_calibrate",
    "cmd_check",
    "cmd_compare",
    "cmd_demo",
    "cmd_import",
    "cmd_import_sources",
    "cmd_merge",
    "cmd_report",
    "cmd_review",
    "cmd_run",
    "cmd_runs",
    "cmd_score",
    "cmd_suggestions",
    "cmd_validate",
    "cmd_verify",
    "main",
    "terminal",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
