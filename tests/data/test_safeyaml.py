from __future__ import annotations

import math
import time

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from harness.cli.commands import main
from harness.data.safeyaml import MAX_BYTES, YamlProblem, load_file, parse
from harness.errors import PlanError
from harness.plan.spec import load_plan

LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (LAUGHS, None, "expands to more than"),
        ("a: &a [x]\n" + "\n".join(f"k{i}: *a" for i in range(101)), None, "more than 100 aliases"),
        ("a: &a [1, *a]", 1, "contains itself"),
        ("x: 1\ny: 2\nx: 3", 3, "key 'x' appears twice"),
        ("t: .nan", 1, "not a finite number"),
        ("t: .inf", 1, "not a finite number"),
        ("t: -.inf", 1, "not a finite number"),
        ("t:\n  u: 1e400", 2, "not a finite number"),
        ("t: 1e308", 1, "too large"),
        ("t: 1.0e308", 1, "too large"),
        ("t: nan", 1, "not a finite number"),
        ("t: -Infinity", 1, "not a finite number"),
        ("t: 123456789012345678901", 1, "too large"),
        ("a: [1, 2", None, "not valid YAML"),
        ("a: !!python/object/apply:os.system ['id']", 1, "not valid YAML"),
        ("a: 1\n---\nb: 2", None, "not valid YAML"),
    ],
)
def test_refused_documents_name_the_problem_and_line(text, line, words):
    with pytest.raises(YamlProblem) as err:
        parse(text)
    assert words in err.value.message
    if line is not None:
        assert err.value.line == line


def test_a_billion_laughs_is_refused_in_milliseconds():
    # CPU seconds of this process, not wall time: the work a refusal costs, which the other
    # processes of a busy machine (CI, pytest-xdist's other worker) cannot stretch
    t0 = time.process_time()
    with pytest.raises(YamlProblem):
        parse(LAUGHS)
    assert time.process_time() - t0 < 0.5


def test_oversized_document_is_refused_before_parsing(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_text("a: " + "x" * (MAX_BYTES + 10), encoding="utf-8")
    t0 = time.process_time()
    with pytest.raises(PlanError, match="larger than"):
        load_file(p, "plan")
    assert time.process_time() - t0 < 0.5


@pytest.mark.parametrize("text", ["t: 'nan'", 't: "1e400"', "t: nano", "t: 1e5", "t: 2.5"])
def test_quoted_text_and_ordinary_numbers_pass(text):
    assert parse(text)[0]["t"] is not None


def test_small_aliases_and_merge_keys_still_work():
    data, node = parse("base: &b {t: 0.5, n: 3}\nx:\n  <<: *b\n  n: 4\ny: *b\n")
    assert data == {"base": {"t": 0.5, "n": 3}, "x": {"t": 0.5, "n": 4}, "y": {"t": 0.5, "n": 3}}
    assert node is not None and node.start_mark.line == 0


def test_front_matter_line_offset():
    with pytest.raises(YamlProblem) as err:
        parse("title: x\nsize: .nan", line_offset=1)
    assert err.value.line == 3


def _refused_on_purpose(t: str) -> bool:
    """Text that safe_dump writes unquoted but reads as a non-finite or huge number ('INF',
    '1e100'): refused by design (a float field would take it), tested in the cases above."""
    from harness.data.safeyaml import _NUMBERISH

    if not _NUMBERISH.match(t):
        return False
    try:
        v = float(t.replace("_", ""))
    except ValueError:
        return False
    return not math.isfinite(v) or abs(v) > 1e15


text = st.text(max_size=20).filter(lambda t: not _refused_on_purpose(t))
plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(-1e12, 1e12, allow_nan=False)
    | text,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(text, kids, max_size=4),
    max_leaves=20,
)


@given(plain)
def test_round_trips_what_safe_load_reads(value):
    text = yaml.safe_dump({"v": value})
    assert parse(text)[0] == yaml.safe_load(text)


BOMB_OPTIONS = "    options:\n" + "\n".join("      " + line for line in LAUGHS.splitlines())


