"""Relative paths that resolve the same from the CLI, a script or a notebook in ``notebooks/``.

A notebook's kernel runs in the notebook's folder, so ``"plans/demo.yaml"`` or ``"results"``
written for the repository root would not be found there. :func:`resolve_path` tries the
current folder first, then the project root: the nearest folder above the current one that
holds ``pyproject.toml`` and ``harness/`` (never a folder outside the current one's ancestors,
so a script run elsewhere does not write into some checkout's ``results/``).
"""

from __future__ import annotations

from pathlib import Path


def _is_root(folder: Path) -> bool:
    return (folder / "pyproject.toml").is_file() and (folder / "harness").is_dir()


def project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the current one) holding the project."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _is_root(folder):
            return folder
    return None


def resolve_path(path: str | Path) -> Path:
    """``path`` as given when it exists (or is absolute), else under the project root if there.

    Args:
        path: a file or folder path, usually relative to the repository root.

    Returns:
        The path to use; unchanged when neither place holds it, so errors name what was given.
    """
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    root = project_root()
    if root is not None and (root / p).exists():
        return root / p
    return p
