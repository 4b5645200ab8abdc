"""Every route around the destination check, against a counting server on 127.0.0.2.

127.0.0.1 is the approved machine; a loopback server on 127.0.0.2 stands in for a host the
district never approved (it counts every request, proxied ones included). Each route is a
row: a plan's ``params`` (a candidate's, the judge's, a judge scorer's options), an environment
variable in the shell or in ``.env`` (provider endpoints, proxies, TLS trust), streaming. The
row expects zero requests on 127.0.0.2 and a refusal naming the route, or, where governance
approves it, the manifest naming it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.engine.egress import ALLOWED_PARAMS, call_params, is_endpoint_variable, proxies_for
from harness.engine.llm import Call, call_model
from harness.errors import PlanError, RunError
from harness.run.runner import RunOptions, run_plan
from tests.conftest import REPO, model_candidate, write_plan

QUIET = RunOptions(progress=False)
JUDGE_REPLY = '{"accuracy": 4, "completeness": 3, "tone": 5, "rationale": "fine"}'
_ROUTE_PREFIXES = ("OPENAI_", "AZURE_", "OLLAMA_", "LITELLM_PROXY", "USE_LITELLM")


def _governance(folder: Path, providers: list[str]) -> Path:
    p = folder / "governance.yaml"
    p.write_text(yaml.safe_dump({"approved_providers": providers}), encoding="utf-8")
    return p


def _clean_env() -> dict[str, str]:
    """This process's environment without any route a row sets itself."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(_ROUTE_PREFIXES) and not k.lower().endswith("_proxy")
    }


# -- params: only generation parameters reach litellm ------------------------------------------
OTHER = "{other}"  # replaced by the 127.0.0.2 server's base URL
PARAM_ROUTES: list[tuple[str, dict[str, Any]]] = [
    ("base_url", {"base_url": OTHER}),
    ("api_base", {"api_base": OTHER}),
    ("API_BASE", {"API_BASE": OTHER}),
    ("apiBase", {"apiBase": OTHER}),
    ("base-url", {"base-url": OTHER}),
    ("extra_body", {"extra_body": {"api_base": OTHER}}),
    ("extra_headers", {"extra_headers": {"Host": "127.0.0.2"}}),
    ("headers", {"headers": {"Host": "127.0.0.2"}}),
    ("litellm_params", {"litellm_params": {"api_base": OTHER}}),
    ("custom_llm_provider", {"custom_llm_provider": "ollama"}),
    ("model_list", {"model_list": [{"model_name": "m", "litellm_params": {"api_base": OTHER}}]}),
    ("fallbacks", {"fallbacks": [{"model": "openai/x", "api_base": OTHER}]}),
    ("use_litellm_proxy", {"use_litellm_proxy": True}),
    ("stream", {"stream": True}),
    ("stream_options", {"stream_options": {"include_usage": True}}),
    ("mock_response", {"mock_response": "x"}),
    ("n", {"n": 3}),
    ("api_key", {"api_key": "sk-in-a-plan-0000"}),
]


def _fill(value: Any, other: str) -> Any:
    if isinstance(value, str):
        return value.replace(OTHER, other)
    if isinstance(value, dict):
        return {k: _fill(v, other) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, other) for v in value]
    return value


@pytest.mark.parametrize("site", ["candidate", "judge", "judge_scorer"])
@pytest.mark.parametrize(("key", "params"), PARAM_ROUTES, ids=[r[0] for r in PARAM_ROUTES])
def test_a_route_in_params_is_refused_at_plan_load(
    site, key, params, tmp_path, mini, results, loopback
):
    other = loopback(host="127.0.0.2", reply=JUDGE_REPLY)
    cand = loopback()
    params = _fill(params, other.base_url)
    candidate = model_candidate(cand.base_url)
    extra: dict[str, Any] = {}
    judge = {"model": "openai/judge", "api_base": cand.base_url}
    if site == "candidate":
        candidate["params"] = {"max_tokens": 50, **params}
    elif site == "judge":
        extra = {"judge": {**judge, "params": params}, "scorers": ["edit", "judge"]}
    else:
        extra = {
            "judge": judge,
            "scorers": ["edit", {"name": "judge", "options": {"params": params}}],
        }
    plan = write_plan(tmp_path, mini, [candidate], **extra)
    with pytest.raises(PlanError) as err:
        run_plan(plan, results_dir=results, options=QUIET)
    text = str(err.value)
    assert f"'{key}'" in text and "allowed: temperature" in text, text
    assert other.request_count == 0 and cand.request_count == 0
    assert not any(results.iterdir())