@pytest.mark.parametrize(
    "tail",
    [
        BOMB_OPTIONS,  # a billion laughs in a baseline's free-form options
        "runner:\n  timeout: .inf",
        "runner:\n  budget_usd: .nan",
        "regression_margins:\n  word_similarity: 1e400",
    ],
)
def test_plan_with_bomb_or_non_finite_exits_2_with_file_and_line(
    tmp_path, mini, results, tail, capsys
):
    path = tmp_path / "plan.yaml"
    text = (
        f"name: t\ndataset: {mini}\ntasks: [faq_reply]\n"
        "candidates:\n  - name: canned\n    baseline: template\n"
    )
    if tail is BOMB_OPTIONS:
        text += tail + "\n"
    else:
        text += tail + "\n"
    path.write_text(text)
    with pytest.raises(PlanError) as err:
        load_plan(path)
    assert str(path) in str(err.value) and " line " in str(err.value)
    t0 = time.process_time()
    assert main(["--results", str(results), "run", str(path), "--no-score", "--quiet"]) == 2
    assert time.process_time() - t0 < 5
    assert f"{path} line" in capsys.readouterr().err
    assert not list(results.iterdir())


@pytest.mark.parametrize(
    ("loader", "shipped", "old", "new"),
    [
        ("harness.gates:load_gates", "gates.yaml", None, "\nbomb: &x [.nan]\n"),
        ("harness.gates:load_governance", "governance.yaml", None, "\nextra: .inf\n"),
        ("harness.scorers.edit:load_rates", "effort.yaml", "read_wpm: 230", "read_wpm: .inf"),
        ("harness.scorers.edit:load_rates", "effort.yaml", "read_wpm: 230", "read_wpm: 1e999"),
    ],
)
def test_every_rubric_file_goes_through_the_safe_loader(tmp_path, loader, shipped, old, new):
    import importlib

    from tests.conftest import REPO

    module, fn = loader.split(":")
    text = (REPO / "rubrics" / shipped).read_text()
    text = text.replace(old, new) if old else text + new
    p = tmp_path / shipped
    p.write_text(text)
    with pytest.raises(PlanError) as err:
        getattr(importlib.import_module(module), fn)(p)
    (problem,) = err.value.problems
    assert problem.file == str(p) and problem.line is not None
    assert "not a finite number" in problem.message


_READERS = {
    "load", "safe_load", "full_load", "unsafe_load", "load_all", "safe_load_all",
    "full_load_all", "unsafe_load_all", "compose", "compose_all", "parse", "scan",
    "Loader", "SafeLoader", "FullLoader", "UnsafeLoader", "BaseLoader", "CLoader",
    "CSafeLoader", "CFullLoader", "CUnsafeLoader", "CBaseLoader",
}  # fmt: skip


def _yaml_reads(source: str) -> list[tuple[int, str]]:
    """(line, name) of every way ``source`` reaches a YAML reader of PyYAML."""
    import ast

    tree = ast.parse(source)
    aliases = {"yaml"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "yaml"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "yaml":
            found += [(node.lineno, a.name) for a in node.names if a.name in _READERS]
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr in _READERS
        ):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return found


@pytest.mark.parametrize(
    ("source", "reads"),
    [
        ("import yaml\nyaml.safe_load(t)", 1),
        ("import yaml as y\ny.load(t, Loader=y.SafeLoader)", 2),
        ("from yaml import safe_load", 1),
        ("from yaml import CSafeLoader as L", 1),
        ("import yaml\nyaml.safe_dump(d)\nnode: yaml.Node", 0),
    ],
)
def test_the_yaml_read_finder_finds_every_spelling(source, reads):
    assert len(_yaml_reads(source)) == reads


def test_every_yaml_read_in_harness_goes_through_the_one_safe_loader():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "harness"
    offenders = [
        f"{p.relative_to(root.parent)}:{line}: {name}"
        for p in sorted(root.rglob("*.py"))
        if p.name != "safeyaml.py"
        for line, name in _yaml_reads(p.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "read YAML with harness.data.safeyaml.parse/load_file instead"
