"""Data: read and check a dataset folder (items, sources, tables, safe YAML).

This file is the stage's public API (``__all__``). Names load lazily on first use, so
importing one module of the stage does not import the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.data.dataset import (
        ITEM_FILES,
        Dataset,
        items_for_tasks,
        load_dataset,
        scored_tasks,
    )
    from harness.data.files import YES_NO, Collector, blank, read_text
    from harness.data.guard import (
        LINK_HINT,
        MAX_JSON_DEPTH,
        JsonKeyError,
        csv_error,
        duplicate_key_line,
        escape_reason,
        finite_number,
        header_problems,
        json_depth_line,
        strict_json,
    )
    from harness.data.items import (
        LIST_FIELDS,
        OPTIONAL_TEXT_FIELDS,
        REQUIRED_ITEM_FIELDS,
        check_items,
        items_frame,
        look_alike,
        read_items,
    )
    from harness.data.languages import LANGUAGE_NAMES, language_name
    from harness.data.mapping import (
        ALIASES,
        FIELDS,
        REQUIRED,
        infer_mapping,
        mapping_table,
        meta_name,
        normalise_header,
        parse_overrides,
        resolve_mapping,
    )
    from harness.data.safeyaml import (
        MAX_ALIASES,
        MAX_BYTES,
        MAX_NODES,
        MAX_NUMBER,
        YamlProblem,
        load_file,
        parse,
    )
    from harness.data.sources import SOURCE_STATUSES, SOURCE_SUFFIXES, read_sources
    from harness.data.tables import (
        DIRECTORY_KINDS,
        PILOT_MAX,
        PILOT_NUMERIC,
        PILOT_PHASES,
        PILOT_REQUIRED,
        RATINGS_NON_CRITERIA,
        RATINGS_REQUIRED,
        pilot_log_frame,
        read_csv_rows,
        read_directory,
        read_pilot_log,
        read_ratings,
    )
    from harness.data.validation import line_of, validation_problems

_API = {
    "ALIASES": "harness.data.mapping",
    "Collector": "harness.data.files",
    "DIRECTORY_KINDS": "harness.data.tables",
    "Dataset": "harness.data.dataset",
    "FIELDS": "harness.data.mapping",
    "ITEM_FILES": "harness.data.dataset",
    "JsonKeyError": "harness.data.guard",
    "LANGUAGE_NAMES": "harness.data.languages",
    "LINK_HINT": "harness.data.guard",
    "LIST_FIELDS": "harness.data.items",
    "MAX_ALIASES": "harness.data.safeyaml",
    "MAX_BYTES": "harness.data.safeyaml",
    "MAX_JSON_DEPTH": "harness.data.guard",
    "MAX_NODES": "harness.data.safeyaml",
    "MAX_NUMBER": "harness.data.safeyaml",
    "OPTIONAL_TEXT_FIELDS": "harness.data.items",
    "PILOT_MAX": "harness.data.tables",
    "PILOT_NUMERIC": "harness.data.tables",
    "PILOT_PHASES": "harness.data.tables",
    "PILOT_REQUIRED": "harness.data.tables",
    "RATINGS_NON_CRITERIA": "harness.data.tables",
    "RATINGS_REQUIRED": "harness.data.tables",
    "REQUIRED": "harness.data.mapping",
    "REQUIRED_ITEM_FIELDS": "harness.data.items",
    "SOURCE_STATUSES": "harness.data.sources",
    "SOURCE_SUFFIXES": "harness.data.sources",
    "YES_NO": "harness.data.files",
    "YamlProblem": "harness.data.safeyaml",
    "blank": "harness.data.files",
    "check_items": "harness.data.items",
    "csv_error": "harness.data.guard",
    "duplicate_key_line": "harness.data.guard",
    "escape_reason": "harness.data.guard",
    "finite_number": "harness.data.guard",
    "header_problems": "harness.data.guard",
    "infer_mapping": "harness.data.mapping",
    "items_for_tasks": "harness.data.dataset",
    "scored_tasks": "harness.data.dataset",
    "items_frame": "harness.data.items",
    "language_name": "harness.data.languages",
    "json_depth_line": "harness.data.guard",
    "line_of": "harness.data.validation",
    "load_dataset": "harness.data.dataset",
    "load_file": "harness.data.safeyaml",
    "look_alike": "harness.data.items",
    "mapping_table": "harness.data.mapping",
    "meta_name": "harness.data.mapping",
    "normalise_header": "harness.data.mapping",
    "parse": "harness.data.safeyaml",
    "parse_overrides": "harness.data.mapping",
    "pilot_log_frame": "harness.data.tables",
    "read_csv_rows": "harness.data.tables",
    "read_directory": "harness.data.tables",
    "read_items": "harness.data.items",
    "read_pilot_log": "harness.data.tables",
    "read_ratings": "harness.data.tables",
    "read_sources": "harness.data.sources",
    "read_text": "harness.data.files",
    "resolve_mapping": "harness.data.mapping",
    "strict_json": "harness.data.guard",
    "validation_problems": "harness.data.validation",
}

__all__ = [
    "ALIASES",
    "DIRECTORY_KINDS",
    "FIELDS",
    "ITEM_FILES",
    "LANGUAGE_NAMES",
    "LINK_HINT",
    "LIST_FIELDS",
    "MAX_ALIASES",
    "MAX_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_NODES",
    "MAX_NUMBER",
    "OPTIONAL_TEXT_FIELDS",
    "PILOT_MAX",
    "PILOT_NUMERIC",
    "PILOT_PHASES",
    "PILOT_REQUIRED",
    "RATINGS_NON_CRITERIA",
    "RATINGS_REQUIRED",
    "REQUIRED",
    "REQUIRED_ITEM_FIELDS",
    "SOURCE_STATUSES",
    "SOURCE_SUFFIXES",
    "YES_NO",
    "Collector",
    "Dataset",
    "JsonKeyError",
    "YamlProblem",
    "blank",
    "check_items",
    "csv_error",
    "duplicate_key_line",
    "escape_reason",
    "finite_number",
    "header_problems",
    "infer_mapping",
    "items_for_tasks",
    "items_frame",
    "json_depth_line",
    "language_name",
    "line_of",
    "load_dataset",
    "load_file",
    "look_alike",
    "mapping_table",
    "meta_name",
    "normalise_header",
    "parse",
    "parse_overrides",
    "pilot_log_frame",
    "read_csv_rows",
    "read_directory",
    "read_items",
    "read_pilot_log",
    "read_ratings",
    "read_sources",
    "read_text",
    "resolve_mapping",
    "scored_tasks",
    "strict_json",
    "validation_problems",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