@pytest.mark.parametrize(
    ("judge_options", "error"),
    [
        ({"base_url": "{other}"}, PlanError),  # an option the judge does not have: at plan load
        ({"api_base": "{other}"}, RunError),  # a destination not approved: before any call
    ],
)
def test_a_route_in_the_judge_scorer_options_gets_no_request(
    judge_options, error, tmp_path, mini, results, loopback
):
    other = loopback(host="127.0.0.2", reply=JUDGE_REPLY)
    cand = loopback()
    opts = {"model": "openai/judge", **_fill(judge_options, other.base_url)}
    plan = write_plan(
        tmp_path,
        mini,
        [model_candidate(cand.base_url)],
        scorers=["edit", {"name": "judge", "options": opts}],
    )
    with pytest.raises(error) as err:
        run_plan(plan, results_dir=results, options=QUIET)
    assert "scorers.1.options" in str(err.value) or "judge (openai/judge at" in str(err.value)
    assert other.request_count == 0 and cand.request_count == 0


def test_the_cli_names_the_file_the_field_and_the_allowed_parameters(tmp_path, mini, loopback):
    other = loopback(host="127.0.0.2")
    cand = model_candidate(other.base_url.replace("127.0.0.2", "127.0.0.1"))
    cand["params"] = {"base_url": other.base_url}
    plan = write_plan(tmp_path, mini, [cand])
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--results", str(tmp_path / "r"), "run", str(plan)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**_clean_env(), "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "plan.yaml" in r.stderr and "candidates.0.params" in r.stderr
    assert "'base_url'" in r.stderr and "allowed: " + ", ".join(ALLOWED_PARAMS) in r.stderr
    assert other.request_count == 0


@pytest.mark.parametrize(
    ("params", "ok"),
    [
        ({"temperature": 0.2, "max_tokens": 50, "seed": 1, "stop": ["\n\n"], "top_p": 0.9}, True),
        ({"presence_penalty": 0.1, "frequency_penalty": 0.1, "response_format": {}}, True),
        ({"temperature": "hot"}, False),
        ({"max_tokens": True}, False),
        ({"stop": ["a", "b", "c", "d", "e"]}, False),
        ({"stream": False}, False),  # not even off: the harness sets it
    ],
)
def test_allowed_parameters_and_their_values(params, ok):
    if ok:
        assert call_params(params) == {**params, "stream": False}
    else:
        with pytest.raises(ValueError, match="refused"):
            call_params(params)


