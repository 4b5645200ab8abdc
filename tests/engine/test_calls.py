"""The one model-call engine: every call site approved before any request, destinations pinned,
keys scrubbed whatever their variable is called, the judge treated like every candidate.

127.0.0.1 is the approved machine; a loopback server on 127.0.0.2 stands in for a provider the
district never approved (still this machine: no traffic leaves it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.engine.calls import Engine, Request, check_plan
from harness.engine.protect import approved_by, destination
from harness.errors import RunError
from harness.plan.spec import load_plan
from harness.run.runner import RunOptions, run_plan
from harness.scorers.scoring import score_run
from tests.conftest import REPO, model_candidate, write_plan

QUIET = RunOptions(progress=False)
JUDGE_REPLY = '{"accuracy": 4, "completeness": 3, "tone": 5, "rationale": "fine"}'


def _governance(folder: Path, providers: list[str]) -> Path:
    p = folder / "governance.yaml"
    p.write_text(yaml.safe_dump({"approved_providers": providers}), encoding="utf-8")
    return p


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full,
        timeout=600,
    )


@pytest.mark.parametrize(
    ("model", "api_base", "env", "approved", "ok"),
    [
        ("local/smollm2", None, {}, ["local/smollm2"], True),
        ("openai/gpt-4o-mini", None, {}, ["openai/gpt-4o-mini"], True),
        ("openai/gpt-4o-mini", None, {}, ["openai"], True),
        # a model approval does not follow the model to another endpoint
        ("openai/gpt-4o-mini", "http://127.0.0.2:9/v1", {}, ["openai/gpt-4o-mini"], False),
        ("azure/gpt", "https://evil.example", {}, ["azure"], False),
        # ... nor to where an environment variable (shell or .env) points the provider
        ("openai/gpt-4o-mini", None, {"OPENAI_API_BASE": "http://127.0.0.2:9"}, ["openai"], False),
        ("openai/gpt-4o-mini", None, {"OPENAI_BASE_URL": "http://127.0.0.2:9"}, ["openai"], False),
        (
            "anthropic/claude",
            None,
            {"ANTHROPIC_API_BASE": "http://127.0.0.2:9"},
            ["anthropic"],
            False,
        ),
        # an endpoint approval approves that destination, wherever it was named
        (
            "openai/gpt-4o-mini",
            None,
            {"OPENAI_API_BASE": "http://127.0.0.2:9"},
            ["openai", "http://127.0.0.2:9"],
            True,
        ),
        ("openai/x", "http://127.0.0.2:9/v1", {}, ["http://127.0.0.2"], True),
        ("openai/x", "http://127.0.0.2:9/v1", {}, ["http://127.0.0.2:10"], False),
        ("openai/x", "https://127.0.0.2:9/v1", {}, ["http://127.0.0.2"], False),
        ("openai/x", "http://127.0.0.1:9/v1", {}, ["127.0.0.1"], True),
    ],
)
def test_approval_pins_the_destination(model, api_base, env, approved, ok):
    assert (approved_by(destination(model, api_base, env), approved) is not None) is ok


def test_destination_names_scheme_host_and_port():
    assert destination("openai/x", "http://127.0.0.2:8123/v1").endpoint == "http://127.0.0.2:8123"
    assert destination("openai/gpt-4o", None, {}).endpoint == "https://api.openai.com:443"
    assert destination("openai/gpt-4o", None, {"OPENAI_API_BASE": "http://h:1"}).origin == (
        "environment"
    )


def test_judge_at_an_unapproved_endpoint_gets_zero_requests(tmp_path, mini, results, loopback):
    cand = loopback()
    judge = loopback(host="127.0.0.2", reply=JUDGE_REPLY)
    gov = _governance(tmp_path, ["local/smollm2", "http://127.0.0.1"])
    plan = write_plan(
        tmp_path,
        mini,
        [model_candidate(cand.base_url)],
        governance=str(gov),
        redact="all",
        scorers=["edit", "judge"],
        judge={"model": "openai/judge", "api_base": judge.base_url},
    )
    with pytest.raises(RunError, match=r"judge \(openai/judge at http://127\.0\.0\.2:\d+\)"):
        run_plan(plan, results_dir=results, options=QUIET)
    r = _cli("--results", str(results), "run", str(plan), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "refused before any call" in r.stderr and "judge" in r.stderr
    assert judge.request_count == 0 and cand.request_count == 0
    assert not any(results.iterdir())  # nothing was created either


def test_judge_options_on_the_scorer_are_checked_too(tmp_path, mini, loopback):
    judge = loopback(host="127.0.0.2")
    plan = write_plan(
        tmp_path,
        mini,
        [{"name": "canned", "baseline": "template"}],
        scorers=[
            "edit",
            {"name": "judge", "options": {"api_base": judge.base_url, "model": "openai/j"}},
        ],
    )
    with pytest.raises(RunError, match="judge"):
        check_plan(load_plan(plan))


def test_an_approved_judge_goes_through_the_engine(tmp_path, mini_copy, results, loopback):
    """Redacted like the candidates, recorded in the manifest and in the report's table."""
    lines = (mini_copy / "items.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    rec["input"] += " Reach me at ana.ruiz@example.org or (555) 201-3344. Thanks, Omar Haddad"
    lines[0] = json.dumps(rec)
    (mini_copy / "items.jsonl").write_text("\n".join(lines) + "\n")
    cand = loopback()
    judge = loopback(reply=JUDGE_REPLY)
    plan = write_plan(
        tmp_path,
        mini_copy,
        [model_candidate(cand.base_url)],
        redact="all",
        scorers=["edit", "judge"],
        judge={"model": "openai/judge", "api_base": judge.base_url},
    )
    store = run_plan(plan, results_dir=results, options=QUIET)
    score_run(store)
    assert judge.request_count > 0
    sent = json.dumps(judge.recorded.requests)
    for personal in ("ana.ruiz@example.org", "201-3344", "Omar Haddad"):
        assert personal not in sent
    assert "[EMAIL]" in sent and "[NAME]" in sent
    m = store.read_manifest()
    judge_ep = judge.base_url.rsplit("/v1", 1)[0]
    assert judge_ep in m["endpoints"] and cand.base_url.rsplit("/v1", 1)[0] in m["endpoints"]
    sites = {d["site"]: d for d in m["scoring_calls"]["judge"]["destinations"]}
    assert sites["judge"]["endpoint"] == judge_ep and sites["judge"]["origin"] == "plan"

    from harness.gates.decision import Evidence, call_sites
    from harness.store.runs import load_run

    table = call_sites(m).set_index("site")
    assert set(table.index) == {"m", "judge"}
    assert Evidence.from_run(load_run(store.run_id, results)).sites is not None


def test_environment_redirect_is_refused_from_a_dotenv_file(tmp_path, mini, results, loopback):
    """The CLI loads .env from the working folder; an *_API_BASE there is a destination too."""
    other = loopback(host="127.0.0.2")
    gov = _governance(tmp_path, ["openai/gpt-4o-mini"])
    plan = write_plan(
        tmp_path,
        mini,
        [{"name": "gpt", "model": "openai/gpt-4o-mini", "prompt": "prompt.j2"}],
        governance=str(gov),
    )
    (tmp_path / ".env").write_text(f"OPENAI_API_BASE={other.base_url}\nOPENAI_API_KEY=x-123456\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--results", str(results), "run", str(plan)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "set by the environment" in r.stderr
    assert other.request_count == 0


def test_an_approved_environment_endpoint_is_recorded_with_its_port(
    tmp_path, mini, results, loopback, monkeypatch
):
    other = loopback(host="127.0.0.2")
    ep = other.base_url.rsplit("/v1", 1)[0]
    gov = _governance(tmp_path, ["openai/gpt-4o-mini", ep])
    monkeypatch.setenv("OPENAI_API_BASE", other.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "x-not-a-real-key")
    plan = write_plan(
        tmp_path,
        mini,
        [{"name": "gpt", "model": "openai/gpt-4o-mini", "prompt": "prompt.j2"}],
        governance=str(gov),
    )
    store = run_plan(plan, results_dir=results, options=QUIET)
    m = store.read_manifest()
    assert other.request_count > 0 and m["endpoints"] == [ep]
    assert m["destinations"][0]["origin"] == "environment"


def test_engine_target_refuses_before_reading_anything():
    eng = Engine(["local"], "test list")
    with pytest.raises(RunError, match="not in approved_providers of test list"):
        eng.target("x", Request("openai/gpt-4o", "http://127.0.0.2:1/v1", "NO_SUCH_VAR"))
    assert eng.targets == {} and eng.contacted == set()


CANARY = "canary-7f3a9c1e2b4d"  # no sk- prefix, held in a variable whose name says nothing of keys


@pytest.mark.parametrize("workers", [0, 2])
def test_canary_key_is_in_no_byte_written_or_printed(tmp_path, mini, loopback, workers):
    """Candidates and judge at endpoints that echo the Authorization header in errors and in
    replies; every file the run, scoring, report and check write, and all they print."""
    flaky = loopback(fault_rate=0.4, faults=(500,), echo_auth=True, echo_auth_reply=True, seed=7)
    denied = loopback(always_fail=401, echo_auth=True)
    judge = loopback(reply=JUDGE_REPLY + " ", echo_auth_reply=True)
    results = tmp_path / "results"
    plan = write_plan(
        tmp_path,
        mini,
        [
            model_candidate(flaky.base_url, name="flaky", api_key_env="DISTRICT_SETTING"),
            model_candidate(denied.base_url, name="denied", api_key_env="DISTRICT_SETTING"),
        ],
        scorers=["edit", "judge"],
        judge={
            "model": "openai/judge",
            "api_base": judge.base_url,
            "api_key_env": "DISTRICT_SETTING",
        },
        runner={"workers": workers, "backoff_base": 0.01, "backoff_max": 0.05},
    )
    env = {"DISTRICT_SETTING": CANARY}
    outs = []
    for args in (
        ("run", str(plan), "--run-id", "r1", "--quiet"),
        ("report", "r1", "--phase", "pre_pilot"),
        (
            "check",
            "r1",
            "--phase",
            "pre_pilot",
            "--junit",
            str(tmp_path / "j.xml"),
            "--markdown",
            str(tmp_path / "s.md"),
        ),
    ):
        r = _cli("--results", str(results), *args, cwd=tmp_path, env=env)
        outs.append(r.stdout + r.stderr)
        assert r.returncode in (0, 1), r.stderr
    used = [
        {k.lower(): v for k, v in h.items()}.get("authorization")
        for s in (flaky, denied, judge)
        for h in s.recorded.headers
    ]
    assert f"Bearer {CANARY}" in used  # the key really was sent, and echoed back
    assert (results / "r1" / "readiness_report.html").is_file()
    for text in outs:
        assert CANARY not in text
    for p in tmp_path.rglob("*"):
        if p.is_file() and p.name != ".env":
            assert CANARY.encode() not in p.read_bytes(), p


def _echo_server(style: str):
    """A provider that echoes the Authorization header back in pieces: split by spaces or
    newlines inside an ordinary reply, or as a streamed body of 5-character chunks sent to a
    request that did not ask for a stream."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            auth = self.headers.get("Authorization", "")
            pieces = [auth[i : i + 5] for i in range(0, len(auth), 5)]
            if style == "sse":
                body = (
                    "".join(
                        "data: "
                        + json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]})
                        + "\n\n"
                        for p in pieces
                    )
                    + "data: [DONE]\n\n"
                )
                ctype = "text/event-stream"
            else:
                sep = {"exact": "", "spaces": " ", "newlines": "\n"}[style]
                reply = f"Thanks. You sent {sep.join(pieces)} today."
                body = json.dumps(
                    {
                        "id": "c",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "m",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": reply},
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                )
                ctype = "application/json"
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.mark.parametrize("style", ["exact", "spaces", "newlines", "sse"])
def test_a_key_echoed_in_pieces_is_scrubbed_from_the_joined_text(
    style, tmp_path, mini, results, monkeypatch
):
    """Scrubbing reads pieces as a reader would join them; no streamed path exists (the request
    never asks for a stream), so an output is never assembled chunk by chunk."""
    monkeypatch.setenv("DISTRICT_SETTING", CANARY)
    srv = _echo_server(style)
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}/v1"
        cand = model_candidate(base, api_key_env="DISTRICT_SETTING")
        plan = write_plan(tmp_path, mini, [cand], runner={"workers": 0, "max_attempts": 1})
        run_plan(plan, results_dir=results, options=QUIET)
    finally:
        srv.shutdown()
        srv.server_close()
    import re

    chunks = [c for c in (f"Bearer {CANARY}"[i : i + 5] for i in range(0, 26, 5)) if len(c) == 5]
    for p in results.rglob("*"):
        if not p.is_file():
            continue
        text = p.read_bytes().decode("latin-1")
        joined = "".join(re.findall(r'content\\*"\s*:\s*\\*"([^"\\]*)', text))
        squeezed = re.sub(r"\s+", "", text)
        for view in (text, squeezed, joined):
            assert CANARY not in view, p
        assert not [c for c in chunks[2:] if c in text], p  # "ary-7", "f3a9c", "1e2b4"


def test_the_scrub_list_is_computed_once_per_pass_even_when_empty(loopback, monkeypatch):
    """Every answer is scrubbed with the values computed when the engine started, not with a
    new scan of the environment per call (an empty list used to mean "compute it again")."""
    import asyncio

    from harness.engine import keys

    for k in [k for k in os.environ if keys._CREDENTIAL_NAME.search(k)]:
        monkeypatch.delenv(k)
    monkeypatch.setattr(keys, "_used", set())
    srv = loopback()
    engine = Engine(["http://127.0.0.1"], "test")
    target = engine.target("m", Request("openai/loopback", api_base=srv.base_url))
    scans: list[int] = []
    real = keys.scrub_values
    monkeypatch.setattr(keys, "scrub_values", lambda *a: scans.append(1) or real(*a))

    async def go():
        with engine:
            return [
                await engine.attempt(target, [{"role": "user", "content": f"q{i}"}])
                for i in range(5)
            ]

    outs = asyncio.run(go())
    assert all(o.output for o in outs) and engine._scrub_values == []
    assert len(scans) == 1
