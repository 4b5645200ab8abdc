from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

# A fresh interpreter (this one may have imported jsonschema already): read a notebook's
# parameters as every render does, then check "iri" values with jsonschema's format checker.
CODE = """
import json, sys
from harness.report.render import NOTEBOOKS, notebook_parameters
params = notebook_parameters(NOTEBOOKS / "readiness_report.ipynb")
built_at_render = "rfc3987_syntax.syntax_helpers" in sys.modules
from jsonschema import FormatChecker
fc = FormatChecker()
checks = [fc.conforms(v, f) for v, f in CASES]
print(json.dumps({"params": sorted(params), "built_at_render": built_at_render,
                  "checks": checks, "built_after": "rfc3987_syntax.syntax_helpers" in sys.modules}))
"""
CASES = [
    ("https://example.org/caf\u00e9?q=1", "iri"),
    ("no scheme here", "iri"),
    ("../relative/path#frag", "iri-reference"),
    ("a b", "iri-reference"),
]


def test_a_render_does_not_build_the_iri_grammar_and_iri_checks_are_unchanged():
    """papermill imports jsonschema, whose "iri" checks build rfc3987_syntax's grammar at import
    (about 1 CPU s per report process): rendering defers it to the first "iri" check, which
    gives the answers the module gives when imported directly."""
    code = f"CASES = {CASES!r}\n" + CODE
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert "run_id" in got["params"]
    assert got["built_at_render"] is False
    from rfc3987_syntax import is_valid_syntax

    want = [is_valid_syntax(f.replace("-", "_"), v) for v, f in CASES]
    assert got["checks"] == want == [True, False, True, False]
    assert got["built_after"] is True