# -- streaming: no streamed path exists --------------------------------------------------------
async def _call(call: Call) -> Any:
    return await call_model(call, [{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("params", [{"stream": True}, {"base_url": "{other}"}, {"n": 2}])
def test_nothing_in_process_turns_a_refused_parameter_on(params, loopback):
    """A Call built in process (past the plan check) with a refused parameter makes no request."""
    import asyncio

    other = loopback(host="127.0.0.2")
    cand = loopback()
    call = Call("openai/loopback", cand.base_url, "x-key", _fill(params, other.base_url), 30.0)
    res = asyncio.run(_call(call))
    assert res.output is None and "refused" in (res.error or "")
    assert not res.retryable
    assert cand.request_count == 0 and other.request_count == 0


def test_every_request_asks_for_a_whole_reply(loopback):
    """What reaches the provider says stream false (or nothing): the key is scrubbed from the
    joined text, never chunk by chunk."""
    import asyncio

    cand = loopback()
    res = asyncio.run(_call(Call("openai/loopback", cand.base_url, "x-key", {}, 30.0)))
    assert res.output and cand.request_count == 1
    assert cand.recorded.requests[0].get("stream") in (None, False)


# -- the environment: shell or .env ------------------------------------------------------------
P = "{proxy}"  # http://127.0.0.2:PORT, the counting server acting as a proxy
ENV_ROUTES: list[tuple[str, dict[str, str], str, str, list[str]]] = [
    # (id, variables, where, model, names expected in the refusal)
    ("OPENAI_BASE_URL", {"OPENAI_BASE_URL": OTHER}, "shell", "openai", ["OPENAI_BASE_URL"]),
    ("OPENAI_API_BASE-.env", {"OPENAI_API_BASE": OTHER}, "dotenv", "openai", ["OPENAI_API_BASE"]),
    ("AZURE_OPENAI_ENDPOINT-.env", {"AZURE_OPENAI_ENDPOINT": P}, "dotenv", "azure", ["AZURE_OPENAI_ENDPOINT"]),
    ("AZURE_API_BASE", {"AZURE_API_BASE": P}, "shell", "azure", ["AZURE_API_BASE"]),
    ("OLLAMA_API_BASE-other-provider", {"OLLAMA_API_BASE": P}, "shell", "loopback", ["OLLAMA_API_BASE"]),
    (
        "USE_LITELLM_PROXY",
        {"USE_LITELLM_PROXY": "True", "LITELLM_PROXY_API_BASE": P},
        "dotenv",
        "loopback",
        ["USE_LITELLM_PROXY", "LITELLM_PROXY_API_BASE"],
    ),
    ("HTTP_PROXY-.env", {"HTTP_PROXY": P}, "dotenv", "loopback", ["HTTP_PROXY"]),
    ("http_proxy", {"http_proxy": P}, "shell", "loopback", ["http_proxy"]),
    ("ALL_PROXY", {"ALL_PROXY": P}, "shell", "loopback", ["ALL_PROXY"]),
    ("all_proxy-.env", {"all_proxy": P}, "dotenv", "loopback", ["all_proxy"]),
    ("HTTPS_PROXY-https-provider", {"HTTPS_PROXY": P}, "dotenv", "openai", ["HTTPS_PROXY"]),
    ("NO_PROXY-elsewhere", {"HTTP_PROXY": P, "NO_PROXY": "example.org"}, "shell", "loopback", ["HTTP_PROXY"]),
    ("SSL_CERT_FILE-.env", {"SSL_CERT_FILE": "{tmp}/ca.pem"}, "dotenv", "loopback", ["SSL_CERT_FILE"]),
    ("SSL_CERT_DIR", {"SSL_CERT_DIR": "{tmp}"}, "shell", "loopback", ["SSL_CERT_DIR"]),
    ("REQUESTS_CA_BUNDLE", {"REQUESTS_CA_BUNDLE": "{tmp}/ca.pem"}, "shell", "loopback", ["REQUESTS_CA_BUNDLE"]),
    ("SSL_VERIFY-off", {"SSL_VERIFY": "False"}, "dotenv", "loopback", ["SSL_VERIFY"]),
]  # fmt: skip

MODELS = {
    "openai": {"name": "gpt", "model": "openai/gpt-4o-mini", "prompt": "prompt.j2"},
    "azure": {"name": "az", "model": "azure/district-gpt", "prompt": "prompt.j2"},
}


def _env_case(tmp_path: Path, mini: Path, cand_url: str, model: str, providers: list[str]) -> Path:
    spec = model_candidate(cand_url) if model == "loopback" else dict(MODELS[model])
    gov = _governance(tmp_path, providers)
    return write_plan(tmp_path, mini, [spec], governance=str(gov))


def _cli_env(tmp_path: Path, variables: dict[str, str], where: str) -> dict[str, str]:
    """The environment of a `harness` command with the route ``variables`` in the shell, or in
    a .env file in ``tmp_path`` (its working folder), with a provider key beside them."""
    env = {k: v for k, v in _clean_env().items() if k not in variables}
    env["PYTHONPATH"] = str(REPO)
    keys = {"OPENAI_API_KEY": "x-egress-123456", "AZURE_API_KEY": "x-egress-123456"}
    if where == "dotenv":
        lines = [f"{k}={v}" for k, v in {**variables, **keys}.items()]
        (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        env.update(variables)
        env.update(keys)
    return env


def _run_args(tmp_path: Path, plan: Path, *args: str) -> list[str]:
    return ["--results", str(tmp_path / "results"), "run", str(plan), "--run-id", "r1", "--quiet", *args]  # fmt: skip


def _run_cli(
    tmp_path: Path, plan: Path, variables: dict[str, str], where: str, *args: str
) -> subprocess.CompletedProcess:
    """`harness run` as a process of its own (the routes that make calls: a proxy or a TLS
    setting must reach litellm's HTTP clients as they are made in a fresh process)."""
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *_run_args(tmp_path, plan, *args)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_cli_env(tmp_path, variables, where),
        timeout=600,
    )


def _run_main(
    tmp_path: Path, plan: Path, variables: dict[str, str], where: str, capfd: Any, *args: str
) -> subprocess.CompletedProcess:
    """The same command through ``harness.cli.commands.main`` in this process, for the routes it refuses
    before any call (no interpreter and imports to pay per row): the same environment and
    working folder, restored afterwards (``main`` loads .env into the environment)."""
    import signal

    from harness.cli.commands import main

    env = _cli_env(tmp_path, variables, where)
    saved, cwd, sigterm = dict(os.environ), Path.cwd(), signal.getsignal(signal.SIGTERM)
    capfd.readouterr()
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(tmp_path)
        code = main(_run_args(tmp_path, plan, *args))
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)
        signal.signal(signal.SIGTERM, sigterm)
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(
        ["harness", *_run_args(tmp_path, plan, *args)], code, out, err
    )


def _values(variables: dict[str, str], other: Any, tmp_path: Path) -> dict[str, str]:
    proxy = other.base_url.rsplit("/v1", 1)[0]
    import certifi

    # a real bundle, but outside the system's trust store: only an approval lets it in
    shutil.copyfile(certifi.where(), tmp_path / "ca.pem")
    return {
        k: v.replace(OTHER, other.base_url).replace(P, proxy).replace("{tmp}", str(tmp_path))
        for k, v in variables.items()
    }


@pytest.mark.parametrize(
    ("variables", "where", "model", "names"),
    [r[1:] for r in ENV_ROUTES],
    ids=[r[0] for r in ENV_ROUTES],
)
def test_an_environment_route_is_refused_naming_the_variable(
    variables, where, model, names, tmp_path, mini, loopback, capfd
):
    other = loopback(host="127.0.0.2", reply="ok")
    cand = loopback()
    plan = _env_case(tmp_path, mini, cand.base_url, model, ["openai", "azure", "127.0.0.1"])
    values = _values(variables, other, tmp_path)
    r = _run_main(tmp_path, plan, values, where, capfd)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "refused before any call" in r.stderr
    for name in names:
        assert name in r.stderr, r.stderr
    assert other.request_count == 0 and cand.request_count == 0
    assert not (tmp_path / "results" / "r1").exists()


def test_a_proxy_password_is_never_printed(tmp_path, mini, loopback):
    other = loopback(host="127.0.0.2")
    cand = loopback()
    plan = _env_case(tmp_path, mini, cand.base_url, "loopback", ["127.0.0.1"])
    port = other.base_url.rsplit(":", 1)[1].split("/")[0]
    proxy = f"http://district:pr0xy-s3cret-pw@127.0.0.2:{port}"
    r = _run_cli(tmp_path, plan, {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy}, "dotenv")
    assert r.returncode == 2 and "HTTP_PROXY" in r.stderr
    assert "pr0xy-s3cret-pw" not in r.stdout + r.stderr
    assert other.request_count == 0


@pytest.mark.parametrize(
    ("variables", "approve", "proxied", "record"),
    [
        # NO_PROXY keeps the proxy away from every call: nothing to approve
        ({"HTTP_PROXY": P, "NO_PROXY": "127.0.0.1"}, [], False, None),
        ({"HTTP_PROXY": P, "no_proxy": "*"}, [], False, None),
        # a proxy for https only never carries a call to http://127.0.0.1
        ({"HTTPS_PROXY": P}, [], False, None),
        # approved: the calls go through it and the manifest names it
        ({"HTTP_PROXY": P}, ["{proxy}"], True, "HTTP_PROXY"),
        # a TLS setting governance approves by name
        ({"SSL_CERT_FILE": "{tmp}/ca.pem"}, ["env:SSL_CERT_FILE"], False, "SSL_CERT_FILE"),
        # an endpoint variable whose endpoint governance approves
        ({"OLLAMA_API_BASE": P}, ["{proxy}"], False, "OLLAMA_API_BASE"),
    ],
)
def test_an_approved_or_inapplicable_route_runs_and_the_manifest_names_it(
    variables, approve, proxied, record, tmp_path, mini, loopback
):
    other = loopback(host="127.0.0.2")
    cand = loopback()
    proxy = other.base_url.rsplit("/v1", 1)[0]
    providers = ["127.0.0.1", *(a.replace("{proxy}", proxy) for a in approve)]
    plan = _env_case(tmp_path, mini, cand.base_url, "loopback", providers)
    r = _run_cli(tmp_path, plan, _values(variables, other, tmp_path), "shell")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (other.request_count > 0) is proxied
    assert (cand.request_count > 0) is not proxied
    m = json.loads((tmp_path / "results" / "r1" / "manifest.json").read_text())
    env = m.get("environment") or []
    if record is None:
        assert not any("proxy" in e for e in env)
    else:
        (entry,) = [e for e in env if e["variable"] == record]
        assert entry["approved_by"] in providers
        if proxied:
            assert entry["proxy"] == proxy
            assert entry["for"] == [cand.base_url.rsplit("/v1", 1)[0]]


# -- the rule's coverage of litellm's own source -------------------------------------------------
def _litellm_endpoint_names() -> set[str]:
    import re

    import litellm

    root = Path(litellm.__file__).parent
    read = re.compile(
        r"""(?:get_secret(?:_str)?|os\.environ\.get|os\.getenv)\(\s*["']([A-Z0-9_]+)["']"""
    )
    names: set[str] = set()
    for sub in ("llms", "main.py", "litellm_core_utils"):
        for f in (root / sub).rglob("*.py") if (root / sub).is_dir() else [root / sub]:
            names |= set(read.findall(f.read_text(encoding="utf-8", errors="replace")))
    return {n for n in names if re.search(r"API_BASE|BASE_URL|ENDPOINT", n)}


def test_every_endpoint_variable_litellm_reads_is_covered():
    names = _litellm_endpoint_names()
    assert {"OPENAI_BASE_URL", "OLLAMA_API_BASE", "AZURE_API_BASE"} <= names
    assert sorted(n for n in names if not is_endpoint_variable(n)) == []
    assert is_endpoint_variable("AZURE_OPENAI_ENDPOINT")  # read by the OpenAI SDK's Azure client


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({"HTTP_PROXY": "http://p:1"}, "http://127.0.0.1:5/v1", {"http://p:1"}),
        ({"http_proxy": "p:1"}, "http://127.0.0.1:5/v1", {"http://p:1"}),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "127.0.0.1"}, "http://127.0.0.1:5/v1", set()),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "*"}, "http://127.0.0.1:5/v1", set()),
        ({"HTTPS_PROXY": "http://p:1"}, "http://127.0.0.1:5/v1", set()),
        ({"HTTPS_PROXY": "http://p:1"}, "https://api.openai.com/v1", {"http://p:1"}),
        ({"ALL_PROXY": "http://p:1"}, "https://api.openai.com/v1", {"http://p:1"}),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "openai.com"}, "https://api.openai.com", set()),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "x.openai.com"}, "https://api.openai.com", {"http://p:1"}),
    ],
)  # fmt: skip
def test_proxy_choice_follows_no_proxy(env, url, expected):
    assert proxies_for(url, env) == expected


