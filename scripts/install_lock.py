#!/usr/bin/env python3
"""Install exactly what requirements.lock pins, whatever pip the venv came with.

Standard library only: it runs with the stock `python3 -m venv` (pip 23.2 on Python 3.11).

1. Bootstrap the pip the lock pins, from the lock, with its hashes.
2. Install the build tools (requirements-build.in and everything they need, read from the
   lock's `# via` annotations) with their hashes, so a package that builds from source
   (llama-cpp-python) builds with locked tools and never fetches unhashed ones.
3. Install the whole lock with `--no-deps --require-hashes --no-build-isolation`: the lock is
   complete (pip-compile wrote every dependency), so nothing published after it was made can
   change what is installed or how it resolves.
4. `pip check`: the installed set is consistent.

Usage: python scripts/install_lock.py VENV_PYTHON [--lock FILE] [--build-in FILE] [-- PIP_ARGS...]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
QUIET = ["--quiet", "--disable-pip-version-check", "--no-input"]


def canonical(name: str) -> str:
    """PEP 503 name: lower case, runs of -_. as one dash."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> dict[str, tuple[str, str, set[str]]]:
    """Blocks of a hashed lock: {name: (version, block text, the names it is `via`)}."""
    blocks: dict[str, tuple[str, str, set[str]]] = {}
    name = ""
    lines: list[str] = []
    via: set[str] = set()
    in_via = False

    def close() -> None:
        if name:
            version = PIN.match(lines[0]).group(2)  # type: ignore[union-attr]
            blocks[name] = (version.rstrip("\\").strip(), "\n".join(lines) + "\n", set(via))

    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            close()
            name, lines, via, in_via = canonical(match.group(1)), [line], set(), False
        elif name and line.startswith("    --hash="):
            lines.append(line)
        elif name and line.strip().startswith("# via"):
            rest = line.strip()[len("# via") :].strip()
            in_via = not rest
            if rest:
                via.add(rest)
        elif name and in_via and line.startswith("    #   "):
            via.add(line.strip()[1:].strip())
        else:
            in_via = False
    close()
    return blocks


def build_closure(blocks: dict[str, tuple[str, str, set[str]]], build_in: str) -> list[str]:
    """The build tools and every locked package they need (by the lock's `via` lines)."""
    source = f"-r {build_in}"
    chosen = {name for name, (_, _, via) in blocks.items() if source in via}
    grew = True
    while grew:
        grew = False
        for name, (_, _, via) in blocks.items():
            if name not in chosen and any(canonical(v) in chosen for v in via):
                chosen.add(name)
                grew = True
    return sorted(chosen)


def pip(python: str, *args: str) -> None:
    """Run the venv's pip; stop with its exit code on failure."""
    command = [python, "-m", "pip", *args]
    result = subprocess.run(command, check=False)
    if result.returncode:
        print(
            f"install_lock: `{' '.join(command)}` failed (exit {result.returncode})",
            file=sys.stderr,
        )
        sys.exit(result.returncode)


def pip_version(python: str) -> str:
    out = subprocess.run(
        [python, "-m", "pip", "--version"], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]


def install(python: str, lock: Path, build_in: str, extra: list[str]) -> None:
    """The four steps of the module docstring."""
    blocks = parse_lock(lock.read_text(encoding="utf-8"))
    if "pip" not in blocks:
        sys.exit(f"install_lock: {lock} pins no pip; re-run `make lock` (it uses --allow-unsafe)")
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp)
        version = blocks["pip"][0]
        if pip_version(python) != version:
            # Downloaded (hash-checked) into .cache/wheels first: the install test reuses it offline.
            (part / "pip.txt").write_text(blocks["pip"][1], encoding="utf-8")
            wheels = ROOT / ".cache" / "wheels"
            if not any(wheels.glob(f"pip-{version}-*.whl")):
                pip(
                    python,
                    "download",
                    *QUIET,
                    "--require-hashes",
                    "--no-deps",
                    "--only-binary=:all:",
                    "-d",
                    str(wheels),
                    "-r",
                    str(part / "pip.txt"),
                    *extra,
                )
            pip(
                python,
                "install",
                *QUIET,
                "--require-hashes",
                "--no-deps",
                "--find-links",
                str(wheels),
                "-r",
                str(part / "pip.txt"),
                *extra,
            )
        tools = build_closure(blocks, build_in)
        if tools:
            (part / "build.txt").write_text("".join(blocks[t][1] for t in tools), encoding="utf-8")
            pip(
                python,
                "install",
                *QUIET,
                "--require-hashes",
                "--no-deps",
                "-r",
                str(part / "build.txt"),
                *extra,
            )
    pip(
        python,
        "install",
        *QUIET,
        "--require-hashes",
        "--no-deps",
        "--no-build-isolation",
        "-r",
        str(lock),
        *extra,
    )
    pip(python, "check")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("python", help="the venv's python")
    parser.add_argument("--lock", type=Path, default=ROOT / "requirements.lock")
    parser.add_argument(
        "--build-in", default="requirements-build.in", help="as the lock's via lines name it"
    )
    argv = sys.argv[1:] if argv is None else argv
    # After `--`: more pip options (the install test: --no-index --find-links DIR).
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    install(args.python, args.lock, args.build_in, extra)


if __name__ == "__main__":
    main()
