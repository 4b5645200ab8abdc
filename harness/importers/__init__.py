"""District exports and policy files -> a dataset folder: the whole public API of the importers.

- :func:`import_export`: a CSV/XLSX/JSON/JSONL export (and optionally a folder of policy
  files) becomes ``items.jsonl`` + ``sources/`` + a README with the provenance.
- :func:`import_sources`: PDF/DOCX/HTML/Markdown/text files become ``sources/*.md``.
- :func:`infer_mapping`: which column feeds which field, guessed from the headers.
- :func:`export_suggestions` / :func:`accept_suggestions`: the CSV round trip that turns
  proposed required facts and sensitive flags into accepted ones; :func:`suggestion_counts`.
- :data:`LIMITS`: every size an import accepts (field, nesting, columns, rows, pages,
  unpacked bytes, ...), one table; past one, an export is refused and a policy file skipped,
  each with a message naming the file.

Importing again into a folder the importer wrote merges (:mod:`harness.importers.reimport`):
reviewed suggestions of unchanged items stay, and the difference is printed.
"""

from harness.data.mapping import infer_mapping
from harness.importers.export import ImportResult, import_export
from harness.importers.limits import LIMITS
from harness.importers.review import accept_suggestions, export_suggestions
from harness.importers.sources import import_sources
from harness.importers.suggest import suggestion_counts
from harness.importers.tables import DatasetImportError

__all__ = [
    "LIMITS",
    "DatasetImportError",
    "ImportResult",
    "accept_suggestions",
    "export_suggestions",
    "import_export",
    "import_sources",
    "infer_mapping",
    "suggestion_counts",
]