# -- a pull request cannot approve itself ----------------------------------------------------------
CI_SCRIPT = REPO / "scripts" / "ci-evaluate"
TRUSTED = REPO / "rubrics" / "governance.yaml"  # approves this machine only
GATES = REPO / "rubrics" / "gates.yaml"


def _harness_wrapper(tmp_path: Path) -> Path:
    """A `harness` command that runs this checkout's code."""
    w = tmp_path / "harness-bin"
    w.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m harness.cli "$@"\n', encoding="utf-8")
    w.chmod(0o755)
    return w


def _ci(tmp_path: Path, plan: Path, dataset: Path, **settings: str) -> subprocess.CompletedProcess:
    env = {
        **_clean_env(),
        "PYTHONPATH": str(REPO),
        "PLAN": str(plan),
        "DATASET": str(dataset),
        "HARNESS_RESULTS": str(tmp_path / "results"),
        "OUT": str(tmp_path / "out"),
        "HARNESS": str(_harness_wrapper(tmp_path)),
        "RUN_ID": "ci1",
        **settings,
    }
    for name in ("GATES", "GOVERNANCE", "CI", "HARNESS_CI"):
        if name not in settings:
            env.pop(name, None)
    return subprocess.run(
        [str(CI_SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize(
    "settings",
    [
        {"CI": "true"},
        {"CI": "true", "GATES": str(GATES)},
        {"HARNESS_CI": "1", "GOVERNANCE": str(TRUSTED)},
        {"CI": "true", "GATES": str(GATES), "GOVERNANCE": "/no/such/governance.yaml"},
    ],
)
def test_ci_mode_needs_the_trusted_gates_and_governance(settings, tmp_path, mini, loopback):
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)])
    r = _ci(tmp_path, plan, mini, **settings)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "trusted" in r.stderr and ("GATES" in r.stderr or "GOVERNANCE" in r.stderr)
    assert srv.request_count == 0


