"""The install depends on nothing but the lock (scripts/install_lock.py, `make install`).

The failure this guards against: the stock pip of `python3 -m venv` (23.2 on Python 3.11)
resolved litellm's `httpx[http2]` extra against the registry, found an httpx published after
the lock was made, and refused the hashed install. The test rebuilds that shape offline: a local
index holding the locked `demo-http 0.28.1` and a newer `demo-http 0.29.0`, and a locked
package that asks for `demo-http[h2]`.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import shared_copy

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
spec = importlib.util.spec_from_file_location("install_lock", ROOT / "scripts" / "install_lock.py")
assert spec and spec.loader
install_lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_lock)


def _wheel(index: Path, name: str, version: str, requires: list[str], extras: list[str]) -> Path:
    """A minimal pure-Python wheel, written by hand (a zip with METADATA, WHEEL and RECORD)."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = index / f"{dist}-py3-none-any.whl"
    files = {
        f"{name.replace('-', '_')}/__init__.py": f'__version__ = "{version}"\n',
        f"{dist}.dist-info/METADATA": "\n".join(
            ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
            + [f"Provides-Extra: {e}" for e in extras]
            + [f"Requires-Dist: {r}" for r in requires]
        )
        + "\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    with zipfile.ZipFile(path, "w") as zf:
        for arc, text in files.items():
            data = text.encode()
            zf.writestr(arc, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arc},sha256={digest},{len(data)}")
        record.append(f"{dist}.dist-info/RECORD,,")
        zf.writestr(f"{dist}.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def _block(path: Path, via: str) -> str:
    name, version = path.name.split("-")[:2]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{name.replace('_', '-')}=={version} \\\n    --hash=sha256:{digest}\n    # via {via}\n"


@pytest.fixture(scope="module")
def local_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(index folder, lock): the lock pins demo-http 0.28.1; the index also holds 0.29.0."""
    index = tmp_path_factory.mktemp("index")
    app = _wheel(index, "demo-app", "1.0", ["demo-http[h2]<1.0,>=0.28.0"], [])
    http = _wheel(index, "demo-http", "0.28.1", ['demo-h2>=1; extra == "h2"'], ["h2"])
    _wheel(index, "demo-http", "0.29.0", ['demo-h2>=1; extra == "h2"'], ["h2"])  # published later
    h2 = _wheel(index, "demo-h2", "1.0", [], [])
    pip_block = install_lock.parse_lock(LOCK.read_text(encoding="utf-8"))["pip"][1]
    lock = index / "requirements.lock"
    lock.write_text(
        _block(app, "-r requirements.in")
        + _block(h2, "demo-http")
        + _block(http, "demo-app")
        + pip_block,
        encoding="utf-8",
    )
    return index, lock


def _fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A venv with the stock pip that `python3 -m venv` gives: made once per session (ensurepip
    costs ~3 CPU s) and copied untouched for each test, which installs into its own copy."""
    folder = shared_copy(
        tmp_path_factory, "stock-venv", lambda d: venv.create(d / "venv", with_pip=True)
    )
    return str(folder / "venv" / "bin" / "python")


def _offline(index: Path) -> list[str]:
    wheels = ROOT / ".cache" / "wheels"
    return ["--no-index", "--find-links", str(index), "--find-links", str(wheels)]


def _freeze(python: str) -> dict[str, str]:
    out = subprocess.run(
        [python, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True
    ).stdout
    pins = {}
    for line in out.splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)$", line)
        if match:
            pins[install_lock.canonical(match.group(1))] = match.group(2)
    return pins


def test_parse_lock_reads_every_pin_and_its_via_lines() -> None:
    blocks = install_lock.parse_lock(LOCK.read_text(encoding="utf-8"))
    pinned = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", LOCK.read_text(), re.M)
    assert len(blocks) == len(pinned) > 100
    assert "litellm" in blocks["httpx"][2]
    assert all("--hash=sha256:" in text for _, text, _ in blocks.values())


def test_build_tools_and_their_needs_come_from_the_lock() -> None:
    blocks = install_lock.parse_lock(LOCK.read_text(encoding="utf-8"))
    tools = install_lock.build_closure(blocks, "requirements-build.in")
    # llama-cpp-python builds with these; pathspec and packaging are scikit-build-core's needs.
    assert {
        "scikit-build-core",
        "cmake",
        "ninja",
        "setuptools",
        "wheel",
        "pathspec",
        "packaging",
    } <= set(tools)
    assert "litellm" not in tools and "httpx" not in tools


def test_the_lock_pins_a_safe_litellm_and_names_no_index() -> None:
    text = LOCK.read_text(encoding="utf-8")
    version = install_lock.parse_lock(text)["litellm"][0]
    assert tuple(int(p) for p in version.split(".")[:2]) >= (1, 83)
    assert version not in {"1.82.7", "1.82.8"}
    # Index and find-links options are the machine's business, never the lock's.
    assert not re.search(r"^--(extra-)?index-url|^--find-links", text, re.M)


@pytest.mark.slow
def test_stock_pip_fails_the_way_the_old_makefile_did(
    local_index: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The old install line, with the stock pip: a newer demo-http in the index breaks it."""
    index, lock = local_index
    python = _fresh_venv(tmp_path_factory)
    result = subprocess.run(
        [python, "-m", "pip", "install", "--require-hashes", "-r", str(lock), *_offline(index)],
        capture_output=True,
        text=True,
    )
    stock = _freeze(python).get("pip", "0")
    if int(stock.split(".")[0]) < 24:  # the pip of Python 3.11's and 3.12's ensurepip
        assert result.returncode != 0
        assert "demo-http[h2]<1.0,>=0.28.0 from" in result.stderr and "0.29.0" in result.stderr
    else:  # a newer stock pip resolves the extra against the lock
        assert result.returncode == 0 and _freeze(python)["demo-http"] == "0.28.1"


@pytest.mark.slow
def test_install_from_stock_pip_equals_the_lock(
    local_index: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """scripts/install_lock.py: bootstrap the locked pip, --no-deps, pip check; freeze == lock."""
    index, lock = local_index
    python = _fresh_venv(tmp_path_factory)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "install_lock.py"),
            python,
            "--lock",
            str(lock),
            "--",
            *_offline(index),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    frozen = _freeze(python)
    locked = {
        name: version for name, (version, _, _) in install_lock.parse_lock(lock.read_text()).items()
    }
    assert {name: frozen.get(name) for name in locked} == locked
    assert frozen["demo-http"] == "0.28.1"


def test_this_venv_equals_the_lock() -> None:
    """What `make install` installed here is exactly the lock (plus the harness itself)."""
    frozen = _freeze(sys.executable)
    locked = {name: v for name, (v, _, _) in install_lock.parse_lock(LOCK.read_text()).items()}
    assert {name: frozen.get(name) for name in locked} == locked
    extra = set(frozen) - set(locked) - {"harness"}
    assert not extra, f"installed but not locked: {sorted(extra)}"
