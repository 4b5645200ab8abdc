from __future__ import annotations

import argparse

import pytest

from harness.cli.commands import build_parser, main


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    act = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return dict(act.choices)


@pytest.mark.parametrize("command", sorted(_subparsers(build_parser())))
def test_every_argument_has_help(command):
    sub = _subparsers(build_parser())[command]
    missing = [
        a.dest for a in sub._actions if not isinstance(a, argparse._HelpAction) and not a.help
    ]
    assert missing == [], f"harness {command}: no help for {missing}"


def test_phase_help_explains_each_phase():
    text = " ".join(_subparsers(build_parser())["report"].format_help().split())
    for phase in ("pre_pilot", "post_pilot", "pre_expansion"):
        assert phase in text
    assert "before the pilot" in text and "widen" in text


@pytest.mark.parametrize(
    "argv",
    [["--results", "R", "runs"], ["runs", "--results", "R"], ["report", "x", "--results", "R"]],
)
def test_global_options_before_or_after_the_subcommand(argv):
    assert build_parser().parse_args(argv).results == "R"


def test_results_after_the_subcommand_is_used(tmp_path, capsys):
    assert main(["runs", "--results", str(tmp_path)]) == 0
    assert "no runs yet" in capsys.readouterr().out


def test_the_command_freezes_its_heap_on_the_way_out_and_a_caller_s_main_does_not(tmp_path):
    """`harness ...` as the process's command: the interpreter's last collections skip what the
    command loaded (harness.cli.commands.main); main([...]) from a caller changes nothing."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import gc, sys\n"
        "from harness.cli.commands import main\n"
        f"main(['--results', {str(tmp_path)!r}, 'runs'])\n"
        "print(gc.get_freeze_count())\n"
        f"sys.argv = ['harness', '--results', {str(tmp_path)!r}, 'runs']\n"
        "main()\n"
        "print(gc.get_freeze_count())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    counts = [int(x) for x in out.stdout.split() if x.isdigit()]
    assert len(counts) == 2 and counts[0] == 0 and counts[1] > 10_000, out.stdout + out.stderr