@pytest.mark.parametrize(
    "pr_governance",
    [
        "governance.yaml",  # a governance file the pull request added beside its plan
        "../rubrics-of-the-pull-request/governance.yaml",  # or its own copy of rubrics/
    ],
)
def test_a_pull_request_cannot_approve_its_own_provider(pr_governance, tmp_path, mini, loopback):
    """The plan names a governance file that approves 127.0.0.2: CI applies the trusted one and
    refuses the plan before any call."""
    other = loopback(host="127.0.0.2")
    folder = tmp_path / "pr" / "plans"
    folder.mkdir(parents=True)
    gov = (folder / pr_governance).resolve()
    gov.parent.mkdir(parents=True, exist_ok=True)
    text = TRUSTED.read_text(encoding="utf-8").replace(
        "  - localhost\n", "  - localhost\n  - 127.0.0.2\n"
    )
    assert "127.0.0.2" in text
    gov.write_text(text, encoding="utf-8")
    plan = write_plan(folder, mini, [model_candidate(other.base_url)], governance=pr_governance)
    r = _ci(tmp_path, plan, mini, CI="true", GATES=str(GATES), GOVERNANCE=str(TRUSTED))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "not the trusted governance file" in r.stderr
    assert other.request_count == 0
    assert not (tmp_path / "results" / "ci1").exists()


