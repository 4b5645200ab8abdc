"""Deferred imports on the rendering path: a report pays only for what it uses.

papermill and nbconvert import nbformat, which imports jsonschema, whose format checkers import
``rfc3987_syntax`` when it is installed (``jsonschema[format-nongpl]``, pulled in by
jupyter-events). That module builds some forty Earley parsers of RFC 3987 at import: about
1.5 CPU s on every ``harness report``, ``calibrate`` or ``compare``, for the "iri" formats that
no notebook schema uses. :func:`defer_iri_grammar` puts a module in its place whose
``is_valid_syntax`` (the one name jsonschema takes from it) imports the real module on its first
call, so the grammar is built only if an "iri" value is ever checked, and the check is the same.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

IRI_MODULE = "rfc3987_syntax"


class _DeferredIRI(types.ModuleType):
    """Stands in the module table for ``rfc3987_syntax`` until a name of it is needed."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system asks for __path__ and the like: not there
            raise AttributeError(name)
        return getattr(_load(), name)  # any other name: the real module's, loaded now


def _load() -> types.ModuleType:
    if isinstance(sys.modules.get(IRI_MODULE), _DeferredIRI):
        del sys.modules[IRI_MODULE]
    return importlib.import_module(IRI_MODULE)


def _is_valid_syntax(term: str, value: str) -> bool:
    """``rfc3987_syntax.is_valid_syntax``, importing (and building) it on the first call."""
    return bool(_load().is_valid_syntax(term, value))


def defer_iri_grammar() -> None:
    """Defer ``rfc3987_syntax``'s grammar build until an "iri" format is checked.

    A no-op when the module is not installed, or already imported (by us or anyone else).
    """
    if IRI_MODULE in sys.modules or importlib.util.find_spec(IRI_MODULE) is None:
        return
    module = _DeferredIRI(IRI_MODULE, "rfc3987_syntax, imported on first use")
    module.is_valid_syntax = _is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[IRI_MODULE] = module
