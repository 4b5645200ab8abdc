"""One embedded server per machine: harness processes share it, check it, and never orphan it.

Each test has a runtime folder of its own (``HARNESS_RUNTIME_DIR``), so it owns its server and
can watch it stop, whatever other pytest workers do with the machine's shared one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.engine import local
from harness.errors import HarnessError

pytestmark = pytest.mark.local_model

REPO = Path(__file__).resolve().parents[2]
# the foreign listener runs as another user, who may not read the virtualenv
FOREIGN_PY = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable

# A harness process using the embedded model: lease it, make one chat request, print, hold, let
# go. The request is plain HTTP to the leased server with its nonce (what these tests are about
# is the lease: who starts, shares, checks and stops the server), not through litellm, whose
# import (~3.6 CPU s a process, two processes a test) belongs to test_local.py's
# test_litellm_reaches_the_embedded_model_and_server_stops, which calls the same server so.
USER = """
import json, sys, time, urllib.request
from pathlib import Path
from harness.engine.local import serve_smollm2
with serve_smollm2(log_dir=Path(sys.argv[1])) as s:
    body = {"model": s.litellm_model.split("/", 1)[1], "max_tokens": 4, "temperature": 0,
            "messages": [{"role": "user", "content": "Hi"}]}
    req = urllib.request.Request(s.api_base + "/chat/completions", json.dumps(body).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {s.api_key}"})
    try:
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
        with direct.open(req, timeout=120) as resp:
            reply = json.load(resp)
        error = None if reply["choices"][0]["message"]["content"] is not None else reply
    except Exception as e:
        error = repr(e)
    print(json.dumps({"pid": s.pid, "shared": s.shared, "ok": error is None,
                      "error": error}), flush=True)
    wait = Path(sys.argv[2])
    while not wait.exists():
        time.sleep(0.05)
print("released", flush=True)
"""


def _alive(pid: int) -> bool:
    return local.watchdog.proc_start(pid) is not None


def _gone(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


@pytest.fixture
def rt(tmp_path, monkeypatch):
    path = tmp_path / "rt"
    monkeypatch.setenv("HARNESS_RUNTIME_DIR", str(path))
    return path


def _user(tmp_path: Path, name: str) -> tuple[subprocess.Popen[str], Path]:
    release = tmp_path / f"release-{name}"
    env = dict(os.environ, PYTHONPATH=str(REPO), LITELLM_LOCAL_MODEL_COST_MAP="True")
    proc = subprocess.Popen(
        [sys.executable, "-c", USER, str(tmp_path), str(release)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return proc, release


def _first(proc: subprocess.Popen[str]) -> dict:
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return json.loads(line)


def _servers(rt: Path) -> list[int]:
    """PIDs of llama_cpp.server processes started for this runtime folder (via its watchdog)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
            if b"llama_cpp.server" not in argv:
                continue
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            parent = Path(f"/proc/{ppid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if str(rt).encode() in parent:
            out.append(int(d.name))
    return out


def test_two_processes_share_one_server_which_stops_after_the_last(rt, tmp_path):
    a, release_a = _user(tmp_path, "a")
    first = _first(a)
    b, release_b = _user(tmp_path, "b")
    second = _first(b)
    assert first["ok"] and second["ok"], (first, second)
    assert first["pid"] == second["pid"]
    assert (first["shared"], second["shared"]) == (False, True)
    assert _servers(rt) == [first["pid"]]
    release_a.touch()  # the starter ends first: the server stays for the other user
    assert a.wait(30) == 0
    time.sleep(1.0)
    assert _alive(first["pid"])
    release_b.touch()
    assert b.wait(30) == 0
    assert _gone(first["pid"])
    assert _servers(rt) == []
    assert not list(rt.glob("*.json"))


def test_the_wrong_server_is_refused(rt, tmp_path):
    a, release_a = _user(tmp_path, "a")
    info = _first(a)
    (state_file,) = rt.glob("*.json")
    good = json.loads(state_file.read_text())
    # a process of another user (when we can make one) listening on a port of its own
    user = 65534 if os.getuid() == 0 else None
    foreign = subprocess.Popen(
        [FOREIGN_PY, "-u", "-m", "http.server", "--bind", "127.0.0.1", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd="/",
        user=user,
    )
    try:
        line = foreign.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
        port = int(line.split(" port ")[1].split()[0])
        cases = {
            "nonce": ({"nonce": "0" * 32}, "nonce"),
            "model hash": ({"model_sha256": "0" * 64}, "another model file"),
            "another user's port": ({"port": port}, "not served by its process"),
            "another process": (
                {"pid": foreign.pid, "start": local.watchdog.proc_start(foreign.pid)},
                "another user" if user else "not served by its process",
            ),
        }
        for what, (change, reason) in cases.items():
            state_file.write_text(json.dumps({**good, **change}))
            with pytest.raises(HarnessError, match="refusing") as e, local.serve_smollm2():
                pytest.fail(f"used a server with a wrong {what}")
            assert reason in str(e.value), what
        state_file.write_text(json.dumps(good))
        with local.serve_smollm2() as ok:  # the right one is still accepted
            assert ok.pid == info["pid"] and ok.shared
    finally:
        foreign.kill()
        foreign.wait()
        release_a.touch()
        a.wait(30)
    assert _gone(info["pid"])


@pytest.mark.parametrize("victim", ["starter", "other"])
def test_kill9_of_a_user_leaves_no_orphan(rt, tmp_path, victim):
    a, release_a = _user(tmp_path, "a")
    pid = _first(a)["pid"]
    b, release_b = _user(tmp_path, "b")
    assert _first(b)["pid"] == pid
    killed, survivor, release = (a, b, release_b) if victim == "starter" else (b, a, release_a)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    time.sleep(1.0)
    assert _alive(pid)  # the other user still holds it
    release.touch()
    assert survivor.wait(30) == 0
    assert _gone(pid)
    assert _servers(rt) == []


def test_a_killed_last_user_leaves_no_orphan(rt, tmp_path):
    a, _ = _user(tmp_path, "a")
    pid = _first(a)["pid"]
    a.send_signal(signal.SIGKILL)
    a.wait()
    assert _gone(pid)
    assert _servers(rt) == []
    assert not list(rt.glob("*.json"))


def test_a_stale_state_is_replaced(rt):
    """A state whose PIDs now name other processes (PID reuse) is stale, not a server to use."""
    with local.serve_smollm2() as s:
        state = json.loads(next(rt.glob("*.json")).read_text())
    assert _gone(s.pid)
    me = os.getpid()
    state.update(pid=me, watchdog_pid=me)  # alive, but started at another time
    (rt / f"{next(rt.glob('*.leases')).stem}.json").write_text(json.dumps(state))
    with local.serve_smollm2() as again:
        assert not again.shared and again.pid != s.pid and again.pid != me
    assert _gone(again.pid)


def test_runtime_dir_open_to_others_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "open"
    path.mkdir(mode=0o777)
    path.chmod(0o777)
    monkeypatch.setenv("HARNESS_RUNTIME_DIR", str(path))
    with pytest.raises(HarnessError, match="mode 0700"):
        local.runtime_dir()


@pytest.mark.parametrize(
    "running,threads", [("1/300", 2), ("2/300", 1), ("6/300", 1), ("garbage", 2)]
)
def test_threads_follow_how_busy_the_machine_is(tmp_path, monkeypatch, running, threads):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    f = tmp_path / "loadavg"
    f.write_text(f"0.10 0.20 0.30 {running} 4242\n")
    assert local.auto_threads(samples=3, loadavg=f) == threads


def test_a_lease_held_across_two_sessions_keeps_one_server(rt, tmp_path, capfd):
    # `harness demo` holds a lease across its run and its scoring pass, two engine sessions
    # that each lease the server: both reuse it quietly, and it stops with the outer lease
    with local.serve_smollm2(log_dir=tmp_path) as outer:
        for _ in range(2):
            with local.serve_smollm2(log_dir=tmp_path) as inner:
                assert inner.pid == outer.pid and not inner.shared
            assert _alive(outer.pid)
            assert _servers(rt) == [outer.pid]
        assert "reusing" not in capfd.readouterr().err
    assert _gone(outer.pid)
    assert _servers(rt) == []