@pytest.mark.parametrize("names_governance", [False, True])
def test_the_trusted_governance_applies_to_the_run(
    names_governance, tmp_path, mini, loopback, capfd
):
    """`harness run --governance TRUSTED`: a plan with no governance, or with a byte-identical
    copy of the trusted file, runs under the trusted file, and the manifest names it. No route
    in the environment here, so the command runs through ``main`` in this process."""
    srv = loopback()
    extra = {}
    if names_governance:
        shutil.copyfile(TRUSTED, tmp_path / "governance.yaml")
        extra["governance"] = "governance.yaml"
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)], **extra)
    r = _run_main(tmp_path, plan, {}, "shell", capfd, "--governance", str(TRUSTED), "--no-score")
    assert r.returncode == 0, r.stdout + r.stderr
    m = json.loads((tmp_path / "results" / "r1" / "manifest.json").read_text())
    assert m["data_protection"]["governance"] == str(TRUSTED)
    assert srv.request_count > 0


def test_the_workflow_runs_the_base_branch_and_takes_only_data_from_the_pull_request():
    wf = yaml.safe_load((REPO / ".github" / "workflows" / "evaluate.yml").read_text())
    on = wf.get("on", wf.get(True))
    assert "pull_request" not in on and "pull_request_target" in on
    job = wf["jobs"]["evaluate"]
    assert job["env"]["GATES"] == "rubrics/gates.yaml"
    assert job["env"]["GOVERNANCE"] == "rubrics/governance.yaml"
    assert job["env"]["HARNESS_CI"] == "1"
    assert "secrets" not in json.dumps(job["env"])  # no secret in the whole job's environment
    steps = job["steps"]
    base, pr = steps[0], steps[1]
    assert base["with"]["ref"].startswith("${{ github.event.pull_request.base.sha")
    assert pr["with"]["path"] and pr["with"]["ref"].endswith("head.sha }}")
    assert all(s.get("with", {}).get("persist-credentials") is False for s in (base, pr))
    copy = steps[2]["run"]
    assert "-type l" in copy and "cp -R .pull-request/datasets .pull-request/plans ." in copy
    assert "rubrics" not in copy  # gates and governance stay the base branch's
    with_secrets = [s for s in steps if "secrets." in json.dumps(s)]
    assert [s["run"] for s in with_secrets] == [
        "ACCEPT=${{ github.event_name == 'push' && '1' || '0' }} scripts/ci-evaluate"
    ]
    saves = [s for s in steps if "cache" in s.get("uses", "") and "save" in s["uses"]]
    assert saves and all("github.event_name == 'push'" in s["if"] for s in saves)
    assert all(s.get("uses") != "actions/cache@v4" for s in steps)  # restore+save on PRs
